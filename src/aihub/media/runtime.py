"""Media in a process: the job queue every API process submits to, and the
worker that runs jobs, in the API process (embedded) or in ``aihub worker``.

    app.state.media = await start_media(app.state)     # lifespan
    ...
    await app.state.media.close()
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import structlog
from sqlalchemy import select

from aihub.core.db import PoolLimits, build_engine, build_sessionmaker
from aihub.core.security import resolve_secret_key
from aihub.core.settings import Settings
from aihub.files.blobs import build_blob_store, close_blob_stores
from aihub.gateway.keys.runtime import runtime_of, start_gateway, stop_gateway
from aihub.gateway.models import GatewayKey
from aihub.infra import build_infra
from aihub.infra.outbound import OutboundPolicy
from aihub.media import presence
from aihub.media.queue import JobQueue, build_queue
from aihub.media.runner import ChargeKey
from aihub.media.sweeper import MediaSweeper
from aihub.media.worker import MediaWorker
from aihub.provider_keys.pool import start_key_pool
from aihub.providers.http import (
    close_http_session,
    create_guarded_session,
    create_http_session,
)

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class MediaRuntime:
    queue: JobQueue
    worker: MediaWorker | None
    sweeper: MediaSweeper | None = None
    """An API process without a worker still finds jobs of dead workers."""

    async def close(self) -> None:
        if self.sweeper is not None:
            await self.sweeper.close()
        if self.worker is not None:
            await self.worker.close()
        await self.queue.close()


def embedded_worker(settings: Settings) -> bool:
    if settings.media_embedded_worker is not None:
        return settings.media_embedded_worker
    return settings.redis_url is None


def key_spend_charger(app_state: Any) -> ChargeKey:
    """Charge a job's cost to a gateway key through the gateway's own spend
    ledger (``app_state.gateway``): the shared total moves at once (Redis, or
    this process) and its flusher adds it to ``gateway_keys.spend_usd``. The
    total is seeded from the stored spend first, as loading a key does (a
    worker process may never have seen the key)."""

    async def charge(key_id: int, cost: float) -> None:
        runtime = await runtime_of(app_state)
        async with app_state.sessionmaker() as session:
            stored = await session.scalar(
                select(GatewayKey.spend_usd).where(GatewayKey.id == key_id)
            )
        if stored is None:  # the key is gone
            return
        await runtime.spend.seed(key_id, float(stored))
        await runtime.spend.add(key_id, cost, seed=float(stored))

    return charge


async def start_media(
    app_state: Any, *, run_worker: bool | None = None
) -> MediaRuntime:
    """The queue (and the worker, when this process runs one) for an app whose
    state has settings, sessionmaker, infra, key_pool and http."""
    settings: Settings = app_state.settings
    queue = build_queue(settings.redis_url, retry_delay_s=settings.media_retry_delay_s)
    await queue.start()
    worker = None
    if embedded_worker(settings) if run_worker is None else run_worker:
        worker = MediaWorker(
            sessionmaker=app_state.sessionmaker,
            bus=app_state.infra.events,
            pool=app_state.key_pool,
            http=app_state.http,
            blobs=build_blob_store(settings),
            queue=queue,
            settings=settings,
            charge_key=key_spend_charger(app_state),
            state=app_state.infra.state,
        )
        await worker.start()
        return MediaRuntime(queue=queue, worker=worker)
    sweeper = MediaSweeper(
        sessionmaker=app_state.sessionmaker,
        bus=app_state.infra.events,
        queue=queue,
        settings=settings,
        worker_seen=lambda: presence.worker_seen(app_state),
    )
    sweeper.start()
    return MediaRuntime(queue=queue, worker=None, sweeper=sweeper)


async def serve_worker(
    settings: Settings, *, stop: asyncio.Event | None = None
) -> None:
    """``aihub worker``: run media jobs until SIGTERM/SIGINT (or ``stop``)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    state = SimpleNamespace(settings=settings)
    state.secret_key = resolve_secret_key(settings)
    engine = build_engine(settings.resolved_database_url, PoolLimits.of(settings))
    state.sessionmaker = build_sessionmaker(engine)
    state.infra = await build_infra(settings.redis_url)
    state.http = create_http_session()
    state.outbound = OutboundPolicy.from_allow(settings.outbound_allow)
    state.http_guarded = create_guarded_session(state.outbound)
    pool = await start_key_pool(
        state,
        default_wait_s=settings.key_wait_s,
        default_cooldown_s=settings.key_cooldown_s,
    )
    await start_gateway(state)  # jobs of gateway keys charge their spend
    runtime = await start_media(state, run_worker=True)
    log.info("media_worker_process_ready", redis=settings.redis_url is not None)
    try:
        await stop.wait()
    finally:
        await runtime.close()
        await close_blob_stores()
        await stop_gateway(state)  # writes the spend not yet stored
        await pool.close()
        await close_http_session(state.http)
        await close_http_session(state.http_guarded)
        await state.infra.close()
        await engine.dispose()

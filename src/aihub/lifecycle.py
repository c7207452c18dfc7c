"""Building and tearing down the process's runtime: one ``AsyncExitStack``.

Each part is built, started, and its ``close`` registered on the stack at
once, so shutdown (or a failed start) closes what was opened, in reverse
order: voice and media before the run hub, the run hub before the stored
responses' writer (which writes what is queued), the request log and the
gateway (its spend), those before the key pool, the HTTP sessions, the
infrastructure and the engine.

    async with open_runtime(settings, metrics=metrics) as runtime:   # lifespan
        app.state.runtime = runtime
        yield

``aihub worker`` runs on the same foundations (database, infrastructure, HTTP,
key pool, gateway spend, blob store) with a media worker instead of the API's
parts (``serve_media_worker``).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aihub.auth.sso_client import SsoClient
from aihub.calls.client import LlmClient
from aihub.catalog.loader import load_catalog
from aihub.core.db import PoolLimits, build_engine, build_sessionmaker
from aihub.core.gc_tuning import tune_gc
from aihub.core.metrics import GcPauses, HttpMetrics
from aihub.core.security import SecretBox, decoy_password_hash, resolve_secret_key
from aihub.core.settings import Settings
from aihub.core.startup_lock import startup_lock
from aihub.files.blobs import BlobStore, build_blob_store
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.gateway.responses_writer import ResponsesWriter
from aihub.infra import Infra, build_infra
from aihub.infra.outbound import OutboundPolicy
from aihub.media.runtime import start_media
from aihub.provider_keys.discovery import ModelDiscovery
from aihub.provider_keys.pool import KeyPool
from aihub.provider_keys.probe import KeyProbe, default_check
from aihub.providers.http import (
    Timeouts,
    close_http_session,
    create_guarded_session,
    create_http_session,
)
from aihub.runs.hub import RunHub
from aihub.runtime import Runtime
from aihub.usage.writer import RequestLogWriter
from aihub.users import service as users_service
from aihub.voice.runtime import start_voice

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Foundations:
    """What every aihub process runs on, API or media worker."""

    secret_key: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    infra: Infra
    http: aiohttp.ClientSession
    outbound: OutboundPolicy
    http_guarded: aiohttp.ClientSession
    blobs: BlobStore
    key_pool: KeyPool
    gateway: GatewayRuntime


async def _open_foundations(stack: AsyncExitStack, settings: Settings) -> Foundations:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret_key = resolve_secret_key(settings)
    engine = build_engine(settings.resolved_database_url, PoolLimits.of(settings))
    stack.push_async_callback(engine.dispose)
    infra = await build_infra(settings.redis_url)
    stack.push_async_callback(infra.close)
    http = create_http_session()
    stack.push_async_callback(close_http_session, http)
    outbound = OutboundPolicy.from_allow(settings.outbound_allow)
    http_guarded = create_guarded_session(outbound)
    stack.push_async_callback(close_http_session, http_guarded)
    blobs = build_blob_store(settings)
    stack.push_async_callback(blobs.aclose)
    sessionmaker = build_sessionmaker(engine)
    key_pool = KeyPool(
        sessionmaker=sessionmaker,
        box=SecretBox(secret_key),
        state=infra.state,
        events=infra.events,
        guarded_http=http_guarded,
        default_wait_s=settings.key_wait_s,
        default_cooldown_s=settings.key_cooldown_s,
    )
    await key_pool.start()
    stack.push_async_callback(key_pool.close)
    gateway = GatewayRuntime(sessionmaker=sessionmaker, infra=infra)
    await gateway.start()
    stack.push_async_callback(gateway.close)  # writes the spend not yet stored
    return Foundations(
        secret_key=secret_key,
        engine=engine,
        sessionmaker=sessionmaker,
        infra=infra,
        http=http,
        outbound=outbound,
        http_guarded=http_guarded,
        blobs=blobs,
        key_pool=key_pool,
        gateway=gateway,
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, metrics: HttpMetrics
) -> AsyncIterator[Runtime]:
    """The API process's runtime, started; closed when the block ends."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Prices settled now: a bad AIHUB_PRICE_OVERRIDES stops the start, and the
    # price database is read (once per version) before the first request.
    await asyncio.to_thread(load_catalog)
    async with AsyncExitStack() as stack:
        base = await _open_foundations(stack, settings)
        async with startup_lock(base.engine):  # two processes at once: one admin
            await users_service.bootstrap_admin(base.sessionmaker, settings=settings)
        await decoy_password_hash(settings)  # made now, not on the first unknown login
        runtime = await _open_api(stack, settings, base, metrics)
        if settings.gc_tuning:
            gc_pauses = GcPauses(metrics)
            tune_gc()
            gc_pauses.install()
            stack.callback(gc_pauses.uninstall)
        yield runtime


async def _open_api(
    stack: AsyncExitStack, settings: Settings, base: Foundations, metrics: HttpMetrics
) -> Runtime:
    """The API's own parts on the foundations, each closed by the stack."""
    probe = KeyProbe(
        base.key_pool,
        state=base.infra.state,
        check=default_check(base.http),
        interval_s=settings.key_probe_interval_s,
    )
    probe.start()
    stack.push_async_callback(probe.close)
    llm = LlmClient(
        pool=base.key_pool,
        http=base.http,
        timeouts=Timeouts(
            connect_s=settings.upstream_connect_timeout_s,
            idle_s=settings.upstream_idle_timeout_s,
        ),
        retries=settings.upstream_retries,
        fallbacks=settings.model_fallbacks,
    )
    request_log = RequestLogWriter(base.sessionmaker)
    request_log.start()
    stack.push_async_callback(request_log.close)
    responses = ResponsesWriter(
        base.sessionmaker,
        interval_s=settings.responses_flush_interval_s,
        registry=metrics.registry,
    )
    responses.start()
    stack.push_async_callback(responses.close)  # writes every exchange queued
    runs = await _open_runs(stack, settings, base)
    media = await start_media(
        settings,
        sessionmaker=base.sessionmaker,
        infra=base.infra,
        pool=base.key_pool,
        http=base.http,
        blobs=base.blobs,
        gateway=base.gateway,
    )
    stack.push_async_callback(media.close)
    voice = await start_voice(
        settings,
        sessionmaker=base.sessionmaker,
        infra=base.infra,
        pool=base.key_pool,
        llm=llm,
        http=base.http,
        secret_key=base.secret_key,
        gateway=base.gateway,
    )
    stack.push_async_callback(voice.close)  # ends every open session socket
    return Runtime(
        settings=settings,
        secret_key=base.secret_key,
        metrics=metrics,
        engine=base.engine,
        sessionmaker=base.sessionmaker,
        infra=base.infra,
        http=base.http,
        outbound=base.outbound,
        http_guarded=base.http_guarded,
        blobs=base.blobs,
        key_pool=base.key_pool,
        discovery=ModelDiscovery(
            pool=base.key_pool, cache=base.infra.cache, http=base.http
        ),
        llm=llm,
        gateway=base.gateway,
        request_log=request_log,
        responses=responses,
        runs=runs,
        media=media,
        voice=voice,
        sso=SsoClient(base.http),
    )


async def _open_runs(
    stack: AsyncExitStack, settings: Settings, base: Foundations
) -> RunHub:
    shared = settings.redis_url is not None  # other processes' runs to sweep up
    runs = RunHub(
        sessionmaker=base.sessionmaker,
        events=base.infra.events,
        state=base.infra.state,
        flush_interval_s=settings.chat_flush_interval_s,
        sweep_every_s=settings.chat_sweep_interval_s if shared else None,
        heartbeat_ttl_s=settings.chat_heartbeat_ttl_s,
        heartbeat_every_s=settings.chat_heartbeat_interval_s,
        start_slots=max(1, settings.db_pool_size // 2),
    )
    await runs.start()
    stack.push_async_callback(runs.close)  # answers under way end stored
    return runs


async def serve_media_worker(
    settings: Settings, *, stop: asyncio.Event | None = None
) -> None:
    """``aihub worker``: run media jobs until SIGTERM/SIGINT (or ``stop``)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        base = await _open_foundations(stack, settings)
        media = await start_media(  # jobs of gateway keys charge their spend
            settings,
            sessionmaker=base.sessionmaker,
            infra=base.infra,
            pool=base.key_pool,
            http=base.http,
            blobs=base.blobs,
            gateway=base.gateway,
            run_worker=True,
        )
        stack.push_async_callback(media.close)
        log.info("media_worker_process_ready", redis=settings.redis_url is not None)
        await stop.wait()

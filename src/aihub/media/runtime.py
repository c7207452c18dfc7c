"""Media in a process (the runtime's ``media``): the job queue every API
process submits to, and the worker that runs jobs, in the API process
(embedded) or in ``aihub worker`` (``aihub.lifecycle.serve_media_worker``).

    media = await start_media(settings, ...)     # lifespan
    ...
    await media.close()
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.settings import Settings
from aihub.files.blobs import BlobStore
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.infra import Infra
from aihub.media import presence
from aihub.media.queue import JobQueue, build_queue
from aihub.media.sweeper import MediaSweeper
from aihub.media.worker import MediaWorker
from aihub.provider_keys.pool import KeyPool

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class MediaRuntime:
    settings: Settings
    infra: Infra
    queue: JobQueue
    worker: MediaWorker | None
    sweeper: MediaSweeper | None = None
    """An API process without a worker still finds jobs of dead workers."""

    async def worker_seen(self) -> presence.WorkerSeen:
        """Whether a media worker is alive, as this process knows it."""
        return await presence.worker_seen(
            self.settings, self.infra.state, has_worker=self.worker is not None
        )

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


async def start_media(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    infra: Infra,
    pool: KeyPool,
    http: aiohttp.ClientSession,
    blobs: BlobStore,
    gateway: GatewayRuntime,
    run_worker: bool | None = None,
) -> MediaRuntime:
    """The queue, and the worker when this process runs one (else the sweeper).
    A job of a gateway key charges its cost through the gateway's own spend
    ledger: the shared total moves at once (Redis, or this process) and its
    flusher adds it to ``gateway_keys.spend_usd``."""
    queue = build_queue(settings.redis_url, retry_delay_s=settings.media_retry_delay_s)
    await queue.start()
    worker = None
    if embedded_worker(settings) if run_worker is None else run_worker:
        worker = MediaWorker(
            sessionmaker=sessionmaker,
            bus=infra.events,
            pool=pool,
            http=http,
            blobs=blobs,
            queue=queue,
            settings=settings,
            charge_key=gateway.charge_key,
            state=infra.state,
        )
        await worker.start()
        return MediaRuntime(settings, infra, queue=queue, worker=worker)
    media = MediaRuntime(settings, infra, queue=queue, worker=None)
    media.sweeper = MediaSweeper(
        sessionmaker=sessionmaker,
        bus=infra.events,
        queue=queue,
        settings=settings,
        worker_seen=media.worker_seen,
    )
    media.sweeper.start()
    return media

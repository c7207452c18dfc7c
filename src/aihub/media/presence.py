"""Whether a media worker is alive: workers publish a heartbeat in the shared
state; API processes read it to warn users and operators.

Every ``media_worker_heartbeat_s`` a worker writes ``media:worker:last_seen``
(``{"worker_id", "at"}``, epoch seconds, no expiry: the last one seen stays
readable). No heartbeat newer than ``media_worker_seen_ttl_s``: "no media
worker has been seen". A process that runs a worker itself (the embedded
default, no Redis) never warns: it is its own worker.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

import structlog

from aihub.core.settings import Settings
from aihub.core.tasks import cancel_requested
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.state import KeyValueStore

log = structlog.get_logger(__name__)

LAST_SEEN_KEY = "media:worker:last_seen"


@dataclass(frozen=True, slots=True)
class WorkerSeen:
    status: Literal["ok", "none_seen", "unknown"]
    """``unknown``: the shared state (Redis) did not answer."""
    last_seen_s: float | None
    """Seconds since the last heartbeat of any worker (None: never, or unknown)."""
    warning: str | None


async def publish(state: KeyValueStore, worker_id: str) -> bool:
    try:
        await state.set_json(LAST_SEEN_KEY, {"worker_id": worker_id, "at": time.time()})
    except BackendUnavailableError:
        return False
    return True


async def beat_forever(state: KeyValueStore, worker_id: str, every_s: float) -> None:
    """The worker's heartbeat loop (a task; cancelled at shutdown)."""
    failing = False
    while not cancel_requested():
        ok = await publish(state, worker_id)
        if ok == failing:
            log.info("media_worker_heartbeat", ok=ok, worker_id=worker_id)
        failing = not ok
        await asyncio.sleep(every_s)


async def worker_seen(
    settings: Settings, state: KeyValueStore, *, has_worker: bool
) -> WorkerSeen:
    """What this process knows of media workers (see the module's docstring);
    ``has_worker``: this process runs one itself."""
    if has_worker:
        return WorkerSeen("ok", 0.0, None)
    try:
        seen = await state.get_json(LAST_SEEN_KEY)
    except BackendUnavailableError:
        return WorkerSeen("unknown", None, None)
    ttl = settings.media_worker_seen_ttl_s
    at = seen.get("at") if isinstance(seen, dict) else None
    if isinstance(at, int | float):
        ago = max(0.0, time.time() - at)
        if ago <= ttl:
            return WorkerSeen("ok", round(ago, 1), None)
        return WorkerSeen(
            "none_seen",
            round(ago, 1),
            f"no media worker has been seen for {ago:.0f} s; "
            "the job will wait in the queue",
        )
    return WorkerSeen(
        "none_seen",
        None,
        "no media worker has been seen; the job will wait in the queue "
        "(start `aihub worker`)",
    )

"""How long the shared state store has been readable without a break.

A heartbeat key that is missing proves its owner dead only if the owner could
have written it: the store must have been reachable, and must have kept its data,
for a whole heartbeat TTL. ``StateWatch.check()`` tells sweepers for how long
that holds, as far as this process can tell:

- a Redis error: None (the caller skips its round; logged once per outage);
- Redis answers: seconds since the later of (this process saw it come back) and
  (Redis's data began: a marker key without expiry, written when missing, so a
  Redis restart that lost every key also restarts the count).

In-process (one process, nothing shared) the store cannot be away: always
``math.inf``.
"""

from __future__ import annotations

import math
import time

import structlog

from aihub.infra.errors import BackendUnavailableError
from aihub.infra.state import KeyValueStore

log = structlog.get_logger(__name__)

EPOCH_KEY = "infra:epoch"


class StateWatch:
    def __init__(self, state: KeyValueStore, *, shared: bool) -> None:
        self._state = state
        self._shared = shared
        self._since: float | None = None
        self._first = True
        self._down = False

    @property
    def reachable(self) -> bool:
        """False from a failed check until the next good one."""
        return not self._down

    async def check(self) -> float | None:
        """Seconds the store has been continuously readable with its data, or
        None when it does not answer now."""
        if not self._shared:
            return math.inf
        now = time.time()
        try:
            marker = await self._state.get_json(EPOCH_KEY)
            if not isinstance(marker, int | float):
                marker = now
                await self._state.set_json(EPOCH_KEY, marker)
        except BackendUnavailableError:
            if not self._down:
                log.warning("shared_state_unreachable_sweeps_paused")
            self._down, self._since = True, None
            return None
        if self._since is None:
            # At start the marker is trusted; after an outage we saw, the
            # count starts again now.
            self._since = float(marker) if self._first else max(now, float(marker))
            if self._down:
                log.info("shared_state_reachable_again")
        else:  # data lost (a restart) between two good checks
            self._since = max(self._since, float(marker))
        self._first, self._down = False, False
        return max(0.0, now - self._since)

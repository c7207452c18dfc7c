"""The background probe: brings rested and rejected keys back when they work.

Every ``interval_s`` (default 60 s) one round:

- reads every active key with its shared health (which also restores a lost
  shared store from the rows);
- tries, with one cheap call, each key whose cooldown is over but whose row
  still says cooldown, and each invalid key not tried in the last
  ``invalid_every_s`` (default 15 min, shared by every process through the state
  store, so N processes do not probe N times). A rejected (auth) key is tried
  with the provider's model list; a key out of credit (billing) with a one-token
  completion, since listing models works without credit;
- a key that answers goes back to ok everywhere; one that fails again keeps (or
  gets) the status its error says;
- logs ``key_pool_empty`` (warning) for every pool (a user's keys of one
  provider, or the global keys of one) that has keys but none usable, so a pool
  never shrinks to zero silently.

``KeyProbe`` runs it as a task of its own (started and closed by the
lifespan); ``probe_round`` runs one round.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import structlog

from aihub.catalog import service as catalog_service
from aihub.catalog.schemas import ModelInfo
from aihub.core.tasks import cancel_requested
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.state import KeyValueStore
from aihub.provider_keys import health, repository
from aihub.provider_keys.health import Health
from aihub.provider_keys.lease import Lease, PoolKey
from aihub.provider_keys.models import ProviderKey
from aihub.provider_keys.pool import KeyPool
from aihub.providers.base import ChatMessage, ChatRequest, Credentials, ProviderError
from aihub.providers.http import Timeouts, session_for
from aihub.providers.registry import PROVIDERS as CHAT_PROVIDERS
from aihub.providers.registry import get_adapter

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL_S = 60.0
DEFAULT_INVALID_EVERY_S = 15 * 60.0
CHECK_TIMEOUT_S = 20.0
PROBE_TIMEOUTS = Timeouts(connect_s=5.0, idle_s=15.0, read_s=15.0)

KeyCheck = Callable[[str, Credentials, str | None], Awaitable[None]]
"""``check(provider, credentials, reason)`` returns when the key works and
raises a ProviderError when it does not; ``reason`` is why it was put aside
(None: a cooldown that ended, "auth", or "billing")."""


@dataclass(slots=True)
class ProbeReport:
    probed: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)
    empty_pools: list[tuple[int | None, str]] = field(default_factory=list)


async def probe_round(
    pool: KeyPool,
    *,
    state: KeyValueStore,
    check: KeyCheck,
    invalid_every_s: float = DEFAULT_INVALID_EVERY_S,
) -> ProbeReport:
    report = ProbeReport()
    async with pool.sessionmaker() as session:
        rows = await repository.list_active_keys(session)
    pools: dict[tuple[int | None, str], list[Health]] = defaultdict(list)
    for row in rows:
        current = await pool.load_health(row)
        if await _due(row, current, state, invalid_every_s):
            current = await _probe(pool, row, current, check, report)
        scope = (None if row.is_global else row.user_id, row.provider)
        pools[scope].append(current)
    now = health.now()
    for (user_id, provider), states in pools.items():
        if not any(h.is_usable(now) for h in states):
            report.empty_pools.append((user_id, provider))
            log.warning(
                "key_pool_empty",
                provider=provider,
                user_id=user_id,
                is_global=user_id is None,
                keys=len(states),
                statuses=sorted(h.status(now) for h in states),
            )
    return report


async def _due(
    row: ProviderKey, current: Health, state: KeyValueStore, every_s: float
) -> bool:
    """A cooldown over but still on the row, or an invalid key not tried lately."""
    now = health.now()
    if current.invalid is None:
        return row.status == "cooldown" and not current.is_cooling(now)
    marker = f"{health.PROBED_PREFIX}{row.id}"
    try:
        if await state.get_json(marker) is not None:
            return False
        await state.set_json(marker, now, ttl_s=every_s)
    except BackendUnavailableError:
        return False
    return True


async def _probe(
    pool: KeyPool,
    row: ProviderKey,
    current: Health,
    check: KeyCheck,
    report: ProbeReport,
) -> Health:
    key: PoolKey | None = pool.pool_key(row)
    if key is None:
        return current
    report.probed.append(row.id)
    lease = Lease(pool, key)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check(row.provider, key.credentials, current.invalid)
    except ProviderError as exc:
        await lease.report(exc)
        log.info("provider_key_probe_failed", key_id=row.id, error=str(exc))
        return pool.health_of(row.id)
    except TimeoutError:
        log.info("provider_key_probe_timed_out", key_id=row.id)
        return current
    if current.invalid is not None:
        await pool.restore(row.id)
    else:
        lease.success()
    report.restored.append(row.id)
    return Health()


class KeyProbe:
    """The probe's loop, owned by whoever starts it (``close()`` ends it)."""

    def __init__(
        self,
        pool: KeyPool,
        *,
        state: KeyValueStore,
        check: KeyCheck,
        interval_s: float = DEFAULT_INTERVAL_S,
        invalid_every_s: float = DEFAULT_INVALID_EVERY_S,
    ) -> None:
        self._pool = pool
        self._state = state
        self._check = check
        self._interval_s = interval_s
        self._invalid_every_s = invalid_every_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="provider-key-probe")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while not cancel_requested():
            await asyncio.sleep(self._interval_s)
            try:
                await probe_round(
                    self._pool,
                    state=self._state,
                    check=self._check,
                    invalid_every_s=self._invalid_every_s,
                )
            except Exception:  # the probe must outlive any one bad round: logged
                log.exception("key_probe_round_failed")


def default_check(http: aiohttp.ClientSession) -> KeyCheck:
    """The adapter's model list (it checks the key); for a key out of credit,
    a one-token completion on the provider's cheapest chat model as well."""

    async def check(provider: str, creds: Credentials, reason: str | None) -> None:
        if provider not in CHAT_PROVIDERS:  # media providers: no cheap check here
            return
        adapter = get_adapter(provider)
        session = session_for(http, creds)
        models = await adapter.list_models(session, creds, timeouts=PROBE_TIMEOUTS)
        if reason != health.REASON_BILLING:
            return
        model = probe_model(provider, models)
        if model is None:
            return
        request = ChatRequest(
            model=model,
            messages=[ChatMessage(role="user", content="ping")],
            max_tokens=1,
        )
        await adapter.complete(session, creds, request, timeouts=PROBE_TIMEOUTS)

    return check


def probe_model(provider: str, listed: list[str]) -> str | None:
    """The cheapest catalog chat model the key lists; else, for a server with
    its own models (azure deployments, openai_compatible), the first listed;
    else the provider's cheapest catalog chat model."""
    known = catalog_service.list_models(provider=provider, kind="chat")
    offered = {name.lower() for name in listed}
    listed_known = [m for m in known if m.api_model.lower() in offered]
    if listed_known:
        return min(listed_known, key=_price).api_model
    if listed and (provider in ("azure", "openai_compatible") or not known):
        return listed[0]
    return min(known, key=_price).api_model if known else None


def _price(model: ModelInfo) -> float:
    pricing = model.pricing
    return (pricing.input or 1e9) + (pricing.output or 1e9)

"""The gateway keys' per-process machinery: the key cache, its invalidation
listener and the spend ledger with its flusher.

    await start_gateway(app.state)   # lifespan, after build_infra
    await stop_gateway(app.state)    # lifespan, before infra.close()

``runtime_of(app_state)`` starts it lazily when the lifespan did not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.security import hash_api_key
from aihub.gateway.caller import Caller
from aihub.gateway.keys import service as keys_service
from aihub.gateway.keys.cache import GatewayKeyCache, KeyEntry
from aihub.gateway.keys.errors import InvalidGatewayKeyError
from aihub.gateway.keys.schemas import GatewayKeyRead
from aihub.gateway.models import GatewayKey
from aihub.gateway.spend import SpendLedger
from aihub.gateway.team_budget import TeamBudgets
from aihub.infra import Infra
from aihub.infra.events import Listener, Message

CHANGED_CHANNEL = keys_service.CHANGED_CHANNEL
MAX_TOKEN_CHARS = 256
_BEARER = {"WWW-Authenticate": "Bearer"}


class GatewayRuntime:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        infra: Infra,
        cache_ttl_s: float = 60.0,
        rejected_ttl_s: float = 10.0,
        max_entries: int = 10_000,
        flush_interval_s: float = 1.0,
        team_wait_s: float = 30.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.infra = infra
        self.keys = GatewayKeyCache(
            self._load,
            ttl_s=cache_ttl_s,
            rejected_ttl_s=rejected_ttl_s,
            max_entries=max_entries,
        )
        self.spend = SpendLedger(
            sessionmaker=sessionmaker,
            redis=infra.redis,
            flush_interval_s=flush_interval_s,
        )
        self.teams = TeamBudgets(redis=infra.redis, wait_s=team_wait_s)
        self.started = False
        self.closed = False
        """Stopped for good by the lifespan: not started again lazily."""
        self._listener: Listener | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Listen for changes first: a key is never cached before that."""
        async with self._lock:
            if self.started:
                return
            self._listener = await self.infra.events.listen(
                CHANGED_CHANNEL, self._on_changed
            )
            self.spend.start()
            self.started, self.closed = True, False

    async def close(self) -> None:
        async with self._lock:
            if self._listener is not None:
                await self._listener.close()
                self._listener = None
            self.keys.close()
            self.keys.clear()
            await self.spend.close()
            self.started, self.closed = False, True

    async def authenticate(self, token: str) -> Caller:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidGatewayKeyError(headers=_BEARER)
        entry = await self.keys.get(hash_api_key(token))
        policy, user_id = entry.policy, entry.user_id
        if (
            policy is None
            or user_id is None
            or (entry.expires_at is not None and time.time() >= entry.expires_at)
        ):
            raise InvalidGatewayKeyError(headers=_BEARER)
        self.spend.touch(policy.id)
        return Caller(user_id=user_id, is_admin=entry.is_admin, key=policy)

    def drop(self, *, key_id: int | None = None, user_id: int | None = None) -> None:
        """Forget a key (or every key of a user) in this process."""
        if key_id is not None:
            self.keys.drop_key(key_id)
        elif user_id is not None:
            self.keys.drop_user(user_id)

    async def with_live_spend(self, keys: Sequence[GatewayKey]) -> list[GatewayKeyRead]:
        """Keys on the wire, ``spend_usd`` being the shared running total when
        there is one (the stored figure trails it by up to a flush)."""
        live = await self.spend.totals(key.id for key in keys)
        reads = []
        for key in keys:
            read = GatewayKeyRead.model_validate(key)
            if key.id in live:
                read.spend_usd = max(read.spend_usd, live[key.id])
            reads.append(read)
        return reads

    async def _load(self, key_hash: str) -> KeyEntry:
        async with self._sessionmaker() as session:
            entry = await keys_service.load_key_entry(session, key_hash=key_hash)
        if entry.policy is not None:
            await self.spend.seed(entry.policy.id, entry.stored_spend)
            if entry.policy.team is not None:
                await self.teams.seed(entry.policy.team.id, entry.team_spend)
        return entry

    def _on_changed(self, _channel: str, message: Message) -> None:
        key_id, user_id = message.get("key_id"), message.get("user_id")
        if isinstance(key_id, int):
            self.keys.drop_key(key_id)
        elif isinstance(user_id, int):
            self.keys.drop_user(user_id)
        elif message.get("all"):
            self.keys.clear()


async def start_gateway(app_state: Any, **options: Any) -> GatewayRuntime:
    """Build and start the process's runtime on ``app_state.gateway``."""
    runtime: GatewayRuntime | None = getattr(app_state, "gateway", None)
    if runtime is None:
        runtime = GatewayRuntime(
            sessionmaker=app_state.sessionmaker, infra=app_state.infra, **options
        )
        app_state.gateway = runtime
    await runtime.start()
    return runtime


async def stop_gateway(app_state: Any) -> None:
    """Stop listening and flushing, writing the spend not yet stored."""
    runtime: GatewayRuntime | None = getattr(app_state, "gateway", None)
    if runtime is not None:
        await runtime.close()


async def runtime_of(app_state: Any) -> GatewayRuntime:
    """The started runtime (started now if the lifespan did not; a stopped one
    is not started again, so shutdown leaves no task behind)."""
    runtime: GatewayRuntime | None = getattr(app_state, "gateway", None)
    if runtime is not None and (runtime.started or runtime.closed):
        return runtime
    return await start_gateway(app_state)


async def forget_user(app_state: Any, *, user_id: int) -> None:
    """A user was deactivated, demoted or deleted: every process drops their
    cached keys at once (the next call reloads, and is refused if inactive)."""
    runtime = await runtime_of(app_state)
    await keys_service.announce(runtime.infra, runtime, user_id=user_id)

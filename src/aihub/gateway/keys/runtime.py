"""The gateway keys' per-process machinery (the runtime's ``gateway``): the key
cache, the listeners that drop cached keys when a key, its owner or its team
changes in any process, the spend ledger with its flusher, and team budgets.

    gateway = GatewayRuntime(sessionmaker=..., infra=...)
    await gateway.start()    # lifespan, after the infra
    await gateway.close()    # lifespan, before the infra: writes pending spend
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.security import hash_api_key
from aihub.gateway.caller import Caller, KeyPolicy
from aihub.gateway.keys import service as keys_service
from aihub.gateway.keys.cache import GatewayKeyCache, KeyEntry
from aihub.gateway.keys.errors import InvalidGatewayKeyError
from aihub.gateway.keys.schemas import GatewayKeyRead
from aihub.gateway.models import GatewayKey
from aihub.gateway.spend import SpendLedger
from aihub.gateway.team_budget import TeamBudgets
from aihub.infra import Infra
from aihub.infra.events import Listener, Message
from aihub.users import service as users_service
from aihub.users.service import USER_CHANGED_CHANNEL

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
        self._listeners: list[Listener] = []

    async def start(self) -> None:
        """Listen for changes first: a key is never cached before that."""
        self._listeners = [
            await self.infra.events.listen(CHANGED_CHANNEL, self._on_changed),
            await self.infra.events.listen(USER_CHANGED_CHANNEL, self._on_changed),
        ]
        self.spend.start()

    async def close(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            await listener.close()
        self.keys.close()
        self.keys.clear()
        await self.spend.close()

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

    async def charge_key(self, key_id: int, cost: float) -> None:
        """Charge a cost to a key this process may never have loaded (a media
        job in a worker process): its shared total is seeded from the stored
        spend first, as loading a key does; the flusher adds it to the row."""
        async with self._sessionmaker() as session:
            stored = await keys_service.stored_spend(session, key_id=key_id)
        if stored is None:  # the key is gone
            return
        await self.spend.seed(key_id, stored)
        await self.spend.add(key_id, cost, seed=stored)

    async def load_policy(
        self, session: AsyncSession, *, user_id: int, key_id: int
    ) -> KeyPolicy | None:
        """A key's policy as it is now (None: revoked, expired, gone, or its
        team no longer holds its owner), its spend and its team's seeded."""
        key = await keys_service.find_usable_key(
            session, user_id=user_id, key_id=key_id
        )
        if key is None:
            return None
        await self.spend.seed(key.id, key.spend_usd)
        team = None
        if key.team_id is not None:  # a team key: its team's limits hold too
            owner = await users_service.get_user(session, user_id=user_id)
            loaded = await keys_service.team_of_key(session, key=key, owner=owner)
            if loaded is None:
                return None
            team, team_spend = loaded
            await self.teams.seed(team.id, team_spend)
        return KeyPolicy(
            id=key.id,
            name=key.name,
            models=tuple(key.models or ()),
            rpm=key.rpm,
            tpm=key.tpm,
            budget_usd=key.budget_usd,
            team=team,
        )

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

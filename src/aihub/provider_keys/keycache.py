"""The pool's cache of decrypted keys per (user, provider) and per provider for
the global keys: filled from the database once, dropped on edits (any process)
and after a TTL, bounded (least recently used goes first)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.security import SecretBox
from aihub.provider_keys import repository
from aihub.provider_keys.lease import PoolKey
from aihub.provider_keys.models import ProviderKey
from aihub.providers.base import Credentials

log = structlog.get_logger(__name__)

Scope = tuple[int | None, str]
"""(user id, provider) for a user's own keys, (None, provider) for global ones."""
OnRow = Callable[[ProviderKey], Awaitable[object]]


@dataclass(slots=True)
class Entry:
    keys: tuple[PoolKey, ...]
    expires_at: float
    cursor: int = 0
    """Where the next round-robin turn starts."""


class KeyCache:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        on_row: OnRow,
        ttl_s: float,
        max_entries: int,
        guarded_http: aiohttp.ClientSession | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._guarded_http = guarded_http
        self._box = box
        self._on_row = on_row
        self._ttl = ttl_s
        self._max_entries = max_entries
        self._entries: OrderedDict[Scope, Entry] = OrderedDict()
        self._fills: dict[Scope, asyncio.Task[Entry]] = {}
        self._generation = 0

    async def keys_for(self, provider: str, user_id: int) -> Entry:
        """The user's own active keys of ``provider``, else the global ones."""
        own = await self._entry((user_id, provider))
        return own if own.keys else await self._entry((None, provider))

    def invalidate(self, user_id: int | None, providers: Iterable[str]) -> None:
        self._generation += 1  # a fill under way now would cache old rows
        for provider in providers:
            self._entries.pop((user_id, provider), None)

    def close(self) -> None:
        for task in list(self._fills.values()):
            task.cancel()

    def pool_key(self, row: ProviderKey) -> PoolKey | None:
        """The row with its key decrypted; None when it cannot be (secret changed)."""
        try:
            secret = self._box.decrypt(row.encrypted_key)
        except ValueError:
            log.warning("provider_key_undecryptable", key_id=row.id)
            return None
        credentials = Credentials(
            api_key=secret,
            base_url=row.base_url,
            settings=dict(row.settings or {}),
            # An administrator's (global) key is trusted to reach internal hosts;
            # a user's goes through the outbound URL policy.
            http=None if row.is_global else self._guarded_http,
        )
        return PoolKey(
            id=row.id,
            provider=row.provider,
            name=row.name,
            owner_id=row.user_id,
            is_global=row.is_global,
            credentials=credentials,
        )

    async def _entry(self, scope: Scope) -> Entry:
        entry = self._entries.get(scope)
        if entry is not None and entry.expires_at > time.monotonic():
            self._entries.move_to_end(scope)
            return entry
        task = self._fills.get(scope)
        if task is None:  # one fill per scope, however many callers wait for it
            task = asyncio.create_task(self._fill(scope, entry))
            self._fills[scope] = task
            task.add_done_callback(lambda done: self._fill_done(scope, done))
        return await asyncio.shield(task)

    def _fill_done(self, scope: Scope, task: asyncio.Task[Entry]) -> None:
        if self._fills.get(scope) is task:
            del self._fills[scope]
        if not task.cancelled():
            task.exception()  # the waiting callers got it; do not log it twice

    async def _fill(self, scope: Scope, old: Entry | None) -> Entry:
        generation = self._generation
        user_id, provider = scope
        async with self._sessionmaker() as session:
            rows = await repository.list_pool_keys(
                session, user_id=user_id, provider=provider
            )
        keys = []
        for row in rows:
            key = self.pool_key(row)
            if key is not None:
                keys.append(key)
                await self._on_row(row)
        entry = Entry(tuple(keys), time.monotonic() + self._ttl)
        if old is not None and keys:
            entry.cursor = old.cursor % len(keys)
        if generation == self._generation:
            self._entries[scope] = entry
            self._entries.move_to_end(scope)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return entry

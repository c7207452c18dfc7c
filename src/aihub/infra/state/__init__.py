"""Shared small state (key pool health): Redis when configured, in-process otherwise."""

from __future__ import annotations

import redis.asyncio as redis_asyncio

from aihub.infra.state.base import KeyValueStore
from aihub.infra.state.memory import MemoryKeyValueStore
from aihub.infra.state.redis import RedisKeyValueStore

__all__ = ["KeyValueStore", "MemoryKeyValueStore", "RedisKeyValueStore", "build"]


def build(client: redis_asyncio.Redis | None) -> KeyValueStore:
    if client is None:
        return MemoryKeyValueStore()
    return RedisKeyValueStore(client)

"""Shared small state (key pool health): Redis when configured, in-process otherwise."""

from __future__ import annotations

from aihub.infra.redis_client import RedisClient
from aihub.infra.state.base import KeyValueStore
from aihub.infra.state.memory import MemoryKeyValueStore
from aihub.infra.state.redis import RedisKeyValueStore

__all__ = ["KeyValueStore", "MemoryKeyValueStore", "RedisKeyValueStore", "build"]


def build(client: RedisClient | None) -> KeyValueStore:
    if client is None:
        return MemoryKeyValueStore()
    return RedisKeyValueStore(client)

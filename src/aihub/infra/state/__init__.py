"""Shared small state (key pool health): Redis when configured, in-process otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aihub.infra.state.base import KeyValueStore
from aihub.infra.state.memory import MemoryKeyValueStore

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

__all__ = ["KeyValueStore", "MemoryKeyValueStore", "build"]


def build(client: RedisClient | None) -> KeyValueStore:
    if client is None:
        return MemoryKeyValueStore()
    from aihub.infra.state.redis import RedisKeyValueStore  # redis-py only with Redis

    return RedisKeyValueStore(client)

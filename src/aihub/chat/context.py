"""What a thread sends upstream: the system prompt and the branch, trimmed.

The branch (root to the new user message) becomes the request's messages. With
use_context false only the new message goes. The context is trimmed to the
model's window by tokens, dropping the OLDEST turns first; the system prompt and
the new message are never dropped (if they alone do not fit, the call fails with
invalid_context instead of sending something the model would refuse).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aihub.catalog import service as catalog_service
from aihub.catalog.tokens import count_messages
from aihub.chat.llm import Target
from aihub.core.errors import InvalidContextError
from aihub.providers.base import ChatMessage

# Output room kept free when the caller gives no max_tokens.
DEFAULT_OUTPUT_RESERVE = 1024
# Token costs of stored turns kept for the next send of the same thread (~120
# bytes each): a 500-message thread is then counted once, not at every message.
TURN_COST_CACHE_SIZE = 8192

TurnKey = tuple[str, str, int, str, int]
"""(provider, model, message id, role, hash of the text): a cached turn cost."""


class _TurnCosts:
    """Turn costs shared by the worker threads `_fit` runs in: single dict
    operations (atomic under the GIL), emptied when full (no per-read upkeep)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[TurnKey, int] = {}

    def get(self, key: TurnKey) -> int | None:
        return self._items.get(key)

    def put(self, key: TurnKey, cost: int) -> None:
        if len(self._items) >= self._size:
            self._items.clear()
        self._items[key] = cost

    def clear(self) -> None:
        self._items.clear()


turn_costs = _TurnCosts(TURN_COST_CACHE_SIZE)


class Turn(Protocol):
    """A stored message as far as the context needs it (a BranchTurn row or a
    Message)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def content_parts(self) -> list[dict[str, Any]] | None: ...


@dataclass(frozen=True, slots=True)
class Context:
    system: str | None
    messages: list[ChatMessage]
    prompt_tokens: int
    """Local count of what is sent (used when the provider reports no usage)."""
    dropped: int
    """Older messages left out to fit the window."""


def _content(message: Turn) -> str | list[dict[str, Any]]:
    return message.content_parts or message.content


def _conversation(branch: Sequence[Turn]) -> list[Turn]:
    """User and assistant turns worth sending: an assistant message that failed
    before writing anything is left out."""
    return [
        m
        for m in branch
        if m.role in ("user", "assistant")
        and (m.role == "user" or m.content or m.content_parts)
    ]


def system_prompt_of(branch: Sequence[Turn], fallback: str | None) -> str | None:
    """The newest system message of the branch, else the thread's."""
    for message in reversed(branch):
        if message.role == "system" and message.content:
            return message.content
    return fallback


def _turn_key(target: Target, message: Turn) -> TurnKey | None:
    """Plain-text turns of stored messages are cached; parts are counted anew."""
    if message.id is None or message.content_parts or not message.content:
        return None
    return (
        target.provider,
        target.model,
        message.id,
        message.role,
        hash(message.content),
    )


def _fit(
    target: Target,
    system: str | None,
    turns: list[dict[str, Any]],
    budget: int | None,
    keys: Sequence[TurnKey | None] = (),
) -> tuple[int, int, int]:
    """(index of the first turn kept, prompt tokens, turns dropped). `keys`
    (aligned with `turns`) name the turns whose cost may come from the cache."""
    provider, model = target.provider, target.model
    fixed, _ = count_messages(provider, model, turns[-1:], system)
    if budget is not None and fixed > budget:
        raise InvalidContextError(
            f"The message and system prompt take {fixed} tokens; "
            f"{target} accepts {budget} in its window"
        )
    framing = count_messages(provider, model, [])[0]  # counted once, in `fixed`
    total, first = fixed, len(turns) - 1
    for index in range(len(turns) - 2, -1, -1):
        key = keys[index] if index < len(keys) else None
        cost = turn_costs.get(key) if key is not None else None
        if cost is None:
            cost = count_messages(provider, model, [turns[index]])[0] - framing
            if key is not None:
                turn_costs.put(key, cost)
        if budget is not None and total + cost > budget:
            break
        total, first = total + cost, index
    return first, total, first


def _budget(target: Target, max_tokens: int | None) -> int | None:
    info = catalog_service.find_model(target.provider, target.model)
    if info is None or info.max_tokens is None:
        return None
    reserve = max_tokens or min(
        info.max_output_tokens or DEFAULT_OUTPUT_RESERVE, DEFAULT_OUTPUT_RESERVE
    )
    return max(1, info.max_tokens - reserve)


async def build_context(
    branch: Sequence[Turn],
    *,
    target: Target,
    system: str | None,
    use_context: bool,
    max_tokens: int | None,
) -> Context:
    turns = _conversation(branch)
    if not use_context:
        turns = turns[-1:]
    wire = [{"role": m.role, "content": _content(m)} for m in turns]
    keys = [_turn_key(target, m) for m in turns]
    budget = _budget(target, max_tokens)
    first, tokens, dropped = await asyncio.to_thread(
        _fit, target, system, wire, budget, keys
    )
    messages = [
        ChatMessage(
            role="user" if w["role"] == "user" else "assistant", content=w["content"]
        )
        for w in wire[first:]
    ]
    return Context(system, messages, tokens, dropped)

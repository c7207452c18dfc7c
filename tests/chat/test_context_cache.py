"""Context assembly caches the token cost of stored turns (chat/context.py):
the context and its count are the same as counted afresh, the cache follows
edited text, and trimming to a window drops the same turns."""

from __future__ import annotations

import pytest

from aihub.catalog.tokens import count_messages
from aihub.chat.context import _fit, _turn_key, build_context, turn_costs
from aihub.chat.llm import Target
from aihub.threads.models import Message

TARGET = Target("openai", "gpt-4o-mini")


def _thread(length: int) -> list[Message]:
    return [
        Message(
            id=n + 1,
            thread_id=1,
            role="user" if n % 2 == 0 else "assistant",
            content=f"turn {n}: " + "words about the data " * (n % 7 + 1),
        )
        for n in range(length)
    ]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    turn_costs.clear()


async def test_a_cached_count_equals_a_fresh_count() -> None:
    branch = _thread(41)
    fresh = count_messages(
        "openai",
        "gpt-4o-mini",
        [{"role": m.role, "content": m.content} for m in branch],
        "Be brief.",
    )[0]
    first = await build_context(
        branch, target=TARGET, system="Be brief.", use_context=True, max_tokens=None
    )
    again = await build_context(
        branch, target=TARGET, system="Be brief.", use_context=True, max_tokens=None
    )
    assert first.prompt_tokens == again.prompt_tokens == fresh
    assert [m.content for m in again.messages] == [m.content for m in branch]
    assert turn_costs.get(_turn_key(TARGET, branch[0])) is not None  # type: ignore[arg-type]


async def test_edited_text_is_counted_again() -> None:
    branch = _thread(9)
    before = await build_context(
        branch, target=TARGET, system=None, use_context=True, max_tokens=None
    )
    branch[2].content = branch[2].content + " and a much longer tail " * 20
    after = await build_context(
        branch, target=TARGET, system=None, use_context=True, max_tokens=None
    )
    fresh = count_messages(
        "openai",
        "gpt-4o-mini",
        [{"role": m.role, "content": m.content} for m in branch],
    )[0]
    assert after.prompt_tokens == fresh > before.prompt_tokens


def test_trimming_drops_the_same_turns_with_and_without_the_cache() -> None:
    branch = _thread(60)
    wire = [{"role": m.role, "content": m.content} for m in branch]
    keys = [_turn_key(TARGET, m) for m in branch]
    for budget in (40, 200, 500, 10_000):
        uncached = _fit(TARGET, "sys", wire, budget)
        assert _fit(TARGET, "sys", wire, budget, keys) == uncached  # fills it
        assert _fit(TARGET, "sys", wire, budget, keys) == uncached  # reads it
    assert _fit(TARGET, "sys", wire, 200)[2] > 0  # a budget that does trim

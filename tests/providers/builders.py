"""Requests and credentials for the adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    Credentials,
    StreamEvent,
    TextDelta,
)
from tests.fakes.upstream import FakeUpstream

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": WEATHER_PARAMETERS,
    },
}
PNG_DATA_URL = "data:image/png;base64,iVBORw0KGgo="


def creds(
    fake: FakeUpstream, provider: str, key: str = "sk-test", **settings: Any
) -> Credentials:
    return Credentials(api_key=key, base_url=fake.base_url(provider), settings=settings)


def ask(
    content: str | list[dict[str, Any]] = "Hello there", **fields: Any
) -> ChatRequest:
    """One user message (text or parts); ``fields`` are ChatRequest's."""
    fields.setdefault("model", "gpt-4o-mini")
    return ChatRequest(messages=[ChatMessage(role="user", content=content)], **fields)


async def collect(
    events: AsyncIterator[StreamEvent], into: list[StreamEvent] | None = None
) -> list[StreamEvent]:
    """Every event; with ``into``, events are kept there even when one raises."""
    out = [] if into is None else into
    async for event in events:
        out.append(event)
    return out


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))

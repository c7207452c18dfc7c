"""Cheap checks of a /v1 body before anything is forwarded.

A pass-through sends the client's bytes upstream as they are, so nothing else
looks at them first: without these checks a body with no ``messages``, an
empty list, an unknown role or ``n: 0`` reached the provider (Anthropic
refused it, an OpenAI-compatible server might not). They run on the parsed
dict in one pass over the messages (no Pydantic on the gateway's fast lane)
and raise a 400 that the door renders in its own error shape; no key is
leased, so no key's health changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aihub.core.errors import BadRequestError

OPENAI_ROLES = frozenset(
    {"system", "developer", "user", "assistant", "tool", "function"}
)
ANTHROPIC_ROLES = frozenset({"user", "assistant"})
MAX_N = 128
MAX_TOKENS = 10_000_000


class InvalidBodyError(BadRequestError):
    """A /v1 body the provider would refuse (400 invalid_request_error)."""


def _int_in(body: Mapping[str, Any], name: str, low: int, high: int) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidBodyError(f"`{name}` must be an integer")
    if not low <= value <= high:
        raise InvalidBodyError(f"`{name}` must be between {low} and {high}")


def _number_in(body: Mapping[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidBodyError(f"`{name}` must be a number")
    if not low <= value <= high:
        raise InvalidBodyError(f"`{name}` must be between {low:g} and {high:g}")


def _bool(body: Mapping[str, Any], name: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidBodyError(f"`{name}` must be a boolean")


def _parts(content: list[Any], where: str) -> None:
    for index, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise InvalidBodyError(f"`{where}[{index}]` must be an object with a type")


def check_chat_completions(body: Mapping[str, Any]) -> None:
    """An OpenAI Chat Completions body (/v1/chat/completions)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidBodyError("`messages` must be a non-empty list")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidBodyError(f"`messages[{index}]` must be an object")
        role = message.get("role")
        if role not in OPENAI_ROLES:
            raise InvalidBodyError(
                f"`messages[{index}].role` must be one of "
                "system, developer, user, assistant, tool"
            )
        content = message.get("content")
        if isinstance(content, list):
            _parts(content, f"messages[{index}].content")
        elif content is None:
            if role != "assistant" or not (
                message.get("tool_calls") or message.get("function_call")
            ):
                raise InvalidBodyError(f"`messages[{index}].content` is required")
        elif not isinstance(content, str):
            raise InvalidBodyError(
                f"`messages[{index}].content` must be a string or a list of parts"
            )
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise InvalidBodyError(f"`messages[{index}].tool_call_id` is required")
    _int_in(body, "n", 1, MAX_N)
    _int_in(body, "max_tokens", 1, MAX_TOKENS)
    _int_in(body, "max_completion_tokens", 1, MAX_TOKENS)
    _number_in(body, "temperature", 0, 2)
    _number_in(body, "top_p", 0, 1)
    _number_in(body, "presence_penalty", -2, 2)
    _number_in(body, "frequency_penalty", -2, 2)
    _bool(body, "stream")
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise InvalidBodyError("`tools` must be a list")


def check_embeddings(body: Mapping[str, Any]) -> None:
    """An OpenAI Embeddings body (/v1/embeddings)."""
    data = body.get("input")
    if isinstance(data, str):
        return
    if not isinstance(data, list) or not data:
        raise InvalidBodyError("`input` must be a string or a non-empty list")


def check_anthropic_messages(
    body: Mapping[str, Any], *, require_max_tokens: bool
) -> None:
    """An Anthropic Messages body (/v1/messages; count_tokens needs no
    max_tokens). Messages are named as Anthropic names them (``messages.0``)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidBodyError("messages: must be a non-empty list")
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise InvalidBodyError(f"{where}: must be an object")
        if message.get("role") not in ANTHROPIC_ROLES:
            raise InvalidBodyError(f"{where}.role: must be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, list):
            _parts(content, f"{where}.content")
        elif not isinstance(content, str):
            raise InvalidBodyError(
                f"{where}.content: must be a string or a list of blocks"
            )
    max_tokens = body.get("max_tokens")
    if max_tokens is None and require_max_tokens:
        raise InvalidBodyError("max_tokens: Field required")
    _int_in(body, "max_tokens", 1, MAX_TOKENS)
    _number_in(body, "temperature", 0, 1)
    _number_in(body, "top_p", 0, 1)
    _int_in(body, "top_k", 0, MAX_TOKENS)
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise InvalidBodyError("system: must be a string or a list of text blocks")

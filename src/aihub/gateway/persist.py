"""Optional persistence of /v1 conversations as aihub threads.

A /v1/chat/completions request with ``"store": true`` (the field is not passed
on) or an ``X-Aihub-Thread`` header is saved: with the header's thread id, the
request's last user message and the answer are appended to that thread (the
caller's own, else 404 before any upstream call); with ``store`` alone a new
thread (source ``gateway``) gets the whole conversation. The response carries
``X-Aihub-Thread: <id>``. Nothing of this touches requests that ask for neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from starlette.requests import Request

from aihub.chat.llm import Target
from aihub.core.db import utcnow
from aihub.core.errors import BadRequestError
from aihub.gateway.caller import Caller
from aihub.threads import repository as threads_repository
from aihub.threads import service as threads_service
from aihub.threads.errors import ThreadNotFoundError
from aihub.threads.models import Thread
from aihub.usage.recording import cost_of

log = structlog.get_logger(__name__)

THREAD_HEADER = "x-aihub-thread"


@dataclass(slots=True)
class StoreRequest:
    thread_id: int
    messages: list[dict[str, Any]]
    fresh: bool
    """A thread made for this request: it gets the whole conversation."""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        )
    return ""


async def store_request(
    request: Request, caller: Caller, data: dict[str, Any], target: Target
) -> StoreRequest | None:
    """What to save, or None. The thread is known (the header's, which must be
    the caller's) or made now, so its id can go out with the response headers.
    The caller has popped ``store`` from the body."""
    store = bool(data.get("store"))
    header = request.headers.get(THREAD_HEADER)
    if not store and not header:
        return None
    raw = data.get("messages")
    messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
    async with request.app.state.sessionmaker() as session:
        if header:
            if not header.isdigit() or not 0 < int(header) < 2**31:
                raise BadRequestError(f"{THREAD_HEADER} must be a thread id")
            found = await threads_repository.get_thread(
                session, user_id=caller.user_id, thread_id=int(header)
            )
            if found is None:
                raise ThreadNotFoundError(int(header))
            return StoreRequest(found.id, messages, fresh=False)
        thread = await _new_thread(session, caller, messages, target)
        await session.commit()
        return StoreRequest(thread.id, messages, fresh=True)


def answer_of_body(body: bytes) -> str:
    """The first choice's text of a chat.completion body."""
    try:
        data = orjson.loads(body)
        return str(data["choices"][0]["message"].get("content") or "")
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        return ""


class StreamText:
    """Collects the first choice's content deltas of an OpenAI SSE stream."""

    __slots__ = ("_buffer", "parts")

    def __init__(self) -> None:
        self._buffer = b""
        self.parts: list[str] = []

    def feed(self, chunk: bytes) -> None:
        data = self._buffer + chunk
        lines = data.split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            if not line.startswith(b"data:") or b'"content"' not in line:
                continue
            try:
                event = orjson.loads(line[5:])
                delta = event["choices"][0]["delta"]
            except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
                continue
            text = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(text, str):
                self.parts.append(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


async def save_exchange(
    app_state: Any,
    caller: Caller,
    store: StoreRequest,
    *,
    target: Target,
    answer: str,
    usage: Any,
    status: str = "complete",
) -> int | None:
    """Save the exchange; the thread id, or None when it could not be saved
    (logged: the caller already has the answer)."""
    try:
        async with app_state.sessionmaker() as session:
            thread = await threads_repository.get_thread(
                session, user_id=caller.user_id, thread_id=store.thread_id
            )
            if thread is None:  # deleted meanwhile
                return None
            turns = store.messages if store.fresh else _last_user(store)
            parent = thread.active_message_id
            for turn in turns:
                role = str(turn.get("role") or "user")
                if role not in ("system", "user", "assistant"):
                    continue
                if role == "system" and store.fresh:
                    thread.system_prompt = _text(turn.get("content"))
                message = await threads_service.add_message(
                    session,
                    thread=thread,
                    role=role,
                    content=_text(turn.get("content")),
                    parent_id=parent,
                )
                parent = message.id
            tokens = None
            meta: dict[str, Any] = {"source": "gateway"}
            if usage is not None:
                tokens = usage.completion_tokens
                meta["tokens"] = {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": usage.total_tokens,
                }
                meta["cost"] = cost_of(target.provider, target.model, usage)
            await threads_service.add_message(
                session,
                thread=thread,
                role="assistant",
                content=answer,
                parent_id=parent,
                tokens=tokens,
                model=target.model,
                provider=target.provider,
                status=status,
                meta_data=meta,
            )
            await session.commit()
            return thread.id
    except Exception:
        log.exception("gateway_store_failed", user_id=caller.user_id)
        return None


def _last_user(store: StoreRequest) -> list[dict[str, Any]]:
    for turn in reversed(store.messages):
        if turn.get("role") == "user":
            return [turn]
    return []


async def _new_thread(
    session: Any, caller: Caller, messages: list[dict[str, Any]], target: Target
) -> Thread:
    first_user = next(
        (_text(t.get("content")) for t in messages if t.get("role") == "user"), ""
    )
    thread = threads_repository.add_thread(
        session,
        user_id=caller.user_id,
        title=threads_service.derive_title(None, first_user),
        provider=target.provider,
        model=target.model,
        source="gateway",
        last_message_at=utcnow(),
    )
    await session.flush()
    return thread

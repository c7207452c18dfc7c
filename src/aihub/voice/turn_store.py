"""Each voice turn in the session's thread, the request log and voice_turns.

The user's words are committed as soon as they are known (transcript or typed
text), in parallel with the model call; the answer is stored when the turn
ends, however it ends: complete, interrupted (barge-in or a dropped socket:
the text said so far) or error. Its message's ``meta_data`` carries the turn
id, the per-stage latency, the cost, and the intents and tool calls (so the
model's context can be rebuilt on resume). Each transaction is short and
opened here: no session is held across an upstream call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.db import utcnow
from aihub.providers.base import ChatMessage, ToolCall
from aihub.threads import service as threads_service
from aihub.usage.recording import CallRecord, add_record
from aihub.users.models import User
from aihub.voice import repository
from aihub.voice.models import VoiceSession

HISTORY_MESSAGES = 40


@dataclass(slots=True)
class TurnResult:
    session_id: str
    turn_id: str
    input_kind: str
    user_message_id: int | None
    text: str
    status: str
    provider: str
    model: str
    error_stage: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    cost: float = 0.0
    tokens: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    records: list[tuple[CallRecord, float | None]] = field(default_factory=list)
    """Request-log rows with, for speech calls, the cost to set on them."""
    dialogue_state: dict[str, Any] | None = None


async def load_history(
    sessionmaker: async_sessionmaker[AsyncSession], *, user: User, thread_id: int
) -> list[ChatMessage]:
    """The conversation so far as model messages (system prompt left out)."""
    async with sessionmaker() as session:
        thread = await threads_service.get_thread(
            session, user=user, thread_id=thread_id
        )
        branch = await threads_service.list_active_branch(session, thread=thread)
    history: list[ChatMessage] = []
    for message in branch[-HISTORY_MESSAGES:]:
        if message.role == "user":
            history.append(ChatMessage(role="user", content=message.content))
        elif message.role == "assistant":
            history.extend(_assistant_messages(message.content, message.meta_data))
    return history


def _assistant_messages(content: str, meta: dict[str, Any] | None) -> list[ChatMessage]:
    """An assistant turn as the model saw it: its tool calls and their results
    first (when it called any), then what it said."""
    meta = meta or {}
    calls = meta.get("tool_calls") or []
    out: list[ChatMessage] = []
    if calls:
        out.append(
            ChatMessage(
                role="assistant",
                content=meta.get("text_before_tools") or None,
                tool_calls=[
                    ToolCall(c["id"], c["name"], c["arguments"]) for c in calls
                ],
            )
        )
        for result in meta.get("tool_results") or []:
            out.append(
                ChatMessage(
                    role="tool",
                    content=result["content"],
                    tool_call_id=result["tool_call_id"],
                )
            )
        content = content[len(meta.get("text_before_tools") or "") :].strip()
    if content or not calls:
        out.append(ChatMessage(role="assistant", content=content))
    return out


async def save_user_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    user: User,
    thread_id: int,
    text: str,
    meta: dict[str, Any],
) -> int:
    async with sessionmaker() as session:
        thread = await threads_service.get_thread(
            session, user=user, thread_id=thread_id
        )
        message = await threads_service.add_message(
            session,
            thread=thread,
            role="user",
            content=text,
            parent_id=thread.active_message_id,
            meta_data=meta,
        )
        await session.commit()
        return message.id


async def finish_turn(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    user: User,
    thread_id: int,
    result: TurnResult,
) -> int:
    """Store the answer, the turn's figures and its request-log rows; the
    assistant message id."""
    async with sessionmaker() as session:
        thread = await threads_service.get_thread(
            session, user=user, thread_id=thread_id
        )
        meta = {
            **result.meta,
            "turn_id": result.turn_id,
            "voice_session_id": result.session_id,
            "metrics": result.metrics,
            "cost": result.cost,
        }
        message = await threads_service.add_message(
            session,
            thread=thread,
            role="assistant",
            content=result.text,
            parent_id=result.user_message_id or thread.active_message_id,
            status=result.status,
            provider=result.provider,
            model=result.model,
            tokens=result.tokens,
            meta_data=meta,
        )
        repository.add_turn(
            session,
            session_id=result.session_id,
            user_id=user.id,
            turn_id=result.turn_id,
            message_id=message.id,
            input_kind=result.input_kind,
            status=result.status,
            error_stage=result.error_stage,
            cost=result.cost,
            created_at=utcnow(),
            **{
                name: result.metrics.get(name)
                for name in (
                    "endpoint_ms",
                    "stt_final_ms",
                    "llm_first_token_ms",
                    "tts_first_audio_ms",
                    "response_ms",
                    "overhead_ms",
                    "barge_in_ms",
                )
            },
        )
        for record, cost in result.records:
            record.thread_id = thread_id
            record.message_id = (
                result.user_message_id if record.kind == "stt" else message.id
            )
            row = add_record(session, record)
            if cost is not None:
                row.cost = cost
        values: dict[str, Any] = {
            "turn_count": VoiceSession.turn_count + 1,
            "last_seen_at": utcnow(),
        }
        if result.dialogue_state is not None:
            values["dialogue_state"] = result.dialogue_state
        await repository.update_session(session, session_id=result.session_id, **values)
        await session.commit()
        return message.id

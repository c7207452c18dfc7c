"""What one connected session knows between turns: its configuration, the
model's context, the dialogue state, and the writer that stores its turns in
order (one background task per socket, so the thread's tree never forks and
no database write sits on the audio path)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from sqlalchemy.exc import SQLAlchemyError

from aihub.chat.llm import Target
from aihub.core.errors import AihubError
from aihub.gateway.caller import Caller, KeyPolicy
from aihub.providers.base import ChatMessage, ToolCall
from aihub.users.models import User
from aihub.voice import dialogue, keys, turn_store
from aihub.voice.runtime import VoiceRuntime
from aihub.voice.schemas import AudioFormat
from aihub.voice.service import check_rate

if TYPE_CHECKING:
    from aihub.voice.pipeline import Turn

log = structlog.get_logger(__name__)

T = TypeVar("T")
HISTORY_LIMIT = 60
VOICE_STYLE = (
    "You are a voice assistant: the user hears your answer as speech. Answer in "
    "short spoken sentences, without markdown, lists, code or emoji."
)
LANGUAGE_NOTE = {
    "ru": " Always answer in Russian.",
    "en": " Always answer in English.",
    "auto": " Answer in the language the user speaks.",
}


class SerialWriter:
    """Runs database writes one after another, off the caller's path."""

    def __init__(self, rt: VoiceRuntime) -> None:
        self._queue: asyncio.Queue[
            tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]] | None
        ] = asyncio.Queue()
        self._task = rt.spawn(self._run())

    def submit(self, job: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((job, future))
        return future

    def close(self) -> None:
        """Finish what is queued, then stop."""
        self._queue.put_nowait(None)

    async def drain(self) -> None:
        await asyncio.wait({self._task})

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            job, future = item
            try:
                result = await job()
            except (SQLAlchemyError, AihubError, OSError) as exc:
                log.exception("voice_store_failed")
                if not future.done():
                    future.set_exception(exc)
                continue
            if not future.done():
                future.set_result(result)


@dataclass
class SessionContext:
    rt: VoiceRuntime
    session_id: str
    user: User
    thread_id: int
    target: Target
    config: dict[str, Any]
    dialogue_state: dict[str, Any]
    writer: SerialWriter
    gateway_key_id: int | None = None
    gateway_key: KeyPolicy | None = None
    """The policy of the gateway key the session was made with, read at connect."""
    history: list[ChatMessage] = field(default_factory=list)

    @property
    def language(self) -> str | None:
        language = self.config.get("language") or "auto"
        return None if language == "auto" else str(language)

    @property
    def intents(self) -> dict[str, dict[str, Any]]:
        return {i["name"]: i for i in self.config.get("intents") or []}

    @property
    def audio_format(self) -> AudioFormat:
        return AudioFormat.model_validate(self.config.get("audio_format") or {})

    def system_prompt(self) -> str:
        base = self.config.get("system_prompt") or ""
        language = str(self.config.get("language") or "auto")
        prompt = (base + "\n\n" if base else "") + VOICE_STYLE + LANGUAGE_NOTE[language]
        return prompt + dialogue.pending_note(self.dialogue_state, self.intents)

    @property
    def caller(self) -> Caller:
        """The session's caller as the gateway sees it (its key, if any)."""
        return Caller(user_id=self.user.id, key=self.gateway_key)

    async def check_key(self) -> None:
        """The gateway key still allows the session's model and has budget left
        (before a turn spends anything)."""
        await keys.check_session(self.rt.gateway, self.caller, self.target)

    async def check_turn_rate(self, text: str) -> None:
        """The turn limit, and the gateway key's (models, budget, tpm, rpm)."""
        settings = self.rt.settings
        await check_rate(
            self.rt,
            key=f"voice:turns:{self.user.id}",
            per_minute=settings.voice_turns_per_minute,
            what="turns",
        )
        if self.gateway_key is not None:
            await keys.check_turn(
                self.rt.gateway,
                self.caller,
                self.target,
                self.estimated_tokens(text),
            )

    def estimated_tokens(self, text: str) -> int:
        """The model call's tokens, a quarter of its characters (as the gateway
        estimates a request from its bytes)."""
        chars = len(self.system_prompt()) + len(text)
        chars += sum(len(m.content) for m in self.history if isinstance(m.content, str))
        return chars // 4

    async def charge_key(self, *, tokens: int, cost: float) -> None:
        """Add a turn's tokens and cost to its gateway key (no-op without one)."""
        if self.gateway_key is not None:
            await keys.charge(self.rt.gateway, self.caller, tokens=tokens, cost=cost)

    def save_user_message(self, text: str, meta: dict[str, Any]) -> asyncio.Future[int]:
        return self.writer.submit(
            lambda: turn_store.save_user_message(
                self.rt.sessionmaker,
                user=self.user,
                thread_id=self.thread_id,
                text=text,
                meta=meta,
            )
        )

    def remember(self, turn: Turn) -> None:
        """Add a finished (or cut) turn to the model's context."""
        if turn.user_message is None:
            return
        self.history.append(ChatMessage(role="user", content=turn.user_text))
        answer = "".join(turn.parts).strip()
        calls = turn.meta.get("tool_calls") or []
        if calls:
            self.history.append(
                ChatMessage(
                    role="assistant",
                    content=turn.meta.get("text_before_tools") or None,
                    tool_calls=[
                        ToolCall(c["id"], c["name"], c["arguments"]) for c in calls
                    ],
                )
            )
            for result in turn.meta.get("tool_results") or []:
                self.history.append(
                    ChatMessage(
                        role="tool",
                        content=result["content"],
                        tool_call_id=result["tool_call_id"],
                    )
                )
            answer = answer[len(turn.meta.get("text_before_tools") or "") :].strip()
        if answer:
            self.history.append(ChatMessage(role="assistant", content=answer))
        del self.history[:-HISTORY_LIMIT]
        while self.history and self.history[0].role != "user":
            del self.history[0]  # never start the context inside a tool exchange

"""One session's WebSocket: audio in, the VAD, turns, barge-in, heartbeats.

Client -> server: binary frames of audio in the session's format; JSON text
frames ``session.update``, ``input_text`` ``{"text"}``, ``input_audio.commit``
(end of speech now: push-to-talk), ``response.cancel``, ``session.end``,
``ping`` / ``pong``. Server -> client: the events of architecture.md ("Voice"),
the answer's audio as binary frames, and ``ping`` every ``voice_heartbeat_s``.

Speech that starts while an answer is being made or played is a barge-in: the
answer stops at once (``response.interrupted`` with ``barge_in_ms``) and the
new utterance becomes the next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

import orjson
import structlog
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from aihub.core.db import utcnow
from aihub.core.errors import AihubError
from aihub.core.tasks import cancel_requested
from aihub.providers.base import ProviderError
from aihub.providers.stt_base import Pcm
from aihub.voice import engines, service, turn_store
from aihub.voice.audio import PIPELINE_RATE, InputDecoder
from aihub.voice.context import SerialWriter, SessionContext
from aihub.voice.errors import (
    CLOSE_EXPIRED,
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    CLOSE_REPLACED,
    CLOSE_TIMEOUT,
    VoiceSessionExpiredError,
    close_code_of,
)
from aihub.voice.pipeline import SpeculativeStt, Turn, TurnInput
from aihub.voice.runtime import VoiceRuntime, new_conn_id
from aihub.voice.schemas import SessionCreate, SttConfig, TtsConfig
from aihub.voice.vad import FRAME_BYTES, Endpointer, VadEvent, build_classifier

log = structlog.get_logger(__name__)

MAX_FRAME_BYTES = 256 * 1024
MAX_TEXT_CHARS = 8000
UPDATABLE = frozenset({"system_prompt", "language", "temperature", "max_tokens"})


def _turn_id() -> str:
    return "turn_" + secrets.token_hex(6)


class VoiceConnection:
    def __init__(
        self,
        ws: WebSocket,
        rt: VoiceRuntime,
        ctx: SessionContext,
        *,
        expires_at: Any,
        resumed: bool,
    ) -> None:
        self.ws = ws
        self.rt = rt
        self.ctx = ctx
        self.session_id = ctx.session_id
        self.conn_id = new_conn_id()
        self.expires_at = expires_at
        self.resumed = resumed
        settings = rt.settings
        self.endpointer = Endpointer(
            build_classifier(),
            eos_ms=settings.voice_eos_ms,
            min_ms=settings.voice_eos_min_ms,
            max_ms=settings.voice_eos_max_ms,
            max_utterance_s=settings.voice_max_utterance_s,
        )
        self.decoder = InputDecoder(ctx.audio_format)
        self._pcm = b""
        self._lock = asyncio.Lock()
        self._turn: Turn | None = None
        self._turn_task: asyncio.Task[None] | None = None
        self._next_turn_id = _turn_id()
        self._speculative: SpeculativeStt | None = None
        self._partial: asyncio.Task[None] | None = None
        self._partial_at = 0.0
        self._last_recv = time.monotonic()
        self._closing = False
        self._close_code = CLOSE_NORMAL
        self._end_status = "idle"

    # -- sending ------------------------------------------------------------

    async def send_json(self, event: dict[str, Any]) -> None:
        if self._closing and event.get("type") != "error":
            return
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.ws.send_text(orjson.dumps(event).decode())

    async def send_audio(self, frame: bytes) -> None:
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.ws.send_bytes(frame)

    # -- lifecycle ----------------------------------------------------------

    async def serve(self) -> None:
        await self.rt.register(self)
        if await self._ended_meanwhile():
            return
        token = service.socket_token(self.rt, self.ctx.session_id, self.ctx.user.id)
        await self.send_json(
            {
                "type": "session.created",
                "session_id": self.session_id,
                "expires_at": self.expires_at.isoformat(),
                "thread_id": self.ctx.thread_id,
                "resumed": self.resumed,
                "token": token,
                "config": self.ctx.config,
                "dialogue_state": self.ctx.dialogue_state,
            }
        )
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._read_loop()
        finally:
            heartbeat.cancel()
            await self._stop_turn(time.monotonic(), event=False)
            for task in (self._speculative, self._partial):
                if task is not None:
                    task.cancel()
            self.rt.unregister(self)
            self.ctx.writer.close()
            status = self._end_status
            self.rt.spawn(self._mark(status))
            await self._close(self._close_code)
            log.info("voice_socket_closed", session_id=self.session_id, status=status)

    async def _ended_meanwhile(self) -> bool:
        """Ended (DELETE) between open and register, when no end event could
        find this socket yet: refuse it now."""
        async with self.rt.sessionmaker() as session:
            status = await service.session_status(session, session_id=self.session_id)
        if status != "ended":
            return False
        self.rt.unregister(self)
        self.ctx.writer.close()
        await self.send_json(
            {
                "type": "error",
                "error_message": "The voice session has expired or ended",
                "error_type": "session_expired",
            }
        )
        await self._close(CLOSE_EXPIRED)
        return True

    async def ended(self) -> None:
        """The session was ended elsewhere (DELETE): say so and close."""
        if self._closing:
            return
        self._end_status = "ended"
        await self.send_json({"type": "session.ended", "session_id": self.session_id})
        self._closing = True
        await self._close(CLOSE_NORMAL)

    async def _mark(self, status: str) -> None:
        await self.ctx.writer.drain()
        async with self.rt.sessionmaker() as session:
            await service.mark_seen(session, session_id=self.session_id, status=status)

    async def _close(self, code: int) -> None:
        self._closing = True
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.ws.close(code)

    async def replaced(self) -> None:
        """Another socket took this session over."""
        await self.send_json(
            {
                "type": "error",
                "error_message": "This session was opened on another connection",
                "error_type": "session_replaced",
            }
        )
        self._close_code = CLOSE_REPLACED
        self._end_status = "active"
        await self._close(CLOSE_REPLACED)

    async def shutdown(self) -> None:
        self._close_code = CLOSE_GOING_AWAY
        await self._close(CLOSE_GOING_AWAY)

    async def _heartbeat(self) -> None:
        settings = self.rt.settings
        while not cancel_requested():
            await asyncio.sleep(settings.voice_heartbeat_s)
            if utcnow() >= self.expires_at:
                await self.send_json(
                    {
                        "type": "error",
                        "error_message": "The voice session has expired",
                        "error_type": "session_expired",
                    }
                )
                self._close_code, self._end_status = CLOSE_EXPIRED, "expired"
                await self._close(CLOSE_EXPIRED)
                return
            if time.monotonic() - self._last_recv > settings.voice_idle_timeout_s:
                self._close_code = CLOSE_TIMEOUT
                await self._close(CLOSE_TIMEOUT)
                return
            await self.send_json({"type": "ping", "ts": time.time()})
            self.rt.spawn(self._touch())

    async def _touch(self) -> None:
        async with self.rt.sessionmaker() as session:
            await service.mark_seen(session, session_id=self.session_id)

    # -- reading ------------------------------------------------------------

    async def _read_loop(self) -> None:
        while not self._closing:
            try:
                message = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            self._last_recv = time.monotonic()
            data = message.get("bytes")
            if data is not None:
                await self._on_audio(data)
                continue
            text = message.get("text")
            if text is not None:
                await self._on_control(text)

    async def _on_audio(self, data: bytes) -> None:
        if len(data) > MAX_FRAME_BYTES:
            await self._error("Audio frame too large", "validation_error")
            return
        try:
            self._pcm += self.decoder.decode(data)
        except ValueError as exc:
            await self._error(str(exc), "validation_error")
            return
        now = time.monotonic()
        usable = len(self._pcm) - len(self._pcm) % FRAME_BYTES
        frames, self._pcm = self._pcm[:usable], self._pcm[usable:]
        for start in range(0, usable, FRAME_BYTES):
            for event in self.endpointer.feed(frames[start : start + FRAME_BYTES], now):
                await self._on_vad(event, now)
        self._maybe_partial(now)

    async def _on_vad(self, event: VadEvent, now: float) -> None:
        if event.kind == "speech_started":
            await self.send_json(
                {
                    "type": "input_audio.speech_started",
                    "turn_id": self._next_turn_id,
                }
            )
            if self._turn is not None and self._turn.speaking:
                await self._stop_turn(event.at)
        elif event.kind == "silence_started":
            self._start_speculative()
        elif event.kind == "speech_resumed":
            self._drop_speculative()
        elif event.kind == "speech_discarded":
            self._drop_speculative()
            await self.send_json(
                {
                    "type": "input_audio.speech_stopped",
                    "turn_id": self._next_turn_id,
                    "discarded": True,
                }
            )
        elif event.kind == "speech_stopped":
            await self._end_of_speech(event.at, now)

    async def _end_of_speech(self, voice_end_at: float, now: float) -> None:
        turn_id, self._next_turn_id = self._next_turn_id, _turn_id()
        audio = self.endpointer.take_utterance()
        # Started at the final pause: no speech since, so it heard it all.
        speculative, self._speculative = self._speculative, None
        if self._partial is not None:
            self._partial.cancel()
            self._partial = None
        await self.send_json({"type": "input_audio.speech_stopped", "turn_id": turn_id})
        await self._start_turn(
            TurnInput(
                turn_id=turn_id,
                kind="audio",
                started_at=now,
                audio=audio,
                voice_end_at=voice_end_at,
                speculative=speculative,
            )
        )

    # -- speculative and partial transcripts --------------------------------

    def _transcribe_task(self, audio: bytes, *, partial: bool) -> SpeculativeStt:
        return asyncio.create_task(
            engines.transcribe(
                self.rt,
                user_id=self.ctx.user.id,
                stt=self.ctx.config["stt"],
                language=self.ctx.language,
                audio=Pcm(audio, PIPELINE_RATE),
                partial=partial,
            )
        )

    def _start_speculative(self) -> None:
        """Transcribe what was said as soon as the speaker pauses: if the pause
        turns out to be the end, the transcript is (nearly) ready."""
        self._drop_speculative()
        if not self.ctx.config["stt"].get("speculative"):
            return
        audio = self.endpointer.snapshot()
        self._speculative = self._transcribe_task(audio, partial=False)

    def _drop_speculative(self) -> None:
        if self._speculative is not None:
            self._speculative.cancel()
            self._speculative = None

    def _maybe_partial(self, now: float) -> None:
        interval_ms = self.rt.settings.voice_partial_interval_ms
        if (
            not interval_ms
            or not self.ctx.config["stt"].get("partials")
            or not self.endpointer.in_speech
            or self.endpointer.in_pause
            or (self._partial is not None and not self._partial.done())
            or (now - self._partial_at) * 1000 < interval_ms
            or self.endpointer.utterance_ms < interval_ms
        ):
            return
        self._partial_at = now
        self._partial = asyncio.create_task(self._send_partial(self._next_turn_id))

    async def _send_partial(self, turn_id: str) -> None:
        try:
            transcript, _call = await self._transcribe_task(
                self.endpointer.snapshot(), partial=True
            )
        except (ProviderError, AihubError):
            return  # a partial is best effort; the final reports errors
        if transcript.text and turn_id == self._next_turn_id:
            await self.send_json(
                {
                    "type": "transcript.partial",
                    "turn_id": turn_id,
                    "text": transcript.text,
                }
            )

    # -- turns --------------------------------------------------------------

    async def _start_turn(self, inp: TurnInput) -> None:
        if self._turn is not None and not self._turn.finished:
            await self._stop_turn(time.monotonic())
        turn = Turn(self.ctx, self, inp)
        self._turn = turn
        self._turn_task = asyncio.create_task(self._run_turn(turn))

    async def _run_turn(self, turn: Turn) -> None:
        try:
            result = await turn.run()
        except asyncio.CancelledError:
            self._store(turn, turn.result())
            raise
        if result is not None:
            self._store(turn, result)
        elif turn.cost:  # silence, but the STT was paid for
            cost = turn.cost
            self.ctx.writer.submit(lambda: self.ctx.charge_key(tokens=0, cost=cost))

    def _store(self, turn: Turn, result: turn_store.TurnResult) -> None:
        writer = self.ctx.writer
        user_message = turn.user_message
        if user_message is None:
            if result.status == "error":  # refused before a word was known

                async def refused() -> None:
                    await self.send_json(_done_event(result, None))

                writer.submit(refused)
            return

        async def job() -> None:
            result.metrics = turn.metrics()  # barge_in_ms is known by now
            result.user_message_id = (
                user_message.result()
                if user_message.done() and not user_message.exception()
                else None
            )
            await self.ctx.charge_key(tokens=turn.key_tokens, cost=result.cost)
            message_id = await turn_store.finish_turn(
                self.rt.sessionmaker,
                user=self.ctx.user,
                thread_id=self.ctx.thread_id,
                result=result,
            )
            await self.send_json(_done_event(result, message_id))

        writer.submit(job)

    async def _stop_turn(self, onset: float, *, event: bool = True) -> None:
        """Barge-in: cut the current answer (a no-op once it is over)."""
        turn, task = self._turn, self._turn_task
        if turn is None or task is None or task.done():
            return
        if not event:  # the socket is going away: end the whole turn
            task.cancel()
            await asyncio.wait({task})
            return
        barge_in_ms = await turn.interrupt(onset)
        await self.send_json(
            {
                "type": "response.interrupted",
                "turn_id": turn.inp.turn_id,
                "barge_in_ms": barge_in_ms,
                "audio_ms_sent": round(turn.audio_ms, 1),
            }
        )

    # -- control ------------------------------------------------------------

    async def _on_control(self, text: str) -> None:
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self._error("Control frames must be JSON objects", "validation_error")
            return
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "input_text":
            await self._input_text(event)
        elif kind == "input_audio.commit":
            await self._commit_audio()
        elif kind == "response.cancel":
            await self._stop_turn(time.monotonic())
        elif kind == "session.update":
            await self._update(event.get("session") or {})
        elif kind == "session.end":
            self._end_status = "ended"
            # Stored before the client hears it: a quick reconnect is refused.
            async with self.rt.sessionmaker() as session:
                await service.mark_seen(
                    session, session_id=self.session_id, status="ended"
                )
            await self.send_json(
                {"type": "session.ended", "session_id": self.session_id}
            )
            self._closing = True
        elif kind == "ping":
            await self.send_json({"type": "pong", "ts": event.get("ts")})
        elif kind == "pong":
            return
        else:
            await self._error(f"Unknown event type {kind!r}", "validation_error")

    async def _input_text(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            await self._error(
                f"input_text needs a non-empty text of at most {MAX_TEXT_CHARS} chars",
                "validation_error",
            )
            return
        turn_id, self._next_turn_id = self._next_turn_id, _turn_id()
        await self._start_turn(
            TurnInput(
                turn_id=turn_id, kind="text", started_at=time.monotonic(), text=text
            )
        )

    async def _commit_audio(self) -> None:
        now = time.monotonic()
        event = self.endpointer.force_stop(now)
        if event is not None:
            await self._on_vad(event, now)

    async def _update(self, changes: dict[str, Any]) -> None:
        """Change voice, language, prompt... for the next turns. Checked as at
        creation; a refused update is an ``error`` event and changes nothing."""
        if not isinstance(changes, dict):
            await self._error(
                "session.update needs a session object", "validation_error"
            )
            return
        try:
            config = await self._updated_config(changes)
        except ValidationError as exc:
            await self._error(_validation_message(exc), "validation_error")
            return
        except (ValueError, TypeError) as exc:
            await self._error(str(exc), "validation_error")
            return
        except AihubError as exc:
            await self._error(exc.message, exc.error_type)
            return
        self.ctx.config = config
        async with self.rt.sessionmaker() as session:
            await service.update_config(
                session, session_id=self.session_id, config=config
            )
        await self.send_json({"type": "session.updated", "config": config})

    async def _updated_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        config = dict(self.ctx.config)
        fields = {name: changes[name] for name in UPDATABLE & changes.keys()}
        # The same rules as POST /api/v1/session (language, temperature...).
        checked = SessionCreate.model_validate(fields)
        config.update(checked.model_dump(mode="json", include=set(fields)))
        language = str(config.get("language") or "auto")
        relanguage = language != (self.ctx.config.get("language") or "auto")
        if "tts" in changes or relanguage:
            tts = TtsConfig.model_validate(
                {**_public(config["tts"]), **(changes.get("tts") or {})}
            )
            config["tts"] = await engines.resolve_tts(
                self.rt, user_id=self.ctx.user.id, language=language, config=tts
            )
        if "stt" in changes or relanguage:
            stt = SttConfig.model_validate(
                {**_public(config["stt"]), **(changes.get("stt") or {})}
            )
            config["stt"] = await engines.resolve_stt(
                self.rt, user_id=self.ctx.user.id, language=language, config=stt
            )
        return config

    async def _error(self, message: str, error_type: str) -> None:
        await self.send_json(
            {"type": "error", "error_message": message, "error_type": error_type}
        )


def _done_event(
    result: turn_store.TurnResult, message_id: int | None
) -> dict[str, Any]:
    return {
        "type": "response.done",
        "turn_id": result.turn_id,
        "message_id": message_id,
        "user_message_id": result.user_message_id,
        "status": result.status,
        "metrics": result.metrics,
        "cost": result.cost,
    }


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(
        ".".join(str(p) for p in error["loc"]) + ": " + error["msg"]
        for error in exc.errors()
    )


def _public(config: dict[str, Any]) -> dict[str, Any]:
    """A resolved engine config as the client may send it back."""
    return {k: v for k, v in config.items() if v is not None}


async def serve_socket(
    ws: WebSocket, rt: VoiceRuntime, *, token: str | None, session_id: str | None
) -> None:
    """Authenticate, then accept and serve; a refusal is an ``error`` event and
    a close code (4401 token, 4404 unknown or another user's session, 4410
    expired or ended)."""
    try:
        async with rt.sessionmaker() as session:
            sid, user_id = await service.socket_caller(
                session, ws, token=token, session_id=session_id
            )
            opened = await service.open_session(
                session, user_id=user_id, session_id=sid, gateway=rt.gateway
            )
        row = opened.row
        if row.thread_id is None:  # its thread was deleted
            raise VoiceSessionExpiredError("The session's thread was deleted")
        history = await turn_store.load_history(
            rt.sessionmaker, user=opened.user, thread_id=row.thread_id
        )
    except AihubError as exc:
        await ws.accept()
        await ws.send_text(
            orjson.dumps(
                {
                    "type": "error",
                    "error_message": exc.message,
                    "error_type": exc.error_type,
                }
            ).decode()
        )
        await ws.close(close_code_of(exc))
        return
    await ws.accept()
    ctx = SessionContext(
        rt=rt,
        session_id=row.id,
        user=opened.user,
        thread_id=row.thread_id,
        target=opened.target,
        config=dict(row.config),
        dialogue_state=dict(row.dialogue_state or {}),
        writer=SerialWriter(rt),
        gateway_key_id=row.gateway_key_id,
        gateway_key=opened.key,
        history=history,
    )
    connection = VoiceConnection(
        ws, rt, ctx, expires_at=row.expires_at, resumed=opened.resumed
    )
    await connection.serve()

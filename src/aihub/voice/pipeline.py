"""One turn: transcript -> model (with the intents as tools) -> speech.

The model's text streams to the client as ``response.text.delta`` and, cut
into sentences, into the TTS, which speaks each as soon as it is whole while
the model goes on; audio frames go out paced to ``voice_audio_lead_ms`` ahead
of real-time playback, so the server knows what is still to be heard and a
barge-in leaves nothing stale behind.

``interrupt()`` (the user spoke, or pressed stop) cancels the model stream and
the TTS at once; the frames of this turn stop with the task that sends them.
Latency (milliseconds, monotonic clock):

    endpoint_ms         last voiced frame -> end of speech decided (VAD wait)
    stt_final_ms        end of speech -> final transcript
    llm_first_token_ms  final transcript -> first token of the answer
    tts_first_audio_ms  first token -> first audio frame sent
    response_ms         last voiced frame (typed: text received) -> first audio
                        frame, so it includes the VAD wait (endpoint_ms)
    overhead_ms         end of speech decided (typed: text received) -> first
                        audio frame, less the time spent waiting on models: the
                        STT call (or the speculative transcript still running),
                        the LLM from its request to the first whole sentence, and
                        the TTS from its first request to its first audio chunk.
                        The VAD wait is not in it: the pipeline's own cost
    barge_in_ms         start of the user's speech -> last frame of the old answer
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from aihub.core.errors import AihubError
from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    CompletionBuilder,
    ProviderError,
    TextDelta,
)
from aihub.providers.stt_base import Pcm, Transcript
from aihub.usage.recording import CallRecord, cost_of
from aihub.voice import dialogue, engines
from aihub.voice.audio import PIPELINE_RATE, OutputEncoder
from aihub.voice.context import SessionContext
from aihub.voice.engines import SpeechCall
from aihub.voice.sentences import SentenceSplitter
from aihub.voice.turn_store import TurnResult

log = structlog.get_logger(__name__)

MAX_TOOL_ROUNDS = 3
LIMITS_STAGE = "limits"
"""The error stage of a turn refused before any engine failed: the turn rate
limit, or the gateway key's models, budget, tpm or rpm."""
SpeculativeStt = asyncio.Task[tuple[Transcript, SpeechCall]]


class Outbox(Protocol):
    async def send_json(self, event: dict[str, Any]) -> None: ...

    async def send_audio(self, frame: bytes) -> None: ...


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 1)


def error_event(exc: Exception, stage: str, turn_id: str | None) -> dict[str, Any]:
    if isinstance(exc, (AihubError, ProviderError)):
        message, kind = exc.message, exc.error_type
    else:  # pragma: no cover - guarded by callers
        message, kind = "Internal error", "api_error"
    return {
        "type": "error",
        "error_message": message,
        "error_type": kind,
        "stage": stage,
        "turn_id": turn_id,
    }


@dataclass(slots=True)
class TurnInput:
    turn_id: str
    kind: str
    """audio or text"""
    started_at: float
    """End of speech decided, or the typed text received."""
    text: str | None = None
    audio: bytes | None = None
    voice_end_at: float | None = None
    speculative: SpeculativeStt | None = None


@dataclass(slots=True)
class Clock:
    final_at: float | None = None
    llm_start_at: float | None = None
    first_token_at: float | None = None
    first_sentence_at: float | None = None
    tts_start_at: float | None = None
    tts_first_chunk_at: float | None = None
    first_audio_at: float | None = None
    stt_wait_s: float = 0.0
    barge_in_ms: float | None = None


@dataclass
class Turn:
    ctx: SessionContext
    out: Outbox
    inp: TurnInput
    clock: Clock = field(default_factory=Clock)
    parts: list[str] = field(default_factory=list)
    status: str = "complete"
    error_stage: str | None = None
    interrupted: bool = False
    user_text: str = ""
    user_message: asyncio.Future[int] | None = None
    finished: bool = False
    records: list[tuple[CallRecord, float | None]] = field(default_factory=list)
    cost: float = 0.0
    tokens: int = 0
    key_tokens: int = 0
    """Prompt and answer tokens, for a gateway key's tpm window."""
    meta: dict[str, Any] = field(default_factory=dict)
    audio_ms: float = 0.0
    playback_start: float | None = None
    _respond: asyncio.Task[None] | None = None
    _encoder: OutputEncoder | None = None

    # -- control ------------------------------------------------------------

    async def run(self) -> TurnResult | None:
        """The whole turn; None when there was nothing to answer (silence)."""
        try:
            await self._check(self.ctx.check_key())
            text = await self._understand()
            if not text:
                return None
            if self.interrupted:
                self.status = "interrupted"
            else:
                self._respond = asyncio.create_task(self._answer(text))
                await asyncio.wait({self._respond})
                if self._respond.cancelled():
                    self.status = "interrupted"
                elif (exc := self._respond.exception()) is not None:
                    raise exc
        except asyncio.CancelledError:
            self.status = "interrupted"
            if self._respond is not None and not self._respond.done():
                self._respond.cancel()
            raise
        except (AihubError, ProviderError) as exc:
            self.status = "error"
            self.error_stage = self.error_stage or (
                "stt" if self.clock.final_at is None else "llm"
            )
            await self.out.send_json(
                error_event(exc, self.error_stage, self.inp.turn_id)
            )
        finally:
            self.finished = True
            self.ctx.remember(self)
        return self.result()

    async def interrupt(self, onset: float) -> float:
        """Stop answering now (barge-in); the time from ``onset`` to the end of
        this turn's audio, in ms."""
        self.interrupted = True
        task = self._respond
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        self.clock.barge_in_ms = round(max(0.0, time.monotonic() - onset) * 1000, 1)
        return self.clock.barge_in_ms

    @property
    def speaking(self) -> bool:
        """Still answering or playing back: user speech now is a barge-in."""
        return (
            not self.finished
            and not self.interrupted
            and self.clock.final_at is not None
        )

    # -- stages -------------------------------------------------------------

    async def _understand(self) -> str:
        inp, ctx = self.inp, self.ctx
        if inp.kind == "text":
            text = (inp.text or "").strip()
            self.clock.final_at = inp.started_at
        else:
            text = await self._transcribe()
            self.clock.final_at = time.monotonic()
            await self.out.send_json(
                {"type": "transcript.final", "turn_id": inp.turn_id, "text": text}
            )
        self.user_text = text
        if text:
            meta: dict[str, Any] = {"turn_id": inp.turn_id, "input": inp.kind}
            if inp.kind == "audio":
                meta["audio_ms"] = round(len(inp.audio or b"") / 32, 1)
            self.user_message = ctx.save_user_message(text, meta)
        return text

    async def _transcribe(self) -> str:
        inp, ctx = self.inp, self.ctx
        waited = time.monotonic()
        speculative = inp.speculative
        if speculative is not None:
            transcript, call = await speculative
        else:
            transcript, call = await engines.transcribe(
                ctx.rt,
                user_id=ctx.user.id,
                stt=ctx.config["stt"],
                language=ctx.language,
                audio=Pcm(inp.audio or b"", PIPELINE_RATE),
            )
        self.clock.stt_wait_s = time.monotonic() - waited
        self._record_speech("stt", call, transcript.text)
        return transcript.text

    async def _check(self, check: Awaitable[None]) -> None:
        """A limit or the gateway key refusing the turn: stage "limits" (no
        engine failed)."""
        try:
            await check
        except AihubError:
            self.error_stage = LIMITS_STAGE
            raise

    async def _answer(self, text: str) -> None:
        await self._check(self.ctx.check_turn_rate(text))
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        llm = asyncio.create_task(self._think(text, sentences))
        speak = asyncio.create_task(self._speak(sentences))
        try:
            await llm
            await speak
        finally:
            for task in (llm, speak):
                task.cancel()
            await asyncio.gather(llm, speak, return_exceptions=True)

    async def _think(self, text: str, sentences: asyncio.Queue[str | None]) -> None:
        ctx, clock = self.ctx, self.clock
        request = ChatRequest(
            model=ctx.target.model,
            messages=[*ctx.history, ChatMessage(role="user", content=text)],
            system=ctx.system_prompt(),
            max_tokens=ctx.config.get("max_tokens"),
            temperature=ctx.config.get("temperature"),
            tools=dialogue.tools_for(ctx.config.get("intents") or []) or None,
        )
        splitter = SentenceSplitter()
        clock.llm_start_at = time.monotonic()
        for round_no in range(MAX_TOOL_ROUNDS):
            if round_no == MAX_TOOL_ROUNDS - 1 and request.tools:
                request.tool_choice = "none"
            builder = await self._stream_round(request, splitter, sentences)
            calls = builder.build().tool_calls
            if not calls:
                break
            await self._apply_tools(request, builder.text, calls)
            if self.parts and not self.parts[-1].endswith((" ", "\n")):
                self.parts.append(" ")
                splitter.feed(" ")
        rest = splitter.flush()
        if rest:
            self._sentence(rest, sentences)
        sentences.put_nowait(None)

    async def _stream_round(
        self,
        request: ChatRequest,
        splitter: SentenceSplitter,
        sentences: asyncio.Queue[str | None],
    ) -> CompletionBuilder:
        ctx, clock = self.ctx, self.clock
        call = ctx.rt.llm.stream(
            user_id=ctx.user.id, target=ctx.target, request=request
        )
        builder = CompletionBuilder(ctx.target.model)
        events = call.events()
        status = "ok"
        try:
            async for event in events:
                builder.add(event)
                if not isinstance(event, TextDelta) or not event.text:
                    continue
                if clock.first_token_at is None:
                    clock.first_token_at = time.monotonic()
                self.parts.append(event.text)
                await self.out.send_json(
                    {
                        "type": "response.text.delta",
                        "turn_id": self.inp.turn_id,
                        "delta": event.text,
                    }
                )
                for piece in splitter.feed(event.text):
                    self._sentence(piece, sentences)
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except (ProviderError, AihubError) as exc:
            status = "error"
            self.error_stage = "llm"
            raise exc
        finally:
            await events.aclose()
            self._record_chat(call, builder, status)
        return builder

    def _sentence(self, piece: str, sentences: asyncio.Queue[str | None]) -> None:
        if self.clock.first_sentence_at is None:
            self.clock.first_sentence_at = time.monotonic()
        sentences.put_nowait(piece)

    async def _apply_tools(
        self, request: ChatRequest, text: str, calls: list[Any]
    ) -> None:
        ctx = self.ctx
        request.messages.append(
            ChatMessage(role="assistant", content=text or None, tool_calls=calls)
        )
        results = []
        for call in calls:
            outcome, state = dialogue.handle_call(
                ctx.dialogue_state, ctx.intents, call.name, call.arguments
            )
            if outcome is None:
                content = '{"error": "unknown intent"}'
            else:
                ctx.dialogue_state = state
                content = outcome.tool_result(ctx.intents)
                event = outcome.event(self.inp.turn_id)
                self.meta.setdefault("intents", []).append(event)
                await self.out.send_json(event)
            request.messages.append(
                ChatMessage(role="tool", content=content, tool_call_id=call.id)
            )
            results.append({"tool_call_id": call.id, "content": content})
        self.meta.setdefault("tool_calls", []).extend(
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls
        )
        self.meta.setdefault("tool_results", []).extend(results)
        self.meta.setdefault("text_before_tools", "".join(self.parts).strip())

    async def _speak(self, sentences: asyncio.Queue[str | None]) -> None:
        ctx = self.ctx
        tts = ctx.config["tts"]
        call = SpeechCall(str(tts["provider"]), str(tts.get("model") or ""))
        failed = tts["provider"] == "none"
        while (sentence := await sentences.get()) is not None:
            if failed:
                continue
            try:
                await self._say(sentence, call)
            except (ProviderError, AihubError) as exc:
                failed = True
                self.error_stage = "tts"
                await self.out.send_json(error_event(exc, "tts", self.inp.turn_id))
        if self._encoder is not None:
            for frame, duration in self._encoder.flush():
                await self._send_audio(frame, duration)
        if call.characters or call.cached:
            self._record_speech("tts", call, None)
        await self._wait_playback()

    async def _say(self, sentence: str, call: SpeechCall) -> None:
        ctx, clock = self.ctx, self.clock
        started = time.monotonic()
        if clock.tts_start_at is None:
            clock.tts_start_at = started
        encoder = self._encoder or OutputEncoder(ctx.audio_format)
        self._encoder = encoder
        async for pcm in engines.synthesize(
            ctx.rt,
            user_id=ctx.user.id,
            tts=ctx.config["tts"],
            language=ctx.language,
            text=sentence,
            sample_rate=encoder.sample_rate,
            call=call,
        ):
            if clock.tts_first_chunk_at is None:
                clock.tts_first_chunk_at = time.monotonic()
            for frame, duration in encoder.encode(pcm):
                await self._send_audio(frame, duration)
        call.latency_ms += (time.monotonic() - started) * 1000

    async def _send_audio(self, frame: bytes, duration_ms: float) -> None:
        now = time.monotonic()
        if self.playback_start is None:
            encoder = self._encoder or OutputEncoder(self.ctx.audio_format)
            await self.out.send_json(
                {
                    "type": "response.audio.start",
                    "turn_id": self.inp.turn_id,
                    "format": encoder.mime,
                    "sample_rate": encoder.sample_rate,
                }
            )
            self.playback_start = now
            self.clock.first_audio_at = time.monotonic()
        lead_ms = self.ctx.rt.settings.voice_audio_lead_ms
        if lead_ms:
            ahead_ms = self.audio_ms - (now - self.playback_start) * 1000
            if ahead_ms > lead_ms:
                await asyncio.sleep((ahead_ms - lead_ms) / 1000)
        await self.out.send_audio(frame)
        self.audio_ms += duration_ms

    async def _wait_playback(self) -> None:
        """Stay interruptible until the client has played what was sent."""
        if self.playback_start is None or not self.ctx.rt.settings.voice_audio_lead_ms:
            return
        left = self.playback_start + self.audio_ms / 1000 - time.monotonic()
        if left > 0:
            await asyncio.sleep(left)

    # -- accounting ---------------------------------------------------------

    def _record_chat(self, call: Any, builder: CompletionBuilder, status: str) -> None:
        usage = builder.usage
        record = CallRecord(
            user_id=self.ctx.user.id,
            kind="chat",
            provider=call.target.provider,
            model=call.target.model,
            usage=usage,
            provider_key_id=call.key_id,
            gateway_key_id=self.ctx.gateway_key_id,
            latency_ms=call.latency_ms,
            ttft_ms=call.ttft_ms,
            status=status,
            error_type="api_error" if status == "error" else None,
            answer=builder.text[:500] or None,
        )
        self.cost += cost_of(record.provider, record.model, usage)
        if usage is not None:
            self.tokens += usage.completion_tokens
            self.key_tokens += usage.total_tokens or (
                usage.prompt_tokens + usage.completion_tokens
            )
        self.records.append((record, None))

    def _record_speech(self, kind: str, call: SpeechCall, text: str | None) -> None:
        record = CallRecord(
            user_id=self.ctx.user.id,
            kind=kind,
            provider=call.provider,
            model=call.model,
            provider_key_id=call.key_id,
            gateway_key_id=self.ctx.gateway_key_id,
            latency_ms=int(call.latency_ms or self.clock.stt_wait_s * 1000),
            is_cached=call.cached,
            answer=text[:500] if text else None,
        )
        self.cost += call.cost
        self.records.append((record, call.cost))

    def metrics(self) -> dict[str, float | None]:
        c, inp = self.clock, self.inp
        begin = inp.voice_end_at if inp.voice_end_at is not None else inp.started_at
        response_ms = _ms(begin, c.first_audio_at)
        overhead_ms = None
        if c.first_audio_at is not None:
            waits = c.stt_wait_s
            if c.llm_start_at is not None and c.first_sentence_at is not None:
                waits += c.first_sentence_at - c.llm_start_at
            if c.tts_start_at is not None and c.tts_first_chunk_at is not None:
                waits += c.tts_first_chunk_at - c.tts_start_at
            overhead_ms = round(
                max(0.0, (c.first_audio_at - inp.started_at - waits) * 1000), 1
            )
        return {
            "endpoint_ms": _ms(inp.voice_end_at, inp.started_at),
            "stt_final_ms": _ms(inp.started_at, c.final_at)
            if inp.kind == "audio"
            else None,
            "llm_first_token_ms": _ms(c.final_at, c.first_token_at),
            "tts_first_audio_ms": _ms(c.first_token_at, c.first_audio_at),
            "response_ms": response_ms,
            "overhead_ms": overhead_ms,
            "barge_in_ms": c.barge_in_ms,
        }

    def result(self) -> TurnResult:
        return TurnResult(
            session_id=self.ctx.session_id,
            turn_id=self.inp.turn_id,
            input_kind=self.inp.kind,
            user_message_id=None,
            text="".join(self.parts).strip(),
            status=self.status,
            provider=self.ctx.target.provider,
            model=self.ctx.target.model,
            error_stage=self.error_stage,
            metrics=self.metrics(),
            cost=round(self.cost, 8),
            tokens=self.tokens or None,
            meta=self.meta,
            records=self.records,
            dialogue_state=self.ctx.dialogue_state,
        )

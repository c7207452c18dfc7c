"""Voice activity detection and endpointing on 20 ms frames of PCM16 16 kHz.

- ``NoiseGate`` follows the noise floor (frame energy when nobody speaks) and
  marks as silence any frame too close to it, whatever the VAD says; gated
  frames are zeroed before they reach STT (Whisper invents words in hiss).
- The frame classifier is WebRTC's VAD (webrtcvad-wheels, in the voice-local
  extra: a few kB of C, no model download) when installed, else an energy VAD.
- ``Endpointer`` turns frames into events: speech started (after
  ``START_FRAMES`` voiced frames), silence started (``PAUSE_MS`` of silence
  after speech: the pipeline may start a speculative transcript), speech
  resumed, and speech stopped after an adaptive end-of-speech silence: it
  learns the speaker's own pauses inside utterances and waits a bit longer
  than the usual one, between ``min_ms`` and ``max_ms``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any, Protocol

from aihub.providers.stt_base import samples_of

RATE = 16000
FRAME_MS = 20
FRAME_BYTES = RATE * 2 * FRAME_MS // 1000
START_FRAMES = 3
"""Voiced frames (60 ms) that start speech; fewer is a click."""
MIN_SPEECH_MS = 200
"""An utterance shorter than this is dropped as noise."""
PRE_ROLL_MS = 300
PAUSE_MS = 160
"""Silence this long inside speech is a pause worth a speculative transcript
(shorter gaps are between words)."""
PAUSE_HISTORY = 20
MIN_PAUSE_MS = 100
GATE_RATIO = 2.0
"""A frame must be this many times louder than the noise floor to be speech."""
ABSOLUTE_FLOOR = 60.0
"""RMS below this is silence on any microphone (16-bit scale)."""


class FrameClassifier(Protocol):
    def is_speech(self, frame: bytes) -> bool: ...


class EnergyVad:
    def __init__(self, threshold: float = 500.0) -> None:
        self.threshold = threshold

    def is_speech(self, frame: bytes) -> bool:
        return rms(frame) >= self.threshold


class WebrtcVad:
    def __init__(self, mode: int = 2) -> None:
        import webrtcvad  # type: ignore[import-untyped]  # no stubs; optional extra

        self._vad: Any = webrtcvad.Vad(mode)

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, RATE))


def webrtc_available() -> bool:
    return find_spec("webrtcvad") is not None


def build_classifier() -> FrameClassifier:
    return WebrtcVad() if webrtc_available() else EnergyVad()


def rms(frame: bytes) -> float:
    samples = samples_of(frame)
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


class NoiseGate:
    """Tracks the noise floor: quick to fall, slow to rise."""

    def __init__(self) -> None:
        self.floor = ABSOLUTE_FLOOR

    def passes(self, level: float) -> bool:
        return level >= max(ABSOLUTE_FLOOR, self.floor * GATE_RATIO)

    def learn(self, level: float) -> None:
        """Update from a frame judged silent."""
        if level < self.floor:
            self.floor = 0.7 * self.floor + 0.3 * level
        else:
            self.floor = 0.995 * self.floor + 0.005 * level
        self.floor = max(self.floor, 1.0)


@dataclass(frozen=True, slots=True)
class VadEvent:
    kind: str
    """speech_started, silence_started, speech_resumed, speech_stopped,
    speech_discarded (too short)."""
    at: float
    """When it happened, on the caller's clock (for speech_stopped: the end of
    the last voiced frame)."""


class Endpointer:
    """Feed 20 ms frames with the time each arrived; get events and, after
    ``speech_stopped``, the utterance (``take_utterance``)."""

    def __init__(
        self,
        classifier: FrameClassifier,
        *,
        eos_ms: int = 500,
        min_ms: int = 250,
        max_ms: int = 1200,
        max_utterance_s: float = 30.0,
    ) -> None:
        self.classifier = classifier
        self.gate = NoiseGate()
        self.eos_ms = float(eos_ms)
        self.min_ms = float(min_ms)
        self.max_ms = float(max(max_ms, min_ms))
        self.max_frames = int(max_utterance_s * 1000 / FRAME_MS)
        self._pre_roll: deque[bytes] = deque(maxlen=PRE_ROLL_MS // FRAME_MS)
        self._utterance: list[bytes] = []
        self._pauses: deque[float] = deque(maxlen=PAUSE_HISTORY)
        self._voiced_run = 0
        self._silent_run = 0
        self._speech_frames = 0
        self.in_speech = False
        self.speech_started_at: float | None = None
        self.last_voice_at: float | None = None

    @property
    def in_pause(self) -> bool:
        return self._silent_run > 0

    @property
    def utterance_ms(self) -> float:
        return len(self._utterance) * FRAME_MS

    def snapshot(self) -> bytes:
        """The utterance so far (for partial and speculative transcripts)."""
        return b"".join(self._utterance)

    def take_utterance(self) -> bytes:
        data = b"".join(self._utterance)
        self._utterance = []
        return data

    def feed(self, frame: bytes, now: float) -> list[VadEvent]:
        level = rms(frame)
        voiced = self.gate.passes(level) and self.classifier.is_speech(frame)
        if not voiced:
            self.gate.learn(level)
            frame = bytes(len(frame))  # the noise gate: silence is silence
        if not self.in_speech:
            return self._idle(frame, voiced, now)
        return self._speaking(frame, voiced, now)

    def _idle(self, frame: bytes, voiced: bool, now: float) -> list[VadEvent]:
        self._pre_roll.append(frame)
        self._voiced_run = self._voiced_run + 1 if voiced else 0
        if self._voiced_run < START_FRAMES:
            return []
        self.in_speech = True
        self._utterance = list(self._pre_roll)
        self._pre_roll.clear()
        self._speech_frames = self._voiced_run
        self._silent_run = 0
        started = now - (START_FRAMES - 1) * FRAME_MS / 1000
        self.speech_started_at = started
        self.last_voice_at = now
        return [VadEvent("speech_started", started)]

    def _speaking(self, frame: bytes, voiced: bool, now: float) -> list[VadEvent]:
        self._utterance.append(frame)
        events: list[VadEvent] = []
        if voiced:
            if self._silent_run:
                pause_ms = self._silent_run * FRAME_MS
                if pause_ms >= MIN_PAUSE_MS:
                    self._pauses.append(pause_ms)
                    self._adapt()
                events.append(VadEvent("speech_resumed", now))
            self._silent_run = 0
            self._speech_frames += 1
            self.last_voice_at = now
        else:
            self._silent_run += 1
            if self._silent_run == PAUSE_MS // FRAME_MS:
                events.append(VadEvent("silence_started", now))
        too_long = len(self._utterance) >= self.max_frames
        if self._silent_run * FRAME_MS >= self.eos_ms or too_long:
            events.append(self._stop(now))
        return events

    def _stop(self, now: float) -> VadEvent:
        self.in_speech = False
        self._voiced_run = 0
        silent = self._silent_run
        self._silent_run = 0
        # Keep the utterance minus most of its trailing silence.
        keep = max(0, len(self._utterance) - max(0, silent - 5))
        self._utterance = self._utterance[:keep]
        ended = self.last_voice_at if self.last_voice_at is not None else now
        if self._speech_frames * FRAME_MS < MIN_SPEECH_MS:
            self._utterance = []
            return VadEvent("speech_discarded", ended)
        return VadEvent("speech_stopped", ended)

    def _adapt(self) -> None:
        """End of speech = the speaker's long pauses (90th percentile) plus a
        margin, within bounds: a fast talker gets a quicker answer."""
        if len(self._pauses) < 3:
            return
        ordered = sorted(self._pauses)
        p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
        self.eos_ms = min(self.max_ms, max(self.min_ms, p90 * 1.25 + 60))

    def force_stop(self, now: float) -> VadEvent | None:
        """End the utterance now (the client committed it); None if silent."""
        if not self.in_speech:
            return None
        return self._stop(now)

    def reset(self) -> None:
        self.in_speech = False
        self._utterance = []
        self._pre_roll.clear()
        self._voiced_run = self._silent_run = self._speech_frames = 0

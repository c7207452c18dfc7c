"""The pipeline's pure parts: endpointing, sentence cutting, entity checks,
resampling."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from aihub.providers.stt_base import Pcm, from_wav, resample, samples_of, to_wav
from aihub.providers.tts_base import StreamResampler
from aihub.voice.dialogue import check, evaluate, handle_call
from aihub.voice.schemas import AudioFormat
from aihub.voice.sentences import SentenceSplitter
from aihub.voice.vad import FRAME_BYTES, Endpointer, EnergyVad

RATE = 16000


def _tone(ms: int, amplitude: int = 6000) -> bytes:
    count = RATE * ms // 1000
    return b"".join(
        int(amplitude * math.sin(2 * math.pi * 300 * i / RATE)).to_bytes(
            2, "little", signed=True
        )
        for i in range(count)
    )


def _silence(ms: int) -> bytes:
    return bytes(RATE * 2 * ms // 1000)


def _feed(endpointer: Endpointer, pcm: bytes) -> list[str]:
    kinds = []
    for n, start in enumerate(range(0, len(pcm), FRAME_BYTES)):
        frame = pcm[start : start + FRAME_BYTES]
        if len(frame) == FRAME_BYTES:
            kinds += [e.kind for e in endpointer.feed(frame, n * 0.02)]
    return kinds


class TestEndpointer:
    def test_speech_then_silence_is_one_utterance(self) -> None:
        endpointer = Endpointer(EnergyVad(), eos_ms=400)
        kinds = _feed(endpointer, _silence(200) + _tone(600) + _silence(600))
        assert kinds == ["speech_started", "silence_started", "speech_stopped"]
        utterance = endpointer.take_utterance()
        # pre-roll + speech + a little trailing silence, well under everything
        assert 0.6 < len(utterance) / 32000 < 1.2

    def test_short_pause_does_not_end_the_utterance(self) -> None:
        endpointer = Endpointer(EnergyVad(), eos_ms=400)
        kinds = _feed(
            endpointer, _tone(400) + _silence(200) + _tone(400) + _silence(500)
        )
        assert kinds.count("speech_started") == 1
        assert kinds.count("speech_stopped") == 1
        assert "speech_resumed" in kinds

    def test_a_click_is_discarded(self) -> None:
        endpointer = Endpointer(EnergyVad(), eos_ms=300)
        kinds = _feed(endpointer, _silence(100) + _tone(80) + _silence(400))
        assert kinds[-1] == "speech_discarded"
        assert endpointer.take_utterance() == b""

    def test_end_of_speech_adapts_to_the_speakers_pauses(self) -> None:
        endpointer = Endpointer(EnergyVad(), eos_ms=800, min_ms=250, max_ms=1200)
        pauses = b"".join(_tone(300) + _silence(160) for _ in range(6))
        _feed(endpointer, pauses)
        assert 250 <= endpointer.eos_ms < 800

    def test_noise_below_the_gate_is_silence(self) -> None:
        endpointer = Endpointer(EnergyVad(threshold=10), eos_ms=300)
        kinds = _feed(endpointer, _tone(1000, amplitude=40))
        assert kinds == []


class TestSentenceSplitter:
    def test_cuts_at_sentence_ends_as_text_streams(self) -> None:
        splitter = SentenceSplitter()
        pieces = []
        for delta in ["Hello the", "re. How are", " you? I am", " fine."]:
            pieces += splitter.feed(delta)
        assert pieces == ["Hello there.", "How are you?"]
        assert splitter.flush() == "I am fine."

    def test_abbreviations_and_numbers_do_not_cut(self) -> None:
        splitter = SentenceSplitter()
        pieces = splitter.feed("Dr. Smith paid 3.5 dollars, e.g. a tip. Next ")
        assert pieces == ["Dr. Smith paid 3.5 dollars, e.g. a tip."]

    def test_a_long_first_clause_is_spoken_early(self) -> None:
        splitter = SentenceSplitter()
        pieces = splitter.feed("Well, considering everything you told me so far, I ")
        assert pieces == ["Well, considering everything you told me so far,"]

    def test_russian(self) -> None:
        splitter = SentenceSplitter()
        assert splitter.feed("Привет! Как дела, т.е. всё хорошо? Да ") == [
            "Привет!",
            "Как дела, т.е. всё хорошо?",
        ]


SCHEMA = {
    "name": "order",
    "entities": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 1},
            "size": {"enum": ["S", "M", "L"]},
            "email": {"type": "string", "format": "email"},
        },
        "required": ["count", "size"],
    },
}


class TestDialogue:
    @pytest.mark.parametrize(
        ("schema", "value", "ok"),
        [
            ({"type": "integer"}, 3, True),
            ({"type": "integer"}, 3.0, True),
            ({"type": "integer"}, True, False),
            ({"type": "integer"}, "3", False),
            ({"type": ["string", "null"]}, None, True),
            ({"type": "number", "maximum": 5}, 6, False),
            ({"type": "string", "minLength": 2}, "a", False),
            ({"type": "string", "pattern": "^[A-Z]+$"}, "abc", False),
            ({"type": "string", "format": "date"}, "2026-02-30", False),
            ({"type": "string", "format": "time"}, "19:00", True),
            ({"type": "array", "items": {"type": "integer"}}, [1, "x"], False),
            ({"enum": [1, 2]}, 2, True),
        ],
    )
    def test_check(self, schema: dict[str, object], value: object, ok: bool) -> None:
        assert (check(schema, value) is None) is ok

    def test_merges_calls_until_complete(self) -> None:
        intents = {"order": SCHEMA}
        state: dict[str, object] = {"pending": None, "completed": []}
        outcome, state = handle_call(state, intents, "order", '{"count": 0}')
        assert outcome is not None
        assert (outcome.complete, outcome.missing) == (False, ["size"])
        assert "count" in outcome.invalid
        outcome, state = handle_call(
            state, intents, "order", '{"count": 2, "size": "M"}'
        )
        assert outcome is not None
        assert outcome.complete
        assert state["pending"] is None
        assert state["completed"] == [
            {"name": "order", "entities": {"count": 2, "size": "M"}}
        ]

    def test_unknown_intent_and_bad_json(self) -> None:
        state = {"pending": None}
        assert handle_call(state, {"order": SCHEMA}, "other", "{}") == (None, state)
        outcome, _ = handle_call(state, {"order": SCHEMA}, "order", "{nope")
        assert outcome is not None
        assert outcome.missing == ["count", "size"]

    def test_unknown_entities_are_ignored(self) -> None:
        outcome = evaluate(SCHEMA, "order", {"count": 1, "size": "S", "colour": "red"})
        assert outcome.complete
        assert outcome.entities == {"count": 1, "size": "S"}


class TestAudio:
    def test_wav_round_trip(self) -> None:
        pcm = Pcm(_tone(100), RATE)
        assert from_wav(to_wav(pcm)) == pcm

    def test_resample_keeps_duration(self) -> None:
        pcm = _tone(300)
        assert len(resample(pcm, 16000, 48000)) == 3 * len(pcm)
        assert len(resample(pcm, 16000, 8000)) == len(pcm) // 2
        assert abs(len(resample(pcm, 16000, 22050)) / 2 - 300 * 22.05) <= 2

    def test_stream_resampler_loses_nothing_at_chunk_edges(self) -> None:
        pcm = _tone(500)
        whole = resample(pcm, 24000, 16000)
        resampler = StreamResampler(24000, 16000)
        pieces = [resampler.feed(pcm[i : i + 1001]) for i in range(0, len(pcm), 1001)]
        streamed = b"".join(pieces) + resampler.flush()
        assert len(streamed) == len(whole)
        assert (
            max(
                abs(a - b)
                for a, b in zip(samples_of(streamed), samples_of(whole), strict=True)
            )
            < 2000
        )


class TestAudioFormat:
    @pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
    def test_pcm16_takes_the_rates_the_pipeline_resamples(self, rate: int) -> None:
        assert AudioFormat(encoding="pcm16", sample_rate=rate).sample_rate == rate

    @pytest.mark.parametrize("rate", [12000, 11025, 44100])
    def test_pcm16_refuses_other_rates(self, rate: int) -> None:
        with pytest.raises(ValidationError, match="pcm16"):
            AudioFormat(encoding="pcm16", sample_rate=rate)

    def test_opus_takes_its_own_rates_only(self) -> None:
        assert AudioFormat(encoding="opus", sample_rate=12000).sample_rate == 12000
        with pytest.raises(ValidationError, match="opus"):
            AudioFormat(encoding="opus", sample_rate=44100)

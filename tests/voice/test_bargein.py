"""Barge-in: speech (or response.cancel) during an answer stops it at once,
sends no stale audio afterwards, and keeps the cut answer as interrupted."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx

from tests.conftest import LiveServer
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream, Reply
from tests.voice.helpers import connect, voice_user

STORY = " ".join(f"This is sentence number {n} of a long story." for n in range(1, 21))


async def test_user_speech_during_the_answer_interrupts_it(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    utterance: bytes,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    fake_upstream.script(
        voice.chat_key,
        [Reply(text=STORY, chunks=40, chunk_delay=0.03), Reply(text="Okay, stopping.")],
    )
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Tell me a story."})
        first = await sock.next_event("response.audio.start")
        await sock.send_audio(utterance)
        interrupted = await sock.next_event("response.interrupted")
        cut = sock.cursor
        old_done = await sock.wait_for("response.done", turn_id=first["turn_id"])
        final = await sock.wait_for("transcript.final")
        second = await sock.wait_for("response.audio.start", turn_id=final["turn_id"])
        new_done = await sock.wait_for("response.done", turn_id=second["turn_id"])
        await sock.ws.close()
    assert interrupted["turn_id"] == first["turn_id"]
    assert interrupted["barge_in_ms"] >= 0
    # Nothing of the old answer after the interruption: the next audio is the
    # new turn's, announced by its own response.audio.start.
    assert (
        sock.audio_between(
            cut, sock.index_of("response.audio.start", turn_id=second["turn_id"])
        )
        == []
    )
    assert final["turn_id"] == second["turn_id"] != first["turn_id"]
    assert old_done["status"] == "interrupted"
    assert old_done["metrics"]["barge_in_ms"] == interrupted["barge_in_ms"]
    assert new_done["status"] == "complete"
    # The model stream was cut: the first answer is partial in the thread.
    thread = (
        await http.get(
            f"/api/threads/{voice.session['thread_id']}", headers=voice.user.headers
        )
    ).json()
    answers = [m for m in thread["messages"] if m["role"] == "assistant"]
    assert [m["status"] for m in answers] == ["interrupted", "complete"]
    assert 0 < len(answers[0]["content"]) < len(STORY)
    assert STORY.startswith(answers[0]["content"])
    spoken = [r.json["input"] for r in fake_speech.requests_to("/audio/speech")]
    assert "This is sentence number 20 of a long story." not in spoken


async def test_response_cancel_stops_the_answer(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    fake_upstream.script(
        voice.chat_key, [Reply(text=STORY, chunks=40, chunk_delay=0.03)]
    )
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Tell me a story."})
        start = await sock.next_event("response.audio.start")
        await sock.send({"type": "response.cancel"})
        await sock.next_event("response.interrupted", turn_id=start["turn_id"])
        cut = sock.cursor
        done = await sock.next_event("response.done", turn_id=start["turn_id"])
        await sock.send({"type": "ping", "ts": 1})
        await sock.next_event("pong")
        await sock.ws.close()
    assert done["status"] == "interrupted"
    assert sock.audio_between(cut) == []

    # The model's stream was closed upstream, not left running.
    def outcome() -> str:
        return fake_upstream.requests_for(voice.chat_key)[-1].outcome

    async with asyncio.timeout(10):
        while outcome() == "pending":  # noqa: ASYNC110 - another thread sets it
            await asyncio.sleep(0.01)
    assert outcome() == "client_disconnected"

"""A dropped client comes back to the same session: same thread, same
context; what was being said when it dropped is kept as interrupted."""

from __future__ import annotations

import aiohttp
import httpx

from tests.conftest import LiveServer
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream, Reply
from tests.voice.helpers import connect, voice_user

LONG = " ".join(f"Point {n} of the menu is worth hearing." for n in range(1, 16))


async def test_resume_after_a_drop_keeps_session_thread_and_context(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    sid = voice.session["session_id"]
    fake_upstream.script(
        voice.chat_key,
        [
            Reply(text="Nice to meet you, Ann."),
            Reply(text=LONG, chunks=30, chunk_delay=0.03),
            Reply(text="Your name is Ann."),
        ],
    )
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "My name is Ann."})
        await sock.next_event("response.done")
        await sock.send({"type": "input_text", "text": "Read me the menu."})
        await sock.next_event("response.audio.start")
        await sock.ws.close()  # the client drops mid-answer

    token = await http.post(f"/api/v1/session/{sid}/token", headers=voice.user.headers)
    assert token.status_code == 200, token.text
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, token.json()["ws_url"])
        created = await sock.next_event("session.created")
        assert created["resumed"] is True
        assert created["session_id"] == sid
        await sock.send({"type": "input_text", "text": "What is my name?"})
        done = await sock.next_event("response.done")
        await sock.ws.close()
    assert done["status"] == "complete"
    messages = fake_upstream.requests_for(voice.chat_key)[-1].json["messages"]
    said = [(m["role"], m["content"]) for m in messages if m["role"] != "system"]
    assert said[:2] == [
        ("user", "My name is Ann."),
        ("assistant", "Nice to meet you, Ann."),
    ]
    assert said[2] == ("user", "Read me the menu.")
    assert said[3][0] == "assistant"
    assert LONG.startswith(said[3][1])
    assert said[-1] == ("user", "What is my name?")
    thread = (
        await http.get(
            f"/api/threads/{voice.session['thread_id']}", headers=voice.user.headers
        )
    ).json()
    statuses = [m["status"] for m in thread["messages"] if m["role"] == "assistant"]
    assert statuses == ["complete", "interrupted", "complete"]
    row = (await http.get(f"/api/v1/session/{sid}", headers=voice.user.headers)).json()
    assert row["turn_count"] == 3

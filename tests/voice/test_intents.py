"""Intents as the model's tools: a command with a missing or invalid entity is
re-asked, then completed on the next turn; the state survives a reconnect."""

from __future__ import annotations

import aiohttp
import httpx
import orjson

from tests.conftest import LiveServer
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream, Reply, ToolCallSpec
from tests.voice.helpers import connect, voice_user

BOOK_TABLE = {
    "name": "book_table",
    "description": "Book a table at the restaurant",
    "entities": {
        "type": "object",
        "properties": {
            "party_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": 20,
                "description": "how many people",
            },
            "date": {"type": "string", "format": "date", "description": "the day"},
            "time": {
                "type": "string",
                "pattern": "^[0-2][0-9]:[0-5][0-9]$",
                "description": "the time",
            },
        },
        "required": ["party_size", "date", "time"],
    },
}


async def test_missing_entity_is_reasked_then_completed(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(
        http, fake_upstream, fake_speech, intents=[BOOK_TABLE], tts={"provider": "none"}
    )
    fake_upstream.script(
        voice.chat_key,
        [
            Reply(
                tool_calls=[
                    ToolCallSpec(
                        "book_table", {"party_size": 2, "date": "tomorrow"}, id="call_1"
                    )
                ]
            ),
            Reply(text="For which date and time?"),
            Reply(
                tool_calls=[
                    ToolCallSpec(
                        "book_table",
                        {"date": "2026-12-01", "time": "19:00"},
                        id="call_2",
                    )
                ]
            ),
            Reply(text="Booked for two on December first at seven."),
        ],
    )
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "A table for two tomorrow."})
        first = await sock.next_event("intent")
        asked = await sock.next_event("response.done")
        await sock.send({"type": "input_text", "text": "December first at seven pm."})
        second = await sock.next_event("intent")
        await sock.next_event("response.done")
        await sock.ws.close()
    assert first["name"] == "book_table"
    assert first["complete"] is False
    assert first["entities"] == {"party_size": 2}
    assert first["missing"] == ["time"]
    assert first["invalid"] == {"date": "must be a date (ISO 8601)"}
    assert second["complete"] is True
    assert second["missing"] == []
    assert second["entities"] == {
        "party_size": 2,
        "date": "2026-12-01",
        "time": "19:00",
    }
    assert asked["status"] == "complete"
    requests = fake_upstream.requests_for(voice.chat_key)
    assert len(requests) == 4
    # The intents reach the model as tools, without `required`.
    tool = requests[0].json["tools"][0]["function"]
    assert tool["name"] == "book_table"
    assert "required" not in tool["parameters"]
    # The re-ask is the model's answer to the manager's tool result.
    result = orjson.loads(requests[1].json["messages"][-1]["content"])
    assert requests[1].json["messages"][-1]["tool_call_id"] == "call_1"
    assert result["status"] == "incomplete"
    assert result["missing"] == ["time"]
    assert "date" in result["invalid"]
    # Turn two carries turn one's tool exchange and the pending command.
    turn_two = requests[2].json["messages"]
    assert [m["role"] for m in turn_two[1:]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert "book_table" in turn_two[0]["content"]  # the system prompt's note
    deltas = "".join(e["delta"] for e in sock.events("response.text.delta"))
    assert "For which date and time?" in deltas
    row = (
        await http.get(
            f"/api/v1/session/{voice.session['session_id']}", headers=voice.user.headers
        )
    ).json()
    assert row["dialogue_state"]["pending"] is None
    assert row["dialogue_state"]["completed"][-1]["name"] == "book_table"
    thread = (
        await http.get(
            f"/api/threads/{voice.session['thread_id']}", headers=voice.user.headers
        )
    ).json()
    meta = thread["messages"][-1]["meta_data"]
    assert meta["intents"][0]["complete"] is True


async def test_pending_command_survives_a_reconnect(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(
        http, fake_upstream, fake_speech, intents=[BOOK_TABLE], tts={"provider": "none"}
    )
    fake_upstream.script(
        voice.chat_key,
        [
            Reply(tool_calls=[ToolCallSpec("book_table", {"party_size": 4})]),
            Reply(text="When?"),
            Reply(
                tool_calls=[
                    ToolCallSpec("book_table", {"date": "2026-12-02", "time": "20:30"})
                ]
            ),
            Reply(text="Done."),
        ],
    )
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Table for four."})
        await sock.next_event("response.done")
        await sock.ws.close()
    sid = voice.session["session_id"]
    fresh = await http.post(f"/api/v1/session/{sid}/token", headers=voice.user.headers)
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, fresh.json()["ws_url"])
        created = await sock.next_event("session.created")
        assert created["dialogue_state"]["pending"] == {
            "name": "book_table",
            "entities": {"party_size": 4},
        }
        await sock.send({"type": "input_text", "text": "December second, 8:30 pm."})
        intent = await sock.next_event("intent")
        await sock.next_event("response.done")
        await sock.ws.close()
    assert intent["complete"] is True
    assert intent["entities"]["party_size"] == 4

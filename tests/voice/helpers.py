"""A small voice client over a real WebSocket, and session setup."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import orjson
from sqlalchemy import text

from aihub.core.db import build_engine
from tests.chat.helpers import add_key
from tests.factories import Account, make_user
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream

FRAME_BYTES = 640  # 20 ms at 16 kHz
WAIT_S = 20.0


@dataclass
class Voice:
    user: Account
    chat_key: str
    speech_key: str
    session: dict[str, Any]


async def add_speech_key(
    http: httpx.AsyncClient, user: Account, speech: FakeSpeech, secret: str
) -> None:
    body = {
        "provider": "openai_compatible",
        "api_key": secret,
        "name": secret,
        "base_url": speech.base_url,
    }
    response = await http.post("/api/api-keys/", json=body, headers=user.headers)
    assert response.status_code == 201, response.text


def session_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "language": "en",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "system_prompt": "You are a helpful restaurant assistant.",
        "stt": {"provider": "openai_compatible", "model": "whisper-1"},
        "tts": {"provider": "openai_compatible", "model": "tts-1", "voice": "alloy"},
    }
    body.update(overrides)
    return body


async def create_session(
    http: httpx.AsyncClient, user: Account, **overrides: Any
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/session", json=session_body(**overrides), headers=user.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def voice_user(
    http: httpx.AsyncClient,
    upstream: FakeUpstream,
    speech: FakeSpeech,
    **overrides: Any,
) -> Voice:
    user = await make_user(http)
    chat_key, speech_key = f"sk-chat-{user.id}", f"sk-speech-{user.id}"
    await add_key(http, user, upstream, chat_key)
    await add_speech_key(http, user, speech, speech_key)
    session = await create_session(http, user, **overrides)
    return Voice(user, chat_key, speech_key, session)


@dataclass
class VoiceSocket:
    """Everything received, in order: ("event", dict) or ("audio", bytes)."""

    ws: aiohttp.ClientWebSocketResponse
    log: list[tuple[str, Any]] = field(default_factory=list)
    cursor: int = 0

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send_str(orjson.dumps(event).decode())

    async def send_audio(self, pcm: bytes, *, frame_bytes: int = FRAME_BYTES) -> None:
        for start in range(0, len(pcm), frame_bytes):
            await self.ws.send_bytes(pcm[start : start + frame_bytes])

    async def _receive(self) -> bool:
        message = await self.ws.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            event = orjson.loads(message.data)
            if event.get("type") == "ping":
                await self.send({"type": "pong"})
            self.log.append(("event", event))
            return True
        if message.type == aiohttp.WSMsgType.BINARY:
            self.log.append(("audio", message.data))
            return True
        self.log.append(("closed", self.ws.close_code))
        return False

    async def next_event(self, kind: str, **match: Any) -> dict[str, Any]:
        """The next event of ``kind`` (matching ``match``) after the cursor."""
        async with asyncio.timeout(WAIT_S):
            while True:
                while self.cursor < len(self.log):
                    what, value = self.log[self.cursor]
                    self.cursor += 1
                    if (
                        what == "event"
                        and value.get("type") == kind
                        and all(value.get(k) == v for k, v in match.items())
                    ):
                        event: dict[str, Any] = value
                        return event
                if not await self._receive():
                    raise AssertionError(
                        f"socket closed before {kind}: {self.events()}"
                    )

    async def wait_for(self, kind: str, **match: Any) -> dict[str, Any]:
        """The first event of ``kind`` matching ``match`` anywhere in the log
        (waiting for it), leaving the cursor alone."""
        async with asyncio.timeout(WAIT_S):
            scanned = 0
            while True:
                for what, value in self.log[scanned:]:
                    if (
                        what == "event"
                        and value.get("type") == kind
                        and all(value.get(k) == v for k, v in match.items())
                    ):
                        event: dict[str, Any] = value
                        return event
                scanned = len(self.log)
                if not await self._receive():
                    raise AssertionError(
                        f"socket closed before {kind}: {self.events()}"
                    )

    async def closed(self) -> int | None:
        async with asyncio.timeout(WAIT_S):
            while await self._receive():
                pass
        return self.ws.close_code

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            v
            for w, v in self.log
            if w == "event" and (kind is None or v["type"] == kind)
        ]

    def audio_between(self, start: int, end: int | None = None) -> list[bytes]:
        return [v for w, v in self.log[start:end] if w == "audio"]

    def index_of(self, kind: str, **match: Any) -> int:
        for index, (what, value) in enumerate(self.log):
            if (
                what == "event"
                and value.get("type") == kind
                and all(value.get(k) == v for k, v in match.items())
            ):
                return index
        raise AssertionError(f"no {kind} event")


async def connect(
    client: aiohttp.ClientSession, url: str, **kwargs: Any
) -> VoiceSocket:
    ws = await client.ws_connect(url, **kwargs)
    return VoiceSocket(ws)


async def request_log(database_url: str, user_id: int) -> list[dict[str, Any]]:
    """The user's request-log rows, oldest first."""
    engine = build_engine(database_url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT kind, provider, model, cost, message_id, status "
                "FROM requests WHERE user_id = :u ORDER BY id"
            ),
            {"u": user_id},
        )
        found = [dict(row._mapping) for row in rows]
    await engine.dispose()
    return found

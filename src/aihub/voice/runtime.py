"""The process's voice machinery (the runtime's ``voice``, built in the
lifespan): the speech adapters, the phrase cache, and the WebSockets open here.

    voice = await start_voice(settings, ...)
    ...
    await voice.close()       # ends every open session socket

A session has one live socket at a time, whichever process holds it: a new
connection announces itself on the event bus (TAKEOVER_CHANNEL) and the older
socket, here or in another process, is closed with 4409. Ending a session
(DELETE) is announced on END_CHANNEL the same way: its socket, wherever it is,
gets ``session.ended`` and is closed with 1000.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from aihub.core.settings import Settings
from aihub.infra.events import Listener, Message
from aihub.providers.http import Timeouts
from aihub.providers.stt_base import SttAdapter
from aihub.providers.stt_local import LocalWhisperAdapter
from aihub.providers.stt_local import is_available as local_stt_available
from aihub.providers.stt_openai import OpenAISttAdapter
from aihub.providers.tts_base import TtsAdapter
from aihub.providers.tts_espeak import EspeakTtsAdapter
from aihub.providers.tts_espeak import is_available as espeak_available
from aihub.providers.tts_openai import OpenAITtsAdapter
from aihub.providers.tts_piper import PiperTtsAdapter
from aihub.providers.tts_piper import is_available as piper_available
from aihub.voice.audio import opus_available
from aihub.voice.vad import webrtc_available

if TYPE_CHECKING:
    import aiohttp
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from aihub.calls.client import LlmClient
    from aihub.gateway.keys.runtime import GatewayRuntime
    from aihub.infra import Infra
    from aihub.provider_keys.pool import KeyPool

log = structlog.get_logger(__name__)

TAKEOVER_CHANNEL = "voice.session.takeover"
END_CHANNEL = "voice.session.end"


class LiveSocket(Protocol):
    session_id: str
    conn_id: str

    async def replaced(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def ended(self) -> None: ...


class _CompatStt(OpenAISttAdapter):
    name = "openai_compatible"
    default_base_url = None


class _CompatTts(OpenAITtsAdapter):
    name = "openai_compatible"
    default_base_url = None


@dataclass
class VoiceRuntime:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    infra: Infra
    pool: KeyPool
    llm: LlmClient
    http: aiohttp.ClientSession
    secret_key: str
    gateway: GatewayRuntime
    """Gateway keys' limits and spend (a session made with a key)."""
    timeouts: Timeouts
    stt: dict[str, SttAdapter] = field(default_factory=dict)
    tts: dict[str, TtsAdapter] = field(default_factory=dict)
    sockets: dict[str, LiveSocket] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _listeners: list[Listener] = field(default_factory=list)

    def engines(self) -> dict[str, dict[str, bool]]:
        return {
            "stt": {"local": local_stt_available(), "openai": True},
            "tts": {
                "piper": piper_available(),
                "espeak": espeak_available(),
                "openai": True,
            },
            "audio": {"opus": opus_available(), "webrtc_vad": webrtc_available()},
        }

    # -- sockets --------------------------------------------------------------

    async def register(self, socket: LiveSocket) -> None:
        """Make ``socket`` its session's one live socket (closing any other)."""
        older = self.sockets.get(socket.session_id)
        self.sockets[socket.session_id] = socket
        if older is not None and older is not socket:
            await older.replaced()
        await self.infra.events.publish(
            TAKEOVER_CHANNEL,
            {"session_id": socket.session_id, "conn_id": socket.conn_id},
        )

    def unregister(self, socket: LiveSocket) -> None:
        if self.sockets.get(socket.session_id) is socket:
            del self.sockets[socket.session_id]

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """An owned background task (cancelled at shutdown)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _on_takeover(self, _channel: str, message: Message) -> None:
        socket = self.sockets.get(str(message.get("session_id")))
        if socket is not None and socket.conn_id != message.get("conn_id"):
            self.unregister(socket)
            self.spawn(socket.replaced())

    async def end(self, session_id: str) -> None:
        """The session was ended (DELETE): close its socket, here or in
        whichever process holds it."""
        socket = self.sockets.get(session_id)
        if socket is not None:
            self.unregister(socket)
            await socket.ended()
        await self.infra.events.publish(END_CHANNEL, {"session_id": session_id})

    def _on_end(self, _channel: str, message: Message) -> None:
        socket = self.sockets.get(str(message.get("session_id")))
        if socket is not None:
            self.unregister(socket)
            self.spawn(socket.ended())

    async def start(self) -> None:
        self._listeners = [
            await self.infra.events.listen(TAKEOVER_CHANNEL, self._on_takeover),
            await self.infra.events.listen(END_CHANNEL, self._on_end),
        ]
        if self.settings.voice_preload_local:
            await self.warm_up()

    async def warm_up(self) -> None:
        for adapter in (self.stt.get("local"), self.tts.get("piper")):
            warm = getattr(adapter, "warm_up", None)
            if warm is not None:
                with contextlib.suppress(Exception):  # logged by the first real use
                    await warm()

    async def close(self) -> None:
        for listener in self._listeners:
            await listener.close()
        self._listeners = []
        for socket in list(self.sockets.values()):
            await socket.shutdown()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


def new_conn_id() -> str:
    return secrets.token_hex(8)


async def start_voice(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    infra: Infra,
    pool: KeyPool,
    llm: LlmClient,
    http: aiohttp.ClientSession,
    secret_key: str,
    gateway: GatewayRuntime,
) -> VoiceRuntime:
    runtime = VoiceRuntime(
        settings=settings,
        sessionmaker=sessionmaker,
        infra=infra,
        pool=pool,
        llm=llm,
        http=http,
        secret_key=secret_key,
        gateway=gateway,
        timeouts=Timeouts(
            connect_s=settings.upstream_connect_timeout_s,
            idle_s=min(settings.upstream_idle_timeout_s, 60.0),
            read_s=min(settings.upstream_idle_timeout_s, 120.0),
        ),
        stt={
            "openai": OpenAISttAdapter(),
            "openai_compatible": _CompatStt(),
            "local": LocalWhisperAdapter(),
        },
        tts={
            "openai": OpenAITtsAdapter(),
            "openai_compatible": _CompatTts(),
            "piper": PiperTtsAdapter(),
            "espeak": EspeakTtsAdapter(),
        },
    )
    await runtime.start()
    return runtime

#!/usr/bin/env python3
"""Per-stage latency of the realtime voice pipeline, measured end to end.

Starts aihub (``aihub serve`` on a fresh SQLite data dir), the fake model
upstream (OpenAI chat wire) and the fake speech server (OpenAI STT/TTS wire)
from tests/fakes, makes a user with keys, then for each engine set streams a
recorded utterance (espeak-ng -> WAV -> 16 kHz PCM) over the WebSocket in real
time (20 ms frames, paced) and collects every turn's ``response.done``
metrics, plus barge-ins (the same utterance spoken while an answer plays).

    .venv/bin/python bench/voice_bench.py                  # fake, then local
    .venv/bin/python bench/voice_bench.py --engines fake --turns 20

Engine sets: ``fake`` (STT and TTS on the fake speech server, instant),
``local`` (faster-whisper tiny.en + Piper, the voice-local extra). The LLM is
always the fake upstream, answering at once, so the figures are the pipeline's
own plus the speech engines' time. Client-side, ``client_eos_to_audio_ms`` is
from the last speech frame sent to the first answer frame received.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fakes.speech import FakeSpeech  # noqa: E402
from tests.fakes.upstream import FakeUpstream, Reply  # noqa: E402

from aihub.providers.stt_base import from_wav, resample  # noqa: E402

UTTERANCE = "Please book a table for two people tomorrow at seven."
ANSWER = "Sure. Your table for two is booked for tomorrow at seven."
STORY = " ".join(f"This is sentence {n} of a long story." for n in range(1, 15))
FRAME = 640  # 20 ms of PCM16 at 16 kHz
STAGES = (
    "endpoint_ms",
    "stt_final_ms",
    "llm_first_token_ms",
    "tts_first_audio_ms",
    "response_ms",
    "overhead_ms",
    "client_eos_to_audio_ms",
    "barge_in_ms",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def utterance_pcm(workdir: Path) -> tuple[bytes, int]:
    """(PCM with 300 ms silence before and 1.5 s after, bytes of speech end)."""
    wav = workdir / "utterance.wav"
    binary = shutil.which("espeak-ng")
    if binary is None:
        sys.exit("espeak-ng is needed: apt-get install espeak-ng")
    subprocess.run([binary, "-w", str(wav), UTTERANCE], check=True)  # noqa: S603
    pcm = from_wav(wav.read_bytes())
    speech = resample(pcm.data, pcm.sample_rate, 16000)
    lead = bytes(16000 * 2 * 300 // 1000)
    return lead + speech + bytes(16000 * 2 * 1500 // 1000), len(lead) + len(speech)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class Server:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "AIHUB_DATA_DIR": str(workdir / "data"),
            "AIHUB_PORT": str(self.port),
            "AIHUB_LOG_LEVEL": "WARNING",
            "AIHUB_VOICE_PRELOAD_LOCAL": "true",
            "AIHUB_VOICE_TURNS_PER_MINUTE": "10000",
            "AIHUB_VOICE_SESSIONS_PER_MINUTE": "10000",
            # Every answer is the same text: the phrase cache would hide the TTS.
            "AIHUB_VOICE_TTS_CACHE_TTL_S": "0",
        }
        for name in ("AIHUB_DATABASE_URL", "AIHUB_REDIS_URL"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aihub", "serve"], env=env, cwd=ROOT
        )

    async def wait(self) -> None:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(self.url + "/health") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("aihub did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, token: str = ""
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(url, json=body, headers=headers) as resp:
        data = await resp.json()
        if resp.status >= 300:
            raise RuntimeError(f"{url}: {resp.status} {data}")
        return data


async def account(
    http: aiohttp.ClientSession, base: str, upstream: FakeUpstream, speech: FakeSpeech
) -> str:
    name = f"bench{time.time_ns()}"
    email = f"{name}@example.com"
    await post(
        http,
        base + "/api/users/",
        {"email": email, "username": name, "password": "bench-password-1"},
    )
    async with http.post(
        base + "/api/auth/token",
        data={"username": email, "password": "bench-password-1"},
    ) as r:
        token = str((await r.json())["access_token"])
    await post(
        http,
        base + "/api/api-keys/",
        {
            "provider": "openai",
            "api_key": "sk-bench-chat",
            "name": "chat",
            "base_url": upstream.base_url("openai"),
        },
        token,
    )
    await post(
        http,
        base + "/api/api-keys/",
        {
            "provider": "openai_compatible",
            "api_key": "sk-bench-speech",
            "name": "speech",
            "base_url": speech.base_url,
        },
        token,
    )
    return token


class Client:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.first_audio_at: float | None = None
        self.events: list[dict[str, Any]] = []
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                if self.first_audio_at is None:
                    self.first_audio_at = time.perf_counter()
                continue
            event = orjson.loads(message.data)
            self.events.append(event)
            for waiter in list(self._waiters):
                kind, turn, future = waiter
                if event["type"] == kind and turn in (None, event.get("turn_id")):
                    self._waiters.remove(waiter)
                    if not future.done():
                        future.set_result(event)

    def expect(
        self, kind: str, turn: str | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        past = [
            e
            for e in self.events
            if turn is not None and e["type"] == kind and e.get("turn_id") == turn
        ]
        if past:
            future.set_result(past[0])
        else:
            self._waiters.append((kind, turn, future))
        return future

    async def speak(self, pcm: bytes, speech_end: int) -> float:
        """Stream in real time; the time the last speech frame was sent."""
        start = time.perf_counter()
        ended = start
        for n, offset in enumerate(range(0, len(pcm), FRAME)):
            delay = start + n * 0.02 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.ws.send_bytes(pcm[offset : offset + FRAME])
            if offset < speech_end <= offset + FRAME:
                ended = time.perf_counter()
        return ended


async def run_engine(
    http: aiohttp.ClientSession,
    base: str,
    token: str,
    upstream: FakeUpstream,
    engine: str,
    turns: int,
    barge_ins: int,
    pcm: bytes,
    speech_end: int,
) -> list[dict[str, Any]]:
    speech_cfg = {
        "fake": (
            {"provider": "openai_compatible", "model": "whisper-1"},
            {"provider": "openai_compatible", "model": "tts-1"},
        ),
        "local": ({"provider": "local"}, {"provider": "piper"}),
    }[engine]
    created = await post(
        http,
        base + "/api/v1/session",
        {
            "language": "en",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "stt": speech_cfg[0],
            "tts": speech_cfg[1],
        },
        token,
    )
    rows: list[dict[str, Any]] = []
    ws = await http.ws_connect(created["ws_url"])
    client = Client(ws)
    try:
        for n in range(turns + barge_ins):
            barge = n >= turns
            replies = [Reply(text=STORY, chunks=24)] if barge else []
            upstream.script("sk-bench-chat", [*replies, Reply(text=ANSWER, chunks=6)])
            if barge:  # a long answer playing, then the user talks over it
                playing = client.expect("response.audio.start")
                await ws.send_str(
                    orjson.dumps(
                        {"type": "input_text", "text": "Tell me a story."}
                    ).decode()
                )
                old = await playing
                await asyncio.sleep(0.5)
            final = client.expect("transcript.final")
            client.first_audio_at = None
            eos = await client.speak(pcm, speech_end)
            turn_id = (await asyncio.wait_for(final, 30))["turn_id"]
            done_future = client.expect("response.done", turn_id)
            try:
                done = await asyncio.wait_for(done_future, 30)
            except TimeoutError:
                seen = [(e["type"], e.get("turn_id")) for e in client.events[-40:]]
                sys.exit(f"no response.done for {turn_id}: {seen}")
            row = dict(done["metrics"])
            if client.first_audio_at is not None:
                row["client_eos_to_audio_ms"] = (client.first_audio_at - eos) * 1000
            if barge:
                cut = [
                    e
                    for e in client.events
                    if e["type"] == "response.interrupted"
                    and e["turn_id"] == old["turn_id"]
                ]
                row["barge_in_ms"] = cut[-1]["barge_in_ms"] if cut else None
            rows.append(row)
    finally:
        await ws.close()
        client.reader.cancel()
    return rows


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "| stage (ms) | " + " | ".join(f"{e} p50 | {e} p90" for e in results) + " |",
        "| --- |" + " --- | --- |" * len(results),
    ]
    for stage in STAGES:
        cells = []
        for rows in results.values():
            values = [float(r[stage]) for r in rows if r.get(stage) is not None]
            for q in (0.5, 0.9):
                value = pct(values, q)
                cells.append("-" if value is None else f"{value:.0f}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    counts = ", ".join(f"{e}: {len(r)} turns" for e, r in results.items())
    return "\n".join(lines) + f"\n\n({counts})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="fake,local")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--barge-ins", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="aihub-voice-bench-"))
    pcm, speech_end = utterance_pcm(workdir)
    upstream, speech = FakeUpstream(), FakeSpeech()
    upstream.start()
    speech.start()
    speech.default_text = UTTERANCE
    server = Server(workdir)
    try:
        await server.wait()
        results: dict[str, list[dict[str, Any]]] = {}
        async with aiohttp.ClientSession() as http:
            token = await account(http, server.url, upstream, speech)
            for engine in args.engines.split(","):
                results[engine] = await run_engine(
                    http,
                    server.url,
                    token,
                    upstream,
                    engine,
                    args.turns,
                    args.barge_ins,
                    pcm,
                    speech_end,
                )
        print(table(results))  # noqa: T201 - the benchmark's output
    finally:
        server.stop()
        upstream.stop()
        speech.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Talk to aihub's realtime voice assistant from a WAV file (16 kHz mono PCM16).

    AIHUB_TOKEN=ahk-... python examples/voice_client.py question.wav [answer.wav]

Streams the file in real time, prints transcripts and the answer, writes its audio.
Env: AIHUB_URL (default http://127.0.0.1:8000); AIHUB_TOKEN (JWT or gateway key)
or AIHUB_EMAIL and AIHUB_PASSWORD; AIHUB_SESSION: JSON added to the session body.
"""

# ruff: noqa: T201 - printing is what this example does
from __future__ import annotations

import asyncio
import json
import os
import sys
import wave

import aiohttp

RATE = 16000
FRAME_BYTES = RATE * 2 * 20 // 1000  # 20 ms of PCM16 mono
WS = aiohttp.ClientWebSocketResponse
TURN_ENDS = ("response.done", "transcript.final", "error")


def read_pcm(path: str) -> bytes:
    with wave.open(path, "rb") as wav:
        if wav.getparams()[:3] != (1, 2, RATE):  # channels, sample width, rate
            sys.exit(f"{path}: need 16 kHz mono 16-bit PCM")
        return wav.readframes(wav.getnframes())


async def get_token(http: aiohttp.ClientSession, base: str) -> str:
    env = os.environ
    if token := env.get("AIHUB_TOKEN"):
        return token
    login = {"email": env["AIHUB_EMAIL"], "password": env["AIHUB_PASSWORD"]}
    async with http.post(f"{base}/api/auth/login", json=login) as resp:
        resp.raise_for_status()
        return str((await resp.json())["access_token"])


async def stream_audio(ws: WS, pcm: bytes, sent: asyncio.Event) -> None:
    pcm += bytes(RATE * 3)  # then 1.5 s of silence: the end of speech
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, offset in enumerate(range(0, len(pcm), FRAME_BYTES)):
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))  # real time
        await ws.send_bytes(pcm[offset : offset + FRAME_BYTES])
    await ws.send_json({"type": "input_audio.commit"})  # no-op if speech ended
    sent.set()


async def receive(ws: WS, audio: bytearray, sent: asyncio.Event) -> int:
    """Print events and collect answer audio until every turn is over."""
    rate, pending = RATE, set[str]()
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.BINARY:
            audio += msg.data
            continue
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        event = json.loads(msg.data)
        kind, turn = event["type"], event.get("turn_id")
        if kind == "ping":
            await ws.send_json({"type": "pong", "ts": event.get("ts")})
        elif kind == "input_audio.speech_stopped" and not event.get("discarded"):
            pending.add(turn)
        elif kind in ("transcript.partial", "transcript.final"):
            print(f"[{kind}] {event['text']!r}")
            if kind == "transcript.final" and not event["text"]:
                pending.discard(turn)  # nothing heard: no answer follows
        elif kind == "response.text.delta":
            print(event["delta"], end="", flush=True)
        elif kind == "response.audio.start":
            rate = int(event["sample_rate"])
        elif kind == "response.done":
            print(f"\n[done] {event['status']} ${event['cost']} {event['metrics']}")
            pending.discard(turn)
        elif kind == "error":
            print(f"[error] {event['error_type']}: {event['error_message']}")
            if event.get("stage") in ("stt", None):  # no response.done follows
                pending.discard(turn)
        elif kind != "pong":
            print(f"[{kind}]")
        if not pending and (kind in TURN_ENDS or sent.is_set()):
            break  # when nothing was heard at all: at the next ping
    return rate


async def main(wav_in: str, wav_out: str = "answer.wav") -> None:
    pcm = read_pcm(wav_in)
    base = os.environ.get("AIHUB_URL", "http://127.0.0.1:8000").rstrip("/")
    fmt = {"encoding": "pcm16", "sample_rate": RATE}
    body: dict[str, object] = {"language": "en", "audio_format": fmt}
    body.update(json.loads(os.environ.get("AIHUB_SESSION") or "{}"))
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {await get_token(http, base)}"}
        async with http.post(f"{base}/api/v1/session", json=body, headers=auth) as r:
            created = await r.json()
            if r.status != 201:
                sys.exit(f"POST /api/v1/session: {r.status} {created}")
        print(f"session {created['session_id']}, thread {created['thread_id']}")
        audio, sent = bytearray(), asyncio.Event()
        async with http.ws_connect(created["ws_url"]) as ws:
            sender = asyncio.create_task(stream_audio(ws, pcm, sent))
            rate = await asyncio.wait_for(receive(ws, audio, sent), timeout=120)
            await sender
            await ws.send_json({"type": "session.end"})
    with wave.open(wav_out, "wb") as out:
        out.setparams((1, 2, rate, 0, "NONE", "not compressed"))
        out.writeframes(bytes(audio))
    print(f"wrote {len(audio) / (rate * 2):.2f} s of answer audio to {wav_out}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: voice_client.py input.wav [output.wav]")
    asyncio.run(main(*sys.argv[1:]))

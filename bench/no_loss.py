"""The no-loss checker: N concurrent thread streams, then the database says
whether every answer is there, whole.

`run_streams` opens one ``POST /api/threads/{id}/stream`` per thread at once
and reads every SSE frame (arrival time and text of each delta); `stored_answers`
reads the assistant messages of those threads straight from the database;
`check` compares them with the text the upstream was told to stream. An answer
is *lost* when its thread has no assistant message (*refused* instead when the
client got an HTTP error for it: nothing was stored, and it was told), *truncated* when the stored
text is shorter than (a prefix of) the expected text, *wrong* when it differs
otherwise, *not complete* when its status is not ``complete``. The hub
benchmark (bench/hub_bench.py) uses it after every run and
tests/bench/test_no_loss.py runs it at 50 streams on both databases.

Standalone, against an aihub already serving with an upstream that streams a
fixed answer (the shared bench mock streams ``"tok " * chunks``):

    .venv/bin/python bench/no_loss.py --base-url http://127.0.0.1:8000 \\
        --database-url sqlite+aiosqlite:///data/aihub.db \\
        --mock-url http://127.0.0.1:18000/v1 --expected "$(printf 'tok %.0s' {1..16})"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import bindparam, text

from aihub.core.db import build_engine

COMPLETE = "complete"


@dataclass
class StreamResult:
    """What one client saw of one streamed answer."""

    thread_id: int
    sent_at: float
    assistant_id: int | None = None
    status: str | None = None
    """The `done` frame's status (None: no `done` frame arrived)."""
    text: str = ""
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    """(monotonic time, characters received so far) per `delta` frame."""
    done_at: float | None = None
    error: str | None = None


@dataclass
class NoLossReport:
    streams: int
    complete: int
    lost: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    truncated: list[int] = field(default_factory=list)
    wrong: list[int] = field(default_factory=list)
    not_complete: list[int] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.refused
            or self.truncated
            or self.wrong
            or self.not_complete
        )

    def summary(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "complete": self.complete,
            "lost": len(self.lost),
            "refused": len(self.refused),
            "truncated": len(self.truncated),
            "wrong": len(self.wrong),
            "not_complete": len(self.not_complete),
            "client_errors": len(self.client_errors),
            "error_samples": sorted(
                {e.split(": ", 1)[-1][:120] for e in self.client_errors}
            )[:3],
        }


def _frames(raw: bytes) -> list[tuple[int, str, str]]:
    """(end offset, event, data) of every SSE frame of `raw`."""
    out: list[tuple[int, str, str]] = []
    position = 0
    while True:
        end = raw.find(b"\n\n", position)
        if end < 0:
            return out
        event, data = "message", ""
        for line in raw[position:end].decode().split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        position = end + 2
        if data:
            out.append((position, event, data))


def _read_frames(
    result: StreamResult, raw: bytes, pieces: list[tuple[float, int]]
) -> None:
    """Fill `result` from the body, each delta timed by the read that completed
    it (the body is parsed after the stream so the client stays light)."""
    chunks: list[str] = []
    received, piece = 0, 0
    for end, event, data in _frames(raw):
        while pieces[piece][1] < end:
            piece += 1
        if event == "delta":
            delta = json.loads(data).get("content") or ""
            chunks.append(delta)
            received += len(delta)
            result.arrivals.append((pieces[piece][0], received))
        elif event == "start":
            result.assistant_id = json.loads(data)["assistant_message_id"]
        elif event == "done":
            result.status = json.loads(data)["status"]
            result.done_at = pieces[piece][0]
        elif event == "error":
            result.error = data[:200]
    result.text = "".join(chunks)


async def stream_one(
    http: aiohttp.ClientSession,
    base_url: str,
    headers: dict[str, str],
    thread_id: int,
    content: str,
    *,
    timeout_s: int = 600,
) -> StreamResult:
    """One message sent to a thread, its answer read to the end."""
    result = StreamResult(thread_id=thread_id, sent_at=time.monotonic())
    url = f"{base_url}/api/threads/{thread_id}/stream?timeout={timeout_s}"
    content = content.replace("{thread}", str(thread_id))
    raw = bytearray()
    pieces: list[tuple[float, int]] = []
    try:
        async with http.post(url, json={"content": content}, headers=headers) as resp:
            if resp.status != 200:
                result.error = f"HTTP {resp.status}: {(await resp.text())[:200]}"
                return result
            async for piece in resp.content.iter_any():
                raw += piece
                pieces.append((time.monotonic(), len(raw)))
    except (TimeoutError, aiohttp.ClientError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    body = bytes(raw)
    if b"\r\n" in body:  # not what aihub sends; timings then only approximate
        body = body.replace(b"\r\n", b"\n")
        pieces = [(t, min(n, len(body))) for t, n in pieces]
    if pieces:
        pieces[-1] = (pieces[-1][0], len(body))
        _read_frames(result, body, pieces)
    return result


async def run_streams(
    base_url: str,
    targets: Sequence[tuple[int, dict[str, str]]],
    *,
    content: str = "Tell me something.",
    timeout_s: int = 600,
) -> list[StreamResult]:
    """All of `targets` (thread id, auth headers) streamed at once; "{thread}"
    in `content` becomes each thread's id."""
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        return list(
            await asyncio.gather(
                *(
                    stream_one(http, base_url, h, t, content, timeout_s=timeout_s)
                    for t, h in targets
                )
            )
        )


async def stored_answers(
    database_url: str, thread_ids: Sequence[int]
) -> dict[int, list[tuple[int, str, str]]]:
    """Per thread: (id, status, content) of every assistant message, by id."""
    engine = build_engine(database_url)
    found: dict[int, list[tuple[int, str, str]]] = {t: [] for t in thread_ids}
    try:
        async with engine.connect() as conn:
            query = text(
                "SELECT thread_id, id, status, content FROM messages "
                "WHERE role = 'assistant' AND thread_id IN :ids ORDER BY id"
            ).bindparams(bindparam("ids", expanding=True))
            ids = list(thread_ids)
            for start in range(0, len(ids), 500):
                rows = await conn.execute(query, {"ids": ids[start : start + 500]})
                for thread_id, message_id, status, body in rows:
                    found[int(thread_id)].append((int(message_id), status, body))
    finally:
        await engine.dispose()
    return found


def check(
    results: Sequence[StreamResult],
    stored: dict[int, list[tuple[int, str, str]]],
    expected: str,
) -> NoLossReport:
    """Every thread's newest answer against `expected` (see the module doc)."""
    report = NoLossReport(streams=len(results), complete=0)
    for result in results:
        if result.error:
            report.client_errors.append(f"thread {result.thread_id}: {result.error}")
        answers = stored.get(result.thread_id) or []
        if not answers:
            if result.error and result.error.startswith("HTTP "):
                report.refused.append(result.thread_id)  # an error, nothing kept
            else:
                report.lost.append(result.thread_id)
            continue
        _, status, body = answers[-1]
        if body != expected:
            if expected.startswith(body):
                report.truncated.append(result.thread_id)
            else:
                report.wrong.append(result.thread_id)
        elif status != COMPLETE:
            report.not_complete.append(result.thread_id)
        else:
            report.complete += 1
    return report


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    async with http.request(method, url, json=body, headers=headers) as response:
        if response.status >= 300:
            detail = (await response.text())[:300]
            raise RuntimeError(f"{method} {url}: {response.status} {detail}")
        return await response.json()


async def provision(
    base_url: str, mock_url: str, threads: int, *, model: str = "gpt-4o-mini"
) -> tuple[dict[str, str], list[int]]:
    """A new user with the mock as its OpenAI key and `threads` empty threads."""
    name = f"noloss{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    async with aiohttp.ClientSession() as http:
        await _call(
            http,
            "POST",
            f"{base_url}/api/users/",
            {"email": f"{name}@example.com", "username": name, "password": password},
        )
        login = await _call(
            http,
            "POST",
            f"{base_url}/api/auth/login",
            {"email": f"{name}@example.com", "password": password},
        )
        headers = {"Authorization": f"Bearer {login['access_token']}"}
        await _call(
            http,
            "POST",
            f"{base_url}/api/api-keys/",
            {
                "provider": "openai",
                "api_key": "sk-no-loss-mock",
                "name": "mock",
                "base_url": mock_url,
            },
            headers,
        )
        ids = []
        for number in range(threads):
            thread = await _call(
                http,
                "POST",
                f"{base_url}/api/threads/",
                {"title": f"stream {number}", "provider": "openai", "model": model},
                headers,
            )
            ids.append(int(thread["id"]))
    return headers, ids


async def run_and_check(
    base_url: str,
    database_url: str,
    targets: Sequence[tuple[int, dict[str, str]]],
    expected: str,
) -> tuple[NoLossReport, list[StreamResult]]:
    results = await run_streams(base_url, targets)
    stored = await stored_answers(database_url, [t for t, _ in targets])
    return check(results, stored, expected), results


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--mock-url", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--streams", type=int, default=50)
    args = parser.parse_args()
    headers, ids = await provision(args.base_url, args.mock_url, args.streams)
    report, _ = await run_and_check(
        args.base_url, args.database_url, [(i, headers) for i in ids], args.expected
    )
    print(json.dumps(report.summary()))  # noqa: T201
    if not report.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(_main())

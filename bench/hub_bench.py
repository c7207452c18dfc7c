#!/usr/bin/env python3
"""Hub benchmark: the people path (thread streams, context, loading) of one aihub
process on one core, SQLite and PostgreSQL + Redis, and Open WebUI beside it.

Same harness style as `make bench` (../shared/bench): the shared mock upstream
and this load generator on CPU 0, the server under test alone on CPU 1
(`taskset`), one process, one worker, one run. Flows:

1. N concurrent streamed answers (default N = 10, 100, 500, 1000) of `--tokens`
   tokens at a fixed rate (`--chunk-delay-ms` between tokens): the delay the
   server adds between upstream chunk and client chunk (p50/p99), how far the
   stored text lags behind what the client has, CPU ms per stream, RSS, and
   lost / truncated answers checked from the database (bench/no_loss.py);
2. send-to-first-token overhead of a thread message at thread lengths 10, 100
   and 500 (TTFT minus the mock's own TTFT for the same messages, same run);
3. GET of a 500-message thread and of a thread-list page with search over
   5,000 threads;
4. the same flows against Open WebUI (PyPI `open-webui`, installed by this
   script into /tmp/bench-venvs/open-webui), pointed at the same mocks.

    .venv/bin/python bench/hub_bench.py                 # everything (~10 min)
    .venv/bin/python bench/hub_bench.py --quick         # small levels (~3 min)
    .venv/bin/python bench/hub_bench.py --dbs sqlite --no-openwebui

Results: bench/hub-results/<stamp>.json (+ latest.json) and a markdown table on
stdout; bench/hub_chart.py draws the chart. Added delay: the mock paces its
chunks `--chunk-delay-ms` apart, so chunk k of a stream is due at
anchor + k * delay; its lateness is its arrival minus that, the anchor being
the stream's least-late chunk. The same figure for the mock read directly at
the same concurrency (`direct`) is the floor of the measurement (mock and
client jitter); `added` = server minus direct, per percentile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aihub.core.db import build_engine  # noqa: E402
from aihub.threads.models import Message, Thread  # noqa: E402
from bench.no_loss import (  # noqa: E402
    StreamResult,
    check,
    run_streams,
    stored_answers,
)

ROOT = Path(__file__).resolve().parent.parent
_BENCH_DIRS = [
    Path(os.environ.get("BENCH_DIR", ROOT.parent / "shared" / "bench")),
    ROOT.parent / "shared" / "bench",
    ROOT.parent.parent / "shared" / "bench",  # from a git worktree
]
BENCH_DIR = next(
    (p for p in _BENCH_DIRS if (p / "mock_upstream.py").exists()), _BENCH_DIRS[0]
)
RESULTS = ROOT / "bench" / "hub-results"
TASKSET = shutil.which("taskset")
VENVS = Path(os.environ.get("BENCH_VENVS", "/tmp/bench-venvs"))
OWUI_VENV = VENVS / "open-webui"
OWUI_VERSION = os.environ.get("OPEN_WEBUI_VERSION", "0.12.4")
STREAM_MOCK_PORT, FAST_MOCK_PORT, AIHUB_PORT, OWUI_PORT = 18040, 18041, 4140, 18042
MODEL = "gpt-4o-mini"
TOKEN = "tok "  # what the shared mock streams, once per chunk
SEARCH_WORD = "seasonality"
LIST_THREADS = 5000


def log(message: str) -> None:
    print(f"[hub-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)  # noqa: T201


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return [TASKSET, "-c", str(cpu), *argv] if TASKSET else argv


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mib(pid: int) -> float:
    """RSS of a process and its children (Open WebUI may spawn helpers)."""
    total = rss_mib(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            try:
                total += tree_rss_mib(int(child))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def spawn(argv: list[str], env: dict[str, str], cwd: Path, logfile: Path) -> Any:
    with logfile.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        return subprocess.Popen(  # noqa: S603 - our own fixed command lines
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


async def wait_http(url: str, process: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited ({process.returncode})")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {within:.0f} s")


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


# -- the measurements shared by every server ---------------------------------------


def added_delays(
    results: Sequence[StreamResult], keys: Sequence[str], times: dict[str, list[float]]
) -> list[float]:
    """Per delta frame: its arrival at the client minus the mock's write of the
    last token it carries (bench/timed_mock.py)."""
    out: list[float] = []
    for result, key in zip(results, keys, strict=True):
        stamps = times.get(key) or []
        for at, chars in result.arrivals:
            index = chars // len(TOKEN) - 1
            if 0 <= index < len(stamps):
                out.append(at - stamps[index])
    return out


async def mock_times() -> dict[str, list[float]]:
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{STREAM_MOCK_PORT}/mock/times"
        async with http.get(url) as response:
            times: dict[str, list[float]] = await response.json(content_type=None)
            return times


async def direct_streams(
    mock_url: str, count: int, messages: list[dict[str, str]], key: str = ""
) -> list[StreamResult]:
    """`count` streams read straight from the mock: the measurement's floor.
    With `key`, the last message is made unique per stream ("{key} {n}")."""

    async def one(http: aiohttp.ClientSession, n: int) -> StreamResult:
        last = [{"role": "user", "content": f"{key} {n}"}] if key else []
        body = {"model": MODEL, "stream": True, "messages": messages + last}
        result = StreamResult(thread_id=0, sent_at=time.monotonic())
        received = 0
        async with http.post(f"{mock_url}/chat/completions", json=body) as response:
            buffer = b""
            async for piece in response.content.iter_any():
                now = time.monotonic()
                buffer += piece
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    if b'"content"' in frame:
                        data = json.loads(frame[6:])
                        delta = data["choices"][0]["delta"].get("content") or ""
                        if delta:
                            received += len(delta)
                            result.arrivals.append((now, received))
        return result

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        return list(await asyncio.gather(*(one(http, n) for n in range(count))))


class Sampler:
    """RSS of the server (and optionally a database probe) every `every` s."""

    def __init__(
        self,
        pid: int,
        probe: Callable[[], Awaitable[None]] | None = None,
        every: float = 0.5,
    ) -> None:
        self.pid, self.probe, self.every = pid, probe, every
        self.rss: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.rss.append(tree_rss_mib(self.pid))
            if self.probe is not None:
                await self.probe()
            await asyncio.sleep(self.every)

    def __enter__(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


# -- aihub ------------------------------------------------------------------------


class Aihub:
    """One `aihub serve` on CPU 1 with its own data dir and database."""

    def __init__(self, db: str, args: argparse.Namespace, workdir: Path) -> None:
        self.db, self.args = db, args
        self.base = f"http://127.0.0.1:{AIHUB_PORT}"
        self.data = workdir / f"aihub-{db}"
        self.data.mkdir(parents=True, exist_ok=True)
        if db == "sqlite":
            self.database_url = f"sqlite+aiosqlite:///{self.data / 'aihub.db'}"
            self.redis_url: str | None = None
        else:
            self.database_url = args.pg_url
            self.redis_url = args.redis_url
        self.process: subprocess.Popen[bytes] | None = None
        self.pid = 0

    async def reset(self) -> None:
        if self.db == "sqlite":
            return
        base, _, name = self.database_url.rpartition("/")
        import asyncpg

        dsn = base.replace("postgresql+asyncpg", "postgresql") + "/postgres"
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        import redis.asyncio as redis_asyncio

        client = redis_asyncio.from_url(self.redis_url or "")
        await client.flushdb()
        await client.aclose()

    async def start(self) -> None:
        await self.reset()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
        env.update(
            AIHUB_DATA_DIR=str(self.data),
            AIHUB_DATABASE_URL=self.database_url,
            AIHUB_LOG_LEVEL="WARNING",
            AIHUB_SECRET_KEY="hub-bench-secret-key-not-for-production-0123456789",
            AIHUB_OUTBOUND_ALLOW="127.0.0.1",
        )
        if self.redis_url:
            env["AIHUB_REDIS_URL"] = self.redis_url
        argv = [
            str(ROOT / ".venv" / "bin" / "aihub"), "serve", "--host", "127.0.0.1",
            "--port", str(AIHUB_PORT), "--workers", "1",
        ]  # fmt: skip
        self.process = spawn(pinned(1, argv), env, self.data, self.data / "serve.log")
        await wait_http(f"{self.base}/health", self.process, 120)
        self.pid = self.process.pid
        log(f"aihub ({self.db}) up, RSS {rss_mib(self.pid):.0f} MiB")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    async def account(
        self, http: aiohttp.ClientSession, mock_url: str
    ) -> dict[str, str]:
        name = f"hb{uuid.uuid4().hex[:8]}"
        password = "hub-bench-password-123"
        user = {"email": f"{name}@example.com", "username": name, "password": password}
        await call(http, "POST", f"{self.base}/api/users/", user)
        login = await call(
            http, "POST", f"{self.base}/api/auth/login",
            {"email": user["email"], "password": password},
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {login['access_token']}"}
        key = {"provider": "openai", "api_key": "sk-mock", "name": "mock",
               "base_url": mock_url}  # fmt: skip
        await call(http, "POST", f"{self.base}/api/api-keys/", key, headers)
        return headers

    async def threads(
        self, http: aiohttp.ClientSession, headers: dict[str, str], count: int
    ) -> list[int]:
        gate = asyncio.Semaphore(8)

        async def one(number: int) -> int:
            async with gate:
                body = {"title": f"t{number}", "provider": "openai", "model": MODEL}
                thread = await call(
                    http, "POST", f"{self.base}/api/threads/", body, headers
                )
                return int(thread["id"])

        return list(await asyncio.gather(*(one(n) for n in range(count))))

    async def seed_messages(
        self,
        http: aiohttp.ClientSession,
        headers: dict[str, str],
        thread_id: int,
        count: int,
    ) -> None:
        for number in range(count):
            role = "user" if number % 2 == 0 else "assistant"
            body = {"role": role, "content": filler(number)}
            url = f"{self.base}/api/threads/{thread_id}/messages"
            await call(http, "POST", url, body, headers)


def filler(number: int) -> str:
    return (
        f"Message {number}: a paragraph of ordinary chat text about forecasting, "
        "trends and the data behind them, long enough to look like a real turn in "
        "a conversation between a person and a model."
    )


async def call(
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
        return await response.json(content_type=None)


async def timed_get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], reps: int
) -> dict[str, Any]:
    times, size = [], 0
    for _ in range(reps):
        started = time.perf_counter()
        async with http.get(url, headers=headers) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {url}: {response.status} {body[:200]!r}")
        times.append(time.perf_counter() - started)
        size = len(body)
    return {"p50_ms": ms(pct(times, 50)), "p99_ms": ms(pct(times, 99)), "bytes": size}


async def stored_lag_probe(
    database_url: str, samples: list[tuple[float, dict[int, int]]]
) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """A probe reading how much text every streaming answer has stored."""
    engine = build_engine(database_url)
    query = text(
        "SELECT id, length(content) FROM messages "
        "WHERE role = 'assistant' AND status = 'streaming'"
    )

    async def probe() -> None:
        started = time.monotonic()
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        at = (started + time.monotonic()) / 2
        samples.append((at, {int(i): int(n or 0) for i, n in rows}))

    async def close() -> None:
        await engine.dispose()

    return probe, close


def stored_lags(
    results: Sequence[StreamResult], samples: list[tuple[float, dict[int, int]]]
) -> list[float]:
    """Per sample and streaming answer: how old the oldest text the client had
    but the database did not was (0 when the database had all of it)."""
    by_id = {r.assistant_id: r for r in results if r.assistant_id is not None}
    lags: list[float] = []
    for at, stored in samples:
        for message_id, length in stored.items():
            result = by_id.get(message_id)
            if result is None:
                continue
            first_unstored = next(
                (t for t, chars in result.arrivals if chars > length), None
            )
            if first_unstored is None or first_unstored > at:
                lags.append(0.0)
            else:
                lags.append(at - first_unstored)
    return lags


async def aihub_concurrency(
    hub: Aihub, args: argparse.Namespace, headers: dict[str, str], level: int
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        ids = await hub.threads(http, headers, level)
    samples: list[tuple[float, dict[int, int]]] = []
    probe, close = await stored_lag_probe(hub.database_url, samples)
    cpu_before, started = cpu_seconds(hub.pid), time.monotonic()
    with Sampler(hub.pid, probe) as sampler:
        results = await run_streams(
            hub.base, [(i, headers) for i in ids], content="Stream {thread}."
        )
    wall, cpu = time.monotonic() - started, cpu_seconds(hub.pid) - cpu_before
    await close()
    stored = await stored_answers(hub.database_url, ids)
    report = check(results, stored, TOKEN * args.tokens)
    late = added_delays(results, [f"Stream {i}." for i in ids], await mock_times())
    ttft = [r.arrivals[0][0] - r.sent_at for r in results if r.arrivals]
    lags = stored_lags(results, samples)
    return {
        "streams": level,
        "wall_s": round(wall, 2),
        "late_p50_ms": ms(pct(late, 50)),
        "late_p99_ms": ms(pct(late, 99)),
        "ttft_p50_ms": ms(pct(ttft, 50)),
        "ttft_p99_ms": ms(pct(ttft, 99)),
        "stored_lag_p50_ms": ms(pct(lags, 50)),
        "stored_lag_p99_ms": ms(pct(lags, 99)),
        "stored_lag_max_ms": ms(max(lags) if lags else None),
        "cpu_ms_per_stream": round(cpu * 1000 / level, 2),
        "cpu_share": round(cpu / wall, 3),
        "rss_peak_mib": round(max(sampler.rss or [0.0]), 1),
        "rss_after_mib": round(rss_mib(hub.pid), 1),
        "no_loss": report.summary(),
        "load_avg": load_average(),
    }


async def direct_level(
    args: argparse.Namespace, level: int, mock_url: str
) -> dict[str, Any]:
    await mock_times()  # forget earlier streams
    key = f"direct {level}"
    results = await direct_streams(mock_url, level, [], key)
    keys = [f"{key} {n}" for n in range(level)]
    late = added_delays(results, keys, await mock_times())
    ttft = [r.arrivals[0][0] - r.sent_at for r in results if r.arrivals]
    whole = sum(
        1
        for r in results
        if r.arrivals and r.arrivals[-1][1] == len(TOKEN) * args.tokens
    )  # noqa: E501
    return {
        "streams": level,
        "late_p50_ms": ms(pct(late, 50)),
        "late_p99_ms": ms(pct(late, 99)),
        "ttft_p50_ms": ms(pct(ttft, 50)),
        "whole": whole,
        "load_avg": load_average(),
    }


async def direct_ttft(
    mock_url: str, messages: list[dict[str, str]], reps: int
) -> list[float]:  # noqa: E501
    out = []
    for _ in range(reps):
        (result,) = await direct_streams(mock_url, 1, messages)
        if result.arrivals:
            out.append(result.arrivals[0][0] - result.sent_at)
    return out


def history(length: int) -> list[dict[str, str]]:
    return [
        {"role": "user" if n % 2 == 0 else "assistant", "content": filler(n)}
        for n in range(length)
    ] + [{"role": "user", "content": "One more question."}]


async def aihub_first_token(
    hub: Aihub, args: argparse.Namespace, headers: dict[str, str]
) -> list[dict[str, Any]]:
    rows = []
    async with aiohttp.ClientSession() as http:
        for length in args.lengths:
            (thread_id,) = await hub.threads(http, headers, 1)
            await hub.seed_messages(http, headers, thread_id, length)
            times = []
            for _ in range(args.reps):
                results = await run_streams(
                    hub.base, [(thread_id, headers)], content="One more question."
                )
                if results[0].arrivals:
                    times.append(results[0].arrivals[0][0] - results[0].sent_at)
            base = await direct_ttft(fast_mock_url(), history(length), args.reps)
            rows.append(first_token_row(length, times, base))
    return rows


def first_token_row(
    length: int, times: list[float], base: list[float]
) -> dict[str, Any]:
    p50, base50 = pct(times, 50), pct(base, 50)
    return {
        "messages": length,
        "ttft_p50_ms": ms(p50),
        "ttft_p99_ms": ms(pct(times, 99)),
        "direct_ttft_p50_ms": ms(base50),
        "overhead_p50_ms": ms(p50 - base50) if p50 and base50 else None,
        "samples": len(times),
        "load_avg": load_average(),
    }


async def seed_thread_list(hub: Aihub, headers: dict[str, str]) -> None:
    """5,000 threads of two messages each, straight into the database (the
    figure measured is the read; one thread in 50 mentions SEARCH_WORD)."""
    async with aiohttp.ClientSession() as http:
        me = await call(http, "GET", f"{hub.base}/api/users/me", None, headers)
    engine = build_engine(hub.database_url)
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        async with engine.begin() as conn:
            for start in range(0, LIST_THREADS, 500):
                numbers = range(start, min(LIST_THREADS, start + 500))
                ids = (
                    (
                        await conn.execute(
                            insert(Thread).returning(Thread.id),
                            [
                                {
                                    "user_id": me["id"],
                                    "title": f"Thread {n}",
                                    "provider": "openai",
                                    "model": MODEL,
                                    "message_count": 2,
                                    "last_message_at": now - timedelta(minutes=n),
                                    "created_at": now - timedelta(minutes=n),
                                    "updated_at": now - timedelta(minutes=n),
                                }
                                for n in numbers
                            ],
                        )
                    )
                    .scalars()
                    .all()
                )
                rows = []
                for n, thread_id in zip(numbers, ids, strict=True):
                    word = SEARCH_WORD if n % 50 == 0 else "trend"
                    rows.append({"thread_id": thread_id, "role": "user",
                                 "content": f"How do I find the {word} here? {n}"})  # fmt: skip
                    rows.append({"thread_id": thread_id, "role": "assistant",
                                 "content": filler(n)})  # fmt: skip
                await conn.execute(insert(Message), rows)
            await conn.execute(
                update(Thread)
                .where(Thread.user_id == me["id"])
                .values(active_message_id=text(
                    "(SELECT max(id) FROM messages WHERE thread_id = threads.id)"
                ))
            )  # fmt: skip
    finally:
        await engine.dispose()


async def aihub_loading(
    hub: Aihub, args: argparse.Namespace, headers: dict[str, str]
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        (thread_id,) = await hub.threads(http, headers, 1)
        await hub.seed_messages(http, headers, thread_id, 500)
        thread = await timed_get(
            http, f"{hub.base}/api/threads/{thread_id}", headers, args.reps
        )
        list_headers = await hub.account(http, fast_mock_url())
        await seed_thread_list(hub, list_headers)
        search = await timed_get(
            http,
            f"{hub.base}/api/threads/?search={SEARCH_WORD}&is_archived=false",
            list_headers,
            args.reps,
        )
        page = await timed_get(
            http, f"{hub.base}/api/threads/?is_archived=false", list_headers, args.reps
        )
    return {
        "thread_500": thread,
        "list_search_5000": search,
        "list_page_5000": page,
        "load_avg": load_average(),
    }


def stream_mock_url() -> str:
    return f"http://127.0.0.1:{STREAM_MOCK_PORT}/v1"


def fast_mock_url() -> str:
    return f"http://127.0.0.1:{FAST_MOCK_PORT}/v1"


async def run_aihub(args: argparse.Namespace, workdir: Path, db: str) -> dict[str, Any]:
    hub = Aihub(db, args, workdir)
    out: dict[str, Any] = {"db": db, "concurrency": []}
    try:
        await hub.start()
        out["rss_start_mib"] = round(rss_mib(hub.pid), 1)
        async with aiohttp.ClientSession() as http:
            stream_headers = await hub.account(http, stream_mock_url())
            fast_headers = await hub.account(http, fast_mock_url())
        for level in args.levels:
            log(f"aihub {db}: {level} concurrent streams")
            row = await aihub_concurrency(hub, args, stream_headers, level)
            log(f"  {json.dumps(row)}")
            out["concurrency"].append(row)
        log(f"aihub {db}: send-to-first-token")
        out["first_token"] = await aihub_first_token(hub, args, fast_headers)
        log(f"  {json.dumps(out['first_token'])}")
        log(f"aihub {db}: loading")
        out["loading"] = await aihub_loading(hub, args, fast_headers)
        log(f"  {json.dumps(out['loading'])}")
        out["rss_end_mib"] = round(rss_mib(hub.pid), 1)
    except Exception as exc:  # keep what was measured, say what failed
        out["error"] = f"{type(exc).__name__}: {exc}"
        log(f"aihub {db} failed: {out['error']}")
    finally:
        hub.stop()
    return out


# -- main -------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="levels 10,100; 5 reps")
    parser.add_argument("--levels", default="10,100,500,1000")
    parser.add_argument("--lengths", default="10,100,500")
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--chunk-delay-ms", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--dbs", default="sqlite,postgres")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "HUB_BENCH_PG_URL",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/aihub_hub_bench",
        ),
        help="a database this run may DROP and CREATE",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="a Redis db this run may FLUSHDB",
    )
    parser.add_argument("--no-openwebui", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.levels, args.reps = "10,100", 5
    args.levels = [int(v) for v in str(args.levels).split(",") if v.strip()]
    args.lengths = [int(v) for v in str(args.lengths).split(",") if v]
    args.dbs = [v for v in str(args.dbs).split(",") if v]
    return args


def start_mocks(args: argparse.Namespace, workdir: Path) -> list[Any]:
    mock = str(BENCH_DIR / "mock_upstream.py")
    env = dict(os.environ)
    env["BENCH_DIR"] = str(BENCH_DIR)
    stream = [sys.executable, str(ROOT / "bench" / "timed_mock.py"), "--port", str(STREAM_MOCK_PORT),
              "--chunks", str(args.tokens), "--chunk-delay-ms", str(args.chunk_delay_ms)]  # fmt: skip
    fast = [sys.executable, mock, "--port", str(FAST_MOCK_PORT), "--chunks", "16"]
    return [
        spawn(pinned(0, stream), env, workdir, workdir / "mock-stream.log"),
        spawn(pinned(0, fast), env, workdir, workdir / "mock-fast.log"),
    ]


async def main() -> None:
    args = parse_args()
    if hasattr(os, "sched_setaffinity") and TASKSET:
        os.sched_setaffinity(0, {0})  # the load generator sits next to the mock
    workdir = Path(tempfile.mkdtemp(prefix="aihub-hub-bench-"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results: dict[str, Any] = {
        "stamp": stamp,
        "settings": {
            "levels": args.levels,
            "lengths": args.lengths,
            "tokens": args.tokens,
            "chunk_delay_ms": args.chunk_delay_ms,
            "reps": args.reps,
            "dbs": args.dbs,
            "cpus": os.cpu_count(),
            "pinned": bool(TASKSET),
        },  # fmt: skip
        "load_avg_start": load_average(),
        "direct": [],
        "aihub": [],
    }
    mocks = start_mocks(args, workdir)
    try:
        for mock, url in zip(mocks, (stream_mock_url(), fast_mock_url()), strict=True):
            await wait_http(url.removesuffix("/v1") + "/health", mock, 30)
        for level in args.levels:
            log(f"direct: {level} concurrent streams from the mock")
            results["direct"].append(await direct_level(args, level, stream_mock_url()))
            log(f"  {json.dumps(results['direct'][-1])}")
        for db in args.dbs:
            results["aihub"].append(await run_aihub(args, workdir, db))
            save(results, args.out, stamp)
        if not args.no_openwebui:
            from bench.hub_openwebui import run_openwebui

            results["openwebui"] = {}
            await run_openwebui(
                args, workdir, results["openwebui"], save_to=(args.out, stamp, results)
            )
        results["load_avg_end"] = load_average()
        save(results, args.out, stamp)
        print(markdown(results))  # noqa: T201
    finally:
        for mock in mocks:
            stop(mock)
        if os.environ.get("HUB_BENCH_KEEP"):
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def save(results: dict[str, Any], out: Path | None, stamp: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = out or RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))


def markdown(results: dict[str, Any]) -> str:
    from bench.hub_report import render

    return render(results)


if __name__ == "__main__":
    asyncio.run(main())

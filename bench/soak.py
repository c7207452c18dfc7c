#!/usr/bin/env python3
"""Soak: aihub's resident memory over many gateway calls, and its GC pauses.

Starts the shared bench's mock upstream (CPU 0) and ``aihub serve`` (CPU 1) on
a fresh SQLite data dir, provisions it with bench/provision_aihub.py, then
keeps ``--concurrency`` clients busy for ``--requests`` calls to
/v1/chat/completions: non-streaming, streaming to the end, and streaming with
the client hanging up after the first chunk. Prints aihub's RSS every
``--every`` calls and, at the end, the garbage-collector pauses from /metrics.

    .venv/bin/python bench/soak.py                        # 200k calls
    .venv/bin/python bench/soak.py --requests 20000 --every 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
_BENCH_DIRS = [
    Path(os.environ.get("BENCH_DIR", ROOT.parent / "shared" / "bench")),
    ROOT.parent / "shared" / "bench",
    ROOT.parent.parent / "shared" / "bench",  # from a git worktree
]
BENCH_DIR = next(
    (p for p in _BENCH_DIRS if (p / "mock_upstream.py").exists()), _BENCH_DIRS[0]
)
MOCK_PORT, AIHUB_PORT = 18010, 4110
TASKSET = shutil.which("taskset") or "/usr/bin/taskset"
BASE = f"http://127.0.0.1:{AIHUB_PORT}"


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def start(workdir: Path) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    mock = subprocess.Popen(  # noqa: S603 - our own fixed command line
        [
            TASKSET, "-c", "0", sys.executable,
            str(BENCH_DIR / "mock_upstream.py"), "--port", str(MOCK_PORT),
            "--chunks", "16", "--chunk-delay-ms", "2",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {
        **os.environ,
        "AIHUB_DATA_DIR": str(workdir),
        "AIHUB_LOG_LEVEL": "WARNING",
        "AIHUB_SECRET_KEY": "soak-secret-key-not-for-production-use-0123456789",
        "AIHUB_OUTBOUND_ALLOW": "127.0.0.1",  # the mock upstream is on loopback
    }
    for name in ("AIHUB_DATABASE_URL", "AIHUB_REDIS_URL"):
        env.pop(name, None)
    aihub = subprocess.Popen(  # noqa: S603
        [
            TASKSET, "-c", "1", str(ROOT / ".venv" / "bin" / "aihub"), "serve",
            "--host", "127.0.0.1", "--port", str(AIHUB_PORT), "--workers", "1",
        ],
        env=env, cwd=workdir,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return mock, aihub


async def wait_ready(http: aiohttp.ClientSession) -> None:
    for _ in range(1200):
        try:
            async with http.get(BASE + "/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("aihub did not start")


def provision() -> str:
    env = {
        **os.environ,
        "BENCH_BASE_URL": BASE + "/v1",
        "BENCH_MOCK_URL": f"http://127.0.0.1:{MOCK_PORT}/v1",
    }
    out = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "bench" / "provision_aihub.py")],
        env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"provisioning failed: {out.stderr[-500:]}")
    return out.stdout.strip().splitlines()[-1]


class Load:
    def __init__(self, auth: str, total: int, every: int, pid: int) -> None:
        self.headers = {"Authorization": auth, "Content-Type": "application/json"}
        self.total, self.every, self.pid = total, every, pid
        self.sent = self.errors = 0
        self.kinds = {"plain": 0, "stream": 0, "hang_up": 0}
        self.samples: list[tuple[int, float]] = []
        self.started = time.perf_counter()

    def body(self, stream: bool) -> bytes:
        return orjson.dumps(
            {
                "model": "gpt-4o-mini",
                "stream": stream,
                "messages": [{"role": "user", "content": "hello soak"}],
            }
        )

    async def one(self, http: aiohttp.ClientSession, kind: str) -> None:
        url = BASE + "/v1/chat/completions"
        data = self.body(kind != "plain")
        async with http.post(url, data=data, headers=self.headers) as response:
            if response.status != 200:
                self.errors += 1
            if kind == "hang_up":
                await response.content.readany()
                response.close()  # the client goes away mid-stream
                return
            await response.read()

    async def worker(self, http: aiohttp.ClientSession) -> None:
        rng = random.Random()  # noqa: S311 - a load mix, not a secret
        while self.sent < self.total:
            self.sent += 1
            number = self.sent
            roll = rng.random()
            kind = "plain" if roll < 0.7 else "stream" if roll < 0.95 else "hang_up"
            self.kinds[kind] += 1
            try:
                await self.one(http, kind)
            except aiohttp.ClientError:
                self.errors += 1
            if number % self.every == 0:
                self.sample(number)

    def sample(self, number: int = 0) -> None:
        rss = rss_mib(self.pid)
        self.samples.append((number, rss))
        rate = number / (time.perf_counter() - self.started)
        print(f"{number:>8} calls  RSS {rss:7.1f} MiB  {rate:6.0f} calls/s")  # noqa: T201


async def gc_pauses(http: aiohttp.ClientSession) -> str:
    async with http.get(BASE + "/metrics") as response:
        text = await response.text()
    longest = re.search(r"^aihub_gc_pause_max_seconds (\S+)", text, re.M)
    counts = {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r'^aihub_gc_pause_seconds_count\{generation="(\d)"\} (\S+)', text, re.M
        )
    }
    over = 0.0
    for m in re.finditer(
        r'^aihub_gc_pause_seconds_bucket\{generation="\d",le="0.02"\} (\S+)', text, re.M
    ):
        over -= float(m.group(1))
    over += sum(counts.values())
    worst = float(longest.group(1)) * 1000 if longest else float("nan")
    return (
        f"GC collections by generation {counts}; longest pause {worst:.1f} ms; "
        f"pauses over 20 ms: {over:.0f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--every", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="aihub-soak-"))
    mock, aihub = start(workdir)
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as http:
            await wait_ready(http)
            auth = provision()
            load = Load(auth, args.requests, args.every, aihub.pid)
            load.sample()
            await asyncio.gather(*(load.worker(http) for _ in range(args.concurrency)))
            summary = await gc_pauses(http)
        first = next((rss for n, rss in load.samples if n >= args.every * 2), None)
        last = load.samples[-1][1]
        print(f"mix {load.kinds}, errors {load.errors}")  # noqa: T201
        if first is not None:
            print(f"RSS after warm-up {first:.1f} MiB -> end {last:.1f} MiB")  # noqa: T201
        print(summary)  # noqa: T201
    finally:
        for proc in (aihub, mock):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())

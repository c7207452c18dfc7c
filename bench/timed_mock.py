#!/usr/bin/env python3
"""The shared bench's mock upstream (../shared/bench/mock_upstream.py), unchanged
on the wire, that also notes when it wrote each content chunk of a stream.

Each streamed chat answer is keyed by the text of the request's last message
(the hub benchmark makes it unique per stream); the write time of every content
chunk (``time.monotonic()``: CLOCK_MONOTONIC, the same clock in every process
of the machine) is kept. ``GET /mock/times`` answers them all as JSON
``{key: [t0, t1, ...]}`` and forgets them. The hub benchmark subtracts these
from the client's arrival times: the delay the server in between added to
each chunk, whatever the mock's own pacing drift.

    python bench/timed_mock.py --port 18040 --chunks 500 --chunk-delay-ms 20
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(os.environ["BENCH_DIR"])
_spec = importlib.util.spec_from_file_location(
    "mock_upstream", BENCH_DIR / "mock_upstream.py"
)
assert _spec is not None and _spec.loader is not None
mock: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mock)

TIMES: dict[str, list[float]] = {}


class TimedProtocol(mock.MockProtocol):  # type: ignore[misc]
    """No __slots__: each connection keeps the key of its current stream."""

    def _handle(
        self, method: bytes, target: bytes, body: bytes, keep_alive: bool
    ) -> None:  # noqa: E501
        path = target.split(b"?", 1)[0]
        if method == b"GET" and path == b"/mock/times":
            out = json.dumps(TIMES).encode()
            TIMES.clear()
            self._send(mock._response(b"200 OK", out, close=not keep_alive), keep_alive)
            return
        self.key = None
        if method == b"POST" and path.endswith(b"/chat/completions") and body:
            try:
                messages = json.loads(body).get("messages") or [{}]
                content = messages[-1].get("content")
                self.key = content if isinstance(content, str) else None
            except ValueError:
                pass
        super()._handle(method, target, body, keep_alive)

    async def _stream(
        self, head: bytes, content: list, tail: bytes, keep_alive: bool
    ) -> None:  # noqa: E501
        stamps: list[float] = []
        if self.key is not None:
            TIMES[self.key] = stamps
        try:
            w = self.transport.write
            w(mock.SSE_HEAD + head + (content[0] if content else b""))
            stamps.append(time.monotonic())
            for frame in content[1:]:
                if mock.CFG.chunk_delay > 0:
                    await asyncio.sleep(mock.CFG.chunk_delay)
                if self.closed:
                    return
                w(frame)
                stamps.append(time.monotonic())
            if self.closed:
                return
            w(tail)
            if not keep_alive:
                self.transport.close()
                self.closed = True
        finally:
            self.busy = False
            if self.buf and not self.closed:
                self._process()


mock.MockProtocol = TimedProtocol

if __name__ == "__main__":
    if "--latency-ms" in sys.argv:
        raise SystemExit("timed_mock: --latency-ms is not supported")
    sys.exit(mock.main())

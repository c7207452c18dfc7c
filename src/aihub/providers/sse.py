"""Server-sent events read from an upstream reply, as bytes (no str decoding).

Lines are split on ``b"\\n"`` (a trailing ``\\r`` dropped), ``data:`` lines of one
event are joined, an event ends at a blank line (or at the end of the body);
comments, ``id:`` and ``retry:`` are skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from aihub.providers.errors import UpstreamUnavailable

MAX_EVENT_BYTES = 16 * 1024 * 1024
DONE = b"[DONE]"


class _Event:
    __slots__ = ("data", "name")

    def __init__(self) -> None:
        self.name = b""
        self.data: list[bytes] = []

    def feed(self, line: bytes) -> tuple[bytes, bytes] | None:
        """Take one line; the finished (event, data) at a blank line."""
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            if not self.data:
                self.name = b""
                return None
            done = (
                self.name,
                self.data[0] if len(self.data) == 1 else b"\n".join(self.data),
            )
            self.name, self.data = b"", []
            return done
        if line.startswith(b"data:"):
            value = line[5:]
            self.data.append(value[1:] if value.startswith(b" ") else value)
        elif line.startswith(b"event:"):
            self.name = line[6:].strip()
        return None


async def iter_sse(content: aiohttp.StreamReader) -> AsyncIterator[tuple[bytes, bytes]]:
    """(event name or b"", data) for each event of the body."""
    event = _Event()
    pending = b""
    async for chunk in content.iter_any():
        buffer = pending + chunk if pending else chunk
        lines = buffer.split(b"\n")
        pending = lines.pop()
        if len(pending) > MAX_EVENT_BYTES:
            raise UpstreamUnavailable("Upstream sent an oversized event")
        for line in lines:
            done = event.feed(line)
            if done is not None:
                yield done
    if pending:
        done = event.feed(pending)
        if done is not None:
            yield done
    done = event.feed(b"")
    if done is not None:
        yield done

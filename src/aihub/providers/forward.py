"""The gateway's pass-through: an upstream reply whose bytes go to the client
untouched (the hot path: nothing is parsed per chunk).

    reply = await adapter.forward(http, creds, "chat/completions", body, stream=True)
    async with reply:                       # releases the connection
        send_headers(reply.status, reply.headers)
        async for chunk in reply:           # the upstream's raw bytes
            await send(chunk)
    usage = reply.usage()                   # from the body, or the stream's tail

A non-2xx reply raises its typed error from ``forward`` itself, before any byte
is handed over. A non-streamed body is read whole inside ``forward`` (so read
errors raise there too) and yielded as one chunk. ``wait_s`` sums the time spent
waiting on the upstream (until the headers, and for every chunk), which is what
the gateway subtracts to report its own overhead.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import orjson
import yarl
from multidict import CIMultiDictProxy

from aihub.providers.base import Usage
from aihub.providers.http import raise_for_reply, translate
from aihub.providers.openai_wire import usage_from_openai

_USAGE_KEY = b'"usage"'
_HEAD_CHUNKS = 2

UsageReader = Callable[[bytes | None, bytes, bytes], "Usage | None"]
"""(whole body or None, first chunks of a stream, last chunks) -> usage."""


class ForwardResponse:
    """A 2xx upstream reply: ``status``, ``headers``, then its bytes."""

    __slots__ = (
        "_body",
        "_head",
        "_reader",
        "_resp",
        "_secret",
        "_tail",
        "headers",
        "status",
        "wait_s",
    )

    def __init__(
        self,
        resp: aiohttp.ClientResponse,
        body: bytes | None,
        *,
        wait_s: float,
        secret: str | None,
        usage_reader: UsageReader,
    ) -> None:
        self._resp = resp
        self._reader = usage_reader
        self._head: list[bytes] = []
        self._body = body
        self._secret = secret
        self._tail: tuple[bytes, bytes, bytes] = (b"", b"", b"")
        self.status = resp.status
        self.headers: CIMultiDictProxy[str] = resp.headers
        self.wait_s = wait_s

    @property
    def content_type(self) -> str:
        return self._resp.content_type

    @property
    def body(self) -> bytes | None:
        """The whole body of a non-streamed reply (None while streaming)."""
        return self._body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._body is not None:
            yield self._body
            return
        read = self._resp.content.readany
        clock = time.perf_counter
        while True:
            started = clock()
            try:
                chunk = await read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._resp.close()
                raise translate(exc, secret=self._secret) from exc
            self.wait_s += clock() - started
            if not chunk:
                break
            self._tail = (self._tail[1], self._tail[2], chunk)
            if len(self._head) < _HEAD_CHUNKS:
                self._head.append(chunk)
            yield chunk
        self._resp.release()

    async def read(self) -> bytes:
        """Every remaining byte (a streamed reply read to its end)."""
        if self._body is not None:
            return self._body
        return b"".join([chunk async for chunk in self._chunks()])

    def usage(self) -> Usage | None:
        """The usage of the reply, read from the JSON body, or from the first and
        last chunks of a stream (read to its end); None when there is none."""
        return self._reader(self._body, b"".join(self._head), b"".join(self._tail))

    def close(self) -> None:
        """Release the connection (closed when the body was not read to its end)."""
        self._resp.release()

    async def __aenter__(self) -> ForwardResponse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def last_data_with(chunk: bytes, marker: bytes) -> dict[str, Any] | None:
    """The last SSE ``data:`` JSON object in ``chunk`` whose line has ``marker``."""
    end = len(chunk)
    while True:
        at = chunk.rfind(marker, 0, end)
        if at < 0:
            return None
        start = chunk.rfind(b"\n", 0, at) + 1
        stop = chunk.find(b"\n", at)
        line = chunk[start : stop if stop >= 0 else len(chunk)].strip()
        end = start
        if line.startswith(b"data:"):
            data = _json_object(line[5:])
            if data is not None:
                return data


def openai_usage(body: bytes | None, head: bytes, tail: bytes) -> Usage | None:
    """OpenAI wire: the body's ``usage``, or the stream's last one (with
    stream_options.include_usage it comes just before [DONE])."""
    data = _json_object(body) if body is not None else last_data_with(tail, _USAGE_KEY)
    usage = data.get("usage") if data is not None else None
    return usage_from_openai(usage) if isinstance(usage, dict) else None


async def open_forward(
    http: aiohttp.ClientSession,
    method: str,
    url: yarl.URL,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    client_timeout: aiohttp.ClientTimeout,
    stream: bool,
    secret: str | None,
    usage_reader: UsageReader = openai_usage,
) -> ForwardResponse:
    """Send the request; the typed error on non-2xx, else the ForwardResponse."""
    started = time.perf_counter()
    try:
        resp = await http.request(
            method, url, data=body, headers=headers, timeout=client_timeout
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise translate(exc, secret=secret) from exc
    ready = False
    try:
        await raise_for_reply(resp, secret=secret)
        payload = None if stream else await resp.read()
        ready = True
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise translate(exc, secret=secret) from exc
    finally:
        if not ready or not stream:
            resp.release()
    wait_s = time.perf_counter() - started
    return ForwardResponse(
        resp, payload, wait_s=wait_s, secret=secret, usage_reader=usage_reader
    )

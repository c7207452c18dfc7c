"""The process's one aiohttp session, the timeouts of a call, and the request
helper every adapter uses (errors translated to the ProviderError tree).

The app builds the session in its lifespan and passes it to every adapter call:

    http = create_http_session()
    ...
    await close_http_session(http)

A user's key carries a second, policy-guarded session in its ``Credentials``
(``create_guarded_session``, see ``aihub.infra.outbound``); a caller passes
``session_for(http, creds)`` so that key's calls use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import aiohttp
import orjson
import yarl

from aihub.infra.outbound import OutboundPolicy, OutboundRefusedError, guarded_session
from aihub.providers.base import Credentials
from aihub.providers.errors import (
    ProviderError,
    UpstreamBadRequest,
    UpstreamRefused,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_from_response,
)

USER_AGENT = "aihub/0.1"
MAX_ERROR_BODY = 64 * 1024
UNREACHABLE = "The provider could not be reached"
"""One message for refused, timed-out, reset and unresolvable connections: which
of them it was would tell a caller whether a port is open."""


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_http_session(
    *,
    limit: int = 1000,
    limit_per_host: int = 0,
    keepalive_s: float = 60.0,
    trust_env: bool = False,
) -> aiohttp.ClientSession:
    """The pooled session for every upstream call; call it inside the running
    loop (the lifespan) and close it with ``close_http_session``.

    ``trust_env`` lets HTTP(S)_PROXY and NO_PROXY apply. Every call still sets
    its own ``ClientTimeout`` (see ``Timeouts``)."""
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=limit_per_host,
        keepalive_timeout=keepalive_s,
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=Timeouts().complete,
        headers={"User-Agent": USER_AGENT},
        json_serialize=_dumps,
        trust_env=trust_env,
        raise_for_status=False,
    )


def create_guarded_session(
    policy: OutboundPolicy, *, limit: int = 1000, keepalive_s: float = 60.0
) -> aiohttp.ClientSession:
    """The session for users' keys and untrusted result files: like
    ``create_http_session`` but every address checked against ``policy``."""
    return guarded_session(
        policy,
        limit=limit,
        keepalive_s=keepalive_s,
        timeout=Timeouts().complete,
        headers={"User-Agent": USER_AGENT},
        json_serialize=_dumps,
    )


def session_for(
    http: aiohttp.ClientSession, creds: Credentials
) -> aiohttp.ClientSession:
    """The session a call with ``creds`` must use: the key's own (a user's key:
    the guarded one), else ``http``."""
    return creds.http if creds.http is not None else http


async def close_http_session(http: aiohttp.ClientSession) -> None:
    await http.close()


class Timeouts:
    """The timeouts of one kind of call, built once (not per request).

    connect_s: waiting for a pooled connection plus TCP/TLS connect.
    idle_s: streaming: the longest silence allowed before the first byte and
    between two chunks (``sock_read``).
    read_s: non-streaming: the longest silence while the whole reply is made.
    """

    __slots__ = ("complete", "connect_s", "idle_s", "read_s", "stream")

    def __init__(
        self, *, connect_s: float = 10.0, idle_s: float = 120.0, read_s: float = 600.0
    ) -> None:
        self.connect_s = connect_s
        self.idle_s = idle_s
        self.read_s = read_s
        self.stream = aiohttp.ClientTimeout(
            total=None, connect=connect_s, sock_connect=connect_s, sock_read=idle_s
        )
        self.complete = aiohttp.ClientTimeout(
            total=None, connect=connect_s, sock_connect=connect_s, sock_read=read_s
        )

    def for_call(self, *, stream: bool) -> aiohttp.ClientTimeout:
        return self.stream if stream else self.complete

    def __repr__(self) -> str:
        return (
            f"Timeouts(connect_s={self.connect_s}, idle_s={self.idle_s}, "
            f"read_s={self.read_s})"
        )


DEFAULT_TIMEOUTS = Timeouts()


@lru_cache(maxsize=4096)
def join_url(base: str, path: str) -> yarl.URL:
    """``base`` + ``/`` + ``path`` as a parsed URL (cached: parsing costs)."""
    return yarl.URL(base.rstrip("/") + "/" + path.lstrip("/"))


def translate(exc: BaseException, *, secret: str | None = None) -> ProviderError:
    """The ProviderError for a client-side failure (timeout, connection, drop)."""
    del secret  # no message below carries the exception's text
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, OutboundRefusedError):
        return UpstreamRefused(
            f"The provider's address is refused: it {exc.rule}", status=403
        )
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamUnavailable(UNREACHABLE)
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout("Upstream went silent longer than the idle timeout")
    if isinstance(exc, aiohttp.InvalidURL):
        return UpstreamBadRequest("Invalid upstream URL", status=None)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return UpstreamUnavailable("Upstream connection dropped mid-reply")
    return UpstreamUnavailable(UNREACHABLE)


async def raise_for_reply(
    resp: aiohttp.ClientResponse, *, secret: str | None = None
) -> None:
    """Raise the typed error when ``resp`` is not 2xx (reading a bounded body)."""
    if resp.status < 300:
        return
    try:
        body = await resp.content.read(MAX_ERROR_BODY)
    except (aiohttp.ClientError, TimeoutError):
        body = b""
    raise error_from_response(resp.status, resp.headers, body, secret=secret)


@asynccontextmanager
async def open_response(
    http: aiohttp.ClientSession,
    method: str,
    url: str | yarl.URL,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    client_timeout: aiohttp.ClientTimeout,
    secret: str | None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """A 2xx reply, else the typed error; client failures while the caller reads
    the reply are translated too."""
    try:
        async with http.request(
            method, url, data=body, headers=headers, timeout=client_timeout
        ) as resp:
            await raise_for_reply(resp, secret=secret)
            yield resp
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise translate(exc, secret=secret) from exc


async def read_json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """The whole reply as a JSON object (UpstreamUnavailable when it is not)."""
    raw = await resp.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamUnavailable("Upstream sent a malformed JSON reply") from exc
    if not isinstance(data, dict):
        raise UpstreamUnavailable("Upstream sent an unexpected JSON reply")
    return data


async def request_json(
    http: aiohttp.ClientSession,
    method: str,
    url: str | yarl.URL,
    *,
    headers: Mapping[str, str],
    payload: Any = None,
    client_timeout: aiohttp.ClientTimeout,
    secret: str | None,
) -> dict[str, Any]:
    """One non-streaming call: JSON in (``payload``, None for none), JSON out."""
    body = None if payload is None else orjson.dumps(payload)
    async with open_response(
        http,
        method,
        url,
        headers=headers,
        body=body,
        client_timeout=client_timeout,
        secret=secret,
    ) as resp:
        return await read_json(resp)

"""Requests to providers whose error replies need their own reading (Gemini's
google.rpc status, Bedrock's ``x-amzn-ErrorType``): like ``http.open_response``
but a non-2xx reply is classified by the adapter's ``classify``.

    async with open_reply(http, "POST", url, headers=h, body=b, client_timeout=t,
                          secret=key, classify=gemini_error) as resp: ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import yarl

from aihub.providers.errors import ProviderError
from aihub.providers.http import MAX_ERROR_BODY, read_json, translate

Classify = Callable[[int, Mapping[str, str], bytes], ProviderError]
"""(status, headers, body prefix) -> the typed error of a non-2xx reply."""


@asynccontextmanager
async def open_reply(
    http: aiohttp.ClientSession,
    method: str,
    url: str | yarl.URL,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    client_timeout: aiohttp.ClientTimeout,
    secret: str | None,
    classify: Classify,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """A 2xx reply, else ``classify``'s error; client failures while the caller
    reads the reply are translated as for every adapter."""
    try:
        async with http.request(
            method, url, data=body, headers=headers, timeout=client_timeout
        ) as resp:
            if resp.status >= 300:
                try:
                    raw = await resp.content.read(MAX_ERROR_BODY)
                except (aiohttp.ClientError, TimeoutError):
                    raw = b""
                raise classify(resp.status, resp.headers, raw)
            yield resp
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise translate(exc, secret=secret) from exc


async def call_json(
    http: aiohttp.ClientSession,
    method: str,
    url: str | yarl.URL,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    client_timeout: aiohttp.ClientTimeout,
    secret: str | None,
    classify: Classify,
) -> dict[str, Any]:
    """One non-streaming call whose reply is a JSON object."""
    async with open_reply(
        http,
        method,
        url,
        headers=headers,
        body=body,
        client_timeout=client_timeout,
        secret=secret,
        classify=classify,
    ) as resp:
        return await read_json(resp)

"""Anthropic's Messages API over raw HTTP: POST {base_url}/v1/messages with
``x-api-key`` and ``anthropic-version`` (wire format in anthropic_wire.py).

``Credentials.settings``: ``anthropic_version`` (default 2023-06-01),
``anthropic_beta`` (sent as the anthropic-beta header), ``headers``.
A 529 (overloaded) is UpstreamUnavailable like any 5xx. ``forward()`` passes
Anthropic-format bytes through untouched (the gateway's /v1/messages when the
model is Anthropic's).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

import aiohttp
import orjson
import yarl

from aihub.providers.anthropic_wire import (
    StreamDecoder,
    encode_body,
    parse_completion,
    usage_from_anthropic,
)
from aihub.providers.base import (
    ChatRequest,
    Completion,
    Credentials,
    StreamEvent,
    Usage,
)
from aihub.providers.forward import (
    ForwardResponse,
    last_data_with,
    open_forward,
)
from aihub.providers.http import (
    DEFAULT_TIMEOUTS,
    Timeouts,
    join_url,
    open_response,
    request_json,
)
from aihub.providers.openai import model_ids
from aihub.providers.sse import iter_sse

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicAdapter:
    name = "anthropic"
    default_base_url: str | None = "https://api.anthropic.com"
    wire = "anthropic"

    def base_url(self, creds: Credentials) -> str:
        base = (creds.base_url or self.default_base_url or "").rstrip("/")
        return base.removesuffix("/v1")

    def url(self, creds: Credentials, path: str) -> yarl.URL:
        path = path.lstrip("/").removeprefix("v1/")
        return join_url(self.base_url(creds), f"v1/{path}")

    def headers(self, creds: Credentials) -> dict[str, str]:
        settings = creds.settings
        headers = {
            "Content-Type": "application/json",
            "x-api-key": creds.api_key,
            "anthropic-version": str(
                settings.get("anthropic_version") or ANTHROPIC_VERSION
            ),
        }
        beta = settings.get("anthropic_beta")
        if beta:
            beta = beta if isinstance(beta, str) else ",".join(beta)
            headers["anthropic-beta"] = beta
        extra = settings.get("headers")
        if isinstance(extra, Mapping):
            headers.update({str(k): str(v) for k, v in extra.items()})
        return headers

    async def complete(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: ChatRequest,
        *,
        timeouts: Timeouts | None = None,
    ) -> Completion:
        data = await request_json(
            http,
            "POST",
            self.url(creds, "messages"),
            headers=self.headers(creds),
            payload=encode_body(request, stream=False),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
        )
        return parse_completion(data, model=request.model)

    async def stream(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: ChatRequest,
        *,
        timeouts: Timeouts | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        decoder = StreamDecoder(secret=creds.api_key)
        async with open_response(
            http,
            "POST",
            self.url(creds, "messages"),
            headers=self.headers(creds),
            body=orjson.dumps(encode_body(request, stream=True)),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).stream,
            secret=creds.api_key,
        ) as resp:
            async for _event, data in iter_sse(resp.content):
                for event in decoder.feed(data):
                    yield event
            decoder.end()

    async def list_models(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        *,
        timeouts: Timeouts | None = None,
    ) -> list[str]:
        data = await request_json(
            http,
            "GET",
            self.url(creds, "models?limit=1000"),
            headers=self.headers(creds),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
        )
        return model_ids(data)

    async def forward(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        path: str,
        body: bytes | None,
        *,
        stream: bool,
        model: str | None = None,
        timeouts: Timeouts | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ForwardResponse:
        """``body`` sent as is to ``path`` (``messages``, ``messages/count_tokens``,
        ``models``); the reply's bytes (Anthropic's format) come back untouched."""
        request_headers = self.headers(creds)
        request_headers["Accept-Encoding"] = "identity"
        if headers:
            request_headers.update(headers)
        return await open_forward(
            http,
            "GET" if body is None else "POST",
            self.url(creds, path),
            headers=request_headers,
            body=body,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).for_call(stream=stream),
            stream=stream,
            secret=creds.api_key,
            usage_reader=anthropic_usage,
        )


def anthropic_usage(body: bytes | None, head: bytes, tail: bytes) -> Usage | None:
    """The body's ``usage``, or message_start's (input, cache) merged with the
    last message_delta's (output) of a stream."""
    if body is not None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        usage = data.get("usage") if isinstance(data, dict) else None
        return usage_from_anthropic(usage) if isinstance(usage, dict) else None
    start = last_data_with(head, b'"message_start"')
    delta = last_data_with(tail, b'"message_delta"')
    if start is None and delta is None:
        return None
    merged: dict[str, int] = {}
    message = (start or {}).get("message") or {}
    for usage in (message.get("usage"), (delta or {}).get("usage")):
        if isinstance(usage, dict):
            merged.update({k: v for k, v in usage.items() if isinstance(v, int)})
    return usage_from_anthropic(merged)

"""OpenAI Chat Completions over raw HTTP, and the base of every OpenAI-wire
provider (azure, qwen, openai_compatible override only URLs and headers).

- POST {base_url}/chat/completions with ``Authorization: Bearer``; streams ask
  ``stream_options.include_usage`` so usage always arrives;
- GET {base_url}/models, POST {base_url}/embeddings;
- ``forward()``: the gateway's byte-for-byte pass-through (see forward.py).

``Credentials.settings`` understood here: ``headers`` (extra request headers),
``max_tokens_field`` (``max_tokens`` or ``max_completion_tokens``) and
``stream_usage`` (False for a server that rejects ``stream_options``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import aiohttp
import orjson
import yarl

from aihub.providers.base import (
    ChatRequest,
    Completion,
    Credentials,
    Embeddings,
    StreamEvent,
)
from aihub.providers.errors import (
    UpstreamBadRequest,
    UpstreamUnavailable,
    reads_upstream_json,
)
from aihub.providers.forward import ForwardResponse, open_forward
from aihub.providers.http import (
    DEFAULT_TIMEOUTS,
    Timeouts,
    join_url,
    open_response,
    request_json,
)
from aihub.providers.openai_wire import (
    StreamDecoder,
    encode_body,
    parse_completion,
    usage_from_openai,
)
from aihub.providers.sse import iter_sse

JSON = "application/json"


class OpenAIWireAdapter:
    """Chat, models, embeddings and pass-through in OpenAI's wire format."""

    name = "openai"
    default_base_url: str | None = "https://api.openai.com/v1"
    max_tokens_field = "max_completion_tokens"
    wire = "openai"

    # -- what subclasses override -------------------------------------------

    def base_url(self, creds: Credentials) -> str:
        base = creds.base_url or self.default_base_url
        if not base:
            raise UpstreamBadRequest(f"{self.name} needs a base_url", status=None)
        return base

    def headers(self, creds: Credentials) -> dict[str, str]:
        headers = {"Content-Type": JSON}
        if creds.api_key:
            headers["Authorization"] = f"Bearer {creds.api_key}"
        extra = creds.settings.get("headers")
        if isinstance(extra, Mapping):
            headers.update({str(k): str(v) for k, v in extra.items()})
        return headers

    def url(self, creds: Credentials, path: str, model: str | None) -> yarl.URL:
        """The URL of ``path`` (``chat/completions``, ``models``...) for ``model``."""
        return join_url(self.base_url(creds), path)

    def tokens_field(self, creds: Credentials, model: str) -> str:
        field = creds.settings.get("max_tokens_field")
        return field if isinstance(field, str) else self.max_tokens_field

    # -- chat ---------------------------------------------------------------

    def body(
        self, creds: Credentials, request: ChatRequest, *, stream: bool
    ) -> dict[str, Any]:
        return encode_body(
            request,
            stream=stream,
            max_tokens_field=self.tokens_field(creds, request.model),
            stream_usage=creds.settings.get("stream_usage", True) is not False,
        )

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
            self.url(creds, "chat/completions", request.model),
            headers=self.headers(creds),
            payload=self.body(creds, request, stream=False),
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
        body = orjson.dumps(self.body(creds, request, stream=True))
        decoder = StreamDecoder(secret=creds.api_key)
        async with open_response(
            http,
            "POST",
            self.url(creds, "chat/completions", request.model),
            headers=self.headers(creds),
            body=body,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).stream,
            secret=creds.api_key,
        ) as resp:
            async for _event, data in iter_sse(resp.content):
                for event in decoder.feed(data):
                    yield event
            for event in decoder.end():
                yield event

    # -- models and embeddings ----------------------------------------------

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
            self.url(creds, "models", None),
            headers=self.headers(creds),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
        )
        return model_ids(data)

    async def embed(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        *,
        model: str,
        inputs: list[str],
        dimensions: int | None = None,
        timeouts: Timeouts | None = None,
    ) -> Embeddings:
        payload: dict[str, Any] = {
            "model": model,
            "input": inputs,
            "encoding_format": "float",
        }
        if dimensions is not None:
            payload["dimensions"] = dimensions
        data = await request_json(
            http,
            "POST",
            self.url(creds, "embeddings", model),
            headers=self.headers(creds),
            payload=payload,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
        )
        return parse_embeddings(data, model=model)

    # -- the gateway's pass-through -----------------------------------------

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
        """``body`` (None: a GET) sent as is to ``path`` (``chat/completions``,
        ``embeddings``, ``models``...: relative to the base URL, a leading
        ``/v1/`` is dropped); the reply's bytes come back untouched.
        ``model`` picks an Azure deployment (read from the body when None)."""
        request_headers = self.headers(creds)
        request_headers["Accept-Encoding"] = "identity"
        if headers:
            request_headers.update(headers)
        path = path.lstrip("/").removeprefix("v1/")
        return await open_forward(
            http,
            "GET" if body is None else "POST",
            self.url(creds, path, model),
            headers=request_headers,
            body=body,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).for_call(stream=stream),
            stream=stream,
            secret=creds.api_key,
        )


class OpenAIAdapter(OpenAIWireAdapter):
    name = "openai"
    default_base_url = "https://api.openai.com/v1"


@reads_upstream_json
def model_ids(data: Mapping[str, Any]) -> list[str]:
    """The ids of a ``{"data": [{"id": ...}]}`` list (or Ollama's ``models``)."""
    items = data.get("data")
    if not isinstance(items, list):
        items = data.get("models")
    if not isinstance(items, list):
        raise UpstreamUnavailable("Upstream sent an unexpected model list")
    ids = (
        item.get("id") or item.get("model") or item.get("name")
        for item in items
        if isinstance(item, dict)
    )
    return [str(i) for i in ids if i]


@reads_upstream_json
def parse_embeddings(data: dict[str, Any], *, model: str) -> Embeddings:
    items = data.get("data")
    if not isinstance(items, list):
        raise UpstreamUnavailable("Upstream sent an unexpected embeddings reply")
    rows = sorted(
        (item for item in items if isinstance(item, dict)),
        key=lambda item: int(item.get("index") or 0),
    )
    usage = data.get("usage")
    return Embeddings(
        vectors=[list(item.get("embedding") or []) for item in rows],
        usage=usage_from_openai(usage) if isinstance(usage, dict) else None,
        model=str(data.get("model") or model),
        raw=data,
    )

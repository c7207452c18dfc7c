"""Google Gemini through its native API (wire format in gemini_wire.py):

    POST {base_url}/models/{model}:generateContent
    POST {base_url}/models/{model}:streamGenerateContent?alt=sse
    POST {base_url}/models/{model}:batchEmbedContents   (embed)
    GET  {base_url}/models                       (list_models)

with the key in the ``x-goog-api-key`` header. ``base_url`` defaults to
``https://generativelanguage.googleapis.com/v1beta``. ``Credentials.settings``:
``headers`` (extra request headers). Errors are read from Gemini's google.rpc
status bodies (``gemini_wire.gemini_error``) so that a rejected key is
invalidated and a 429 rests the key for Gemini's ``retryDelay``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from urllib.parse import quote

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
from aihub.providers.gemini_wire import (
    StreamDecoder,
    encode_body,
    encode_embed_body,
    gemini_error,
    parse_completion,
    parse_embeddings,
)
from aihub.providers.http import DEFAULT_TIMEOUTS, Timeouts, join_url
from aihub.providers.native_http import call_json, open_reply
from aihub.providers.sse import iter_sse

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"


def _model_path(model: str) -> str:
    return quote(model.removeprefix("models/"), safe="-._~")


class GeminiAdapter:
    name = "gemini"
    default_base_url: str | None = DEFAULT_BASE_URL

    def url(self, creds: Credentials, path: str) -> yarl.URL:
        base = (creds.base_url or DEFAULT_BASE_URL).rstrip("/")
        return join_url(base, path)

    def headers(self, creds: Credentials) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "x-goog-api-key": creds.api_key}
        extra = creds.settings.get("headers")
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
        data = await call_json(
            http,
            "POST",
            self.url(creds, f"models/{_model_path(request.model)}:generateContent"),
            headers=self.headers(creds),
            body=orjson.dumps(encode_body(request)),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
            classify=gemini_error,
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
        decoder = StreamDecoder()
        path = f"models/{_model_path(request.model)}:streamGenerateContent?alt=sse"
        async with open_reply(
            http,
            "POST",
            self.url(creds, path),
            headers=self.headers(creds),
            body=orjson.dumps(encode_body(request)),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).stream,
            secret=creds.api_key,
            classify=gemini_error,
        ) as resp:
            async for _event, data in iter_sse(resp.content):
                for event in decoder.feed(data):
                    yield event
            for event in decoder.end():
                yield event

    async def list_models(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        *,
        timeouts: Timeouts | None = None,
    ) -> list[str]:
        """The ids of the models that answer generateContent (``models/`` cut)."""
        data = await call_json(
            http,
            "GET",
            self.url(creds, "models?pageSize=1000"),
            headers=self.headers(creds),
            body=None,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
            classify=gemini_error,
        )
        ids: list[str] = []
        for model in data.get("models") or ():
            if not isinstance(model, dict) or not isinstance(model.get("name"), str):
                continue
            methods = model.get("supportedGenerationMethods") or ["generateContent"]
            if "generateContent" in methods:
                ids.append(model["name"].removeprefix("models/"))
        return ids

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
        """One vector per input (batchEmbedContents; Gemini reports no usage)."""
        data = await call_json(
            http,
            "POST",
            self.url(creds, f"models/{_model_path(model)}:batchEmbedContents"),
            headers=self.headers(creds),
            body=orjson.dumps(encode_embed_body(model, inputs, dimensions)),
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
            classify=gemini_error,
        )
        return parse_embeddings(data, model=model, count=len(inputs))

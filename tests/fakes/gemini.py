"""A stand-in for Google's Gemini API (generativelanguage v1beta) on 127.0.0.1.

    POST /v1beta/models/{model}:generateContent
    POST /v1beta/models/{model}:streamGenerateContent?alt=sse
    POST /v1beta/models/{model}:batchEmbedContents
    GET  /v1beta/models

The key is the ``x-goog-api-key`` header (a request without one gets Gemini's
403 PERMISSION_DENIED). Requests are checked as Gemini checks them: the body's
top-level fields must be known ones (a stray OpenAI ``messages`` or ``model``
is a 400 "Invalid JSON payload received. Unknown name"), ``contents`` non-empty
with roles user/model and non-empty parts, a ``functionResponse`` needs a name,
``generationConfig`` known fields only. Replies as in replies.py: ``text``
(else ``echo: <last user text>``), ``tool_calls`` (functionCall parts),
``usage``, ``chunks``; ``status`` answers Gemini's google.rpc error body
(``error_code="API_KEY_INVALID"`` for the bad-key 400, ``retry_after`` as the
429's RetryInfo ``retryDelay``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.cloud import ThreadedFake, figures
from tests.fakes.replies import RecordedRequest, Reply
from tests.fakes.wire import split_text, words

_PATH = re.compile(
    r"^/v1beta/models/([^/:]+):"
    r"(generateContent|streamGenerateContent|batchEmbedContents)$"
)
_TOP = {
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
}
_CONFIG = {
    "temperature",
    "topP",
    "topK",
    "maxOutputTokens",
    "stopSequences",
    "candidateCount",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "presencePenalty",
    "frequencyPenalty",
    "thinkingConfig",
    "responseLogprobs",
    "logprobs",
}
_PART_KEYS = {"text", "inlineData", "fileData", "functionCall", "functionResponse"}
_RPC = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
MODELS = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"]


def gemini_error(
    status: int, message: str, *, reason: str | None = None, retry: float | None = None
) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    if reason:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        )
    if retry is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{retry}s",
            }
        )
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _RPC.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


def check_body(body: Any) -> str | None:
    """What Gemini would reject (None: fine)."""
    if not isinstance(body, dict):
        return "Invalid JSON payload received."
    unknown = set(body) - _TOP
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}"'
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for content in contents:
        if not isinstance(content, dict) or content.get("role") not in (
            "user",
            "model",
        ):
            return "Please use a valid role: user, model."
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            return "* GenerateContentRequest.contents.parts: must not be empty."
        for part in parts:
            if not isinstance(part, dict) or len(set(part) & _PART_KEYS) != 1:
                return "* GenerateContentRequest.contents.parts: a part has one field"
            response = part.get("functionResponse")
            if response is not None and not (
                isinstance(response, dict)
                and response.get("name")
                and isinstance(response.get("response"), dict)
            ):
                return "* functionResponse.name: Name cannot be empty."
    system = body.get("systemInstruction")
    if system is not None and not (
        isinstance(system, dict) and isinstance(system.get("parts"), list)
    ):
        return "Invalid value at 'system_instruction'"
    config = body.get("generationConfig") or {}
    unknown = set(config) - _CONFIG
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}"'
    return None


def _last_user_text(contents: list[dict[str, Any]]) -> str:
    for content in reversed(contents):
        if content.get("role") != "user":
            continue
        texts = [p["text"] for p in content["parts"] if isinstance(p.get("text"), str)]
        if texts:
            return " ".join(texts)
    return ""


def _prompt_words(body: dict[str, Any]) -> int:
    total = 0
    for content in [body.get("systemInstruction") or {}, *body["contents"]]:
        for part in content.get("parts") or ():
            if isinstance(part.get("text"), str):
                total += words(part["text"])
    return total


class FakeGemini(ThreadedFake):
    thread_name = "fake-gemini"

    def __init__(self) -> None:
        super().__init__()
        self.models = list(MODELS)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1beta"

    def key_of(self, request: web.Request) -> str:
        return str(request.headers.get("x-goog-api-key", ""))

    async def handle(
        self, request: web.Request, record: RecordedRequest
    ) -> web.StreamResponse:
        if not record.key:
            message = "Method doesn't allow unregistered callers"
            return self._error(record, 403, message)
        if request.method == "GET" and request.path == "/v1beta/models":
            return self._models(record)
        match = _PATH.match(request.path)
        if request.method != "POST" or match is None:
            return self._error(record, 404, "Not found")
        reply = self.next_reply(record.key)
        if reply.status >= 300:
            reason = reply.error_code
            message = reply.error_message or (
                "API key not valid. Please pass a valid API key."
                if reason == "API_KEY_INVALID"
                else "You exceeded your current quota, please check your plan and "
                "billing details."
                if reply.status == 429
                else "The model failed"
            )
            retry = float(reply.retry_after) if reply.retry_after is not None else None
            return self._error(
                record, reply.status, message, reason=reason, retry=retry
            )
        if match.group(2) == "batchEmbedContents":
            return self._embed(record, match.group(1))
        problem = check_body(record.json)
        if problem is not None:
            return self._error(record, 400, problem)
        stream = match.group(2) == "streamGenerateContent"
        if stream and request.query.get("alt") != "sse":
            return self._error(record, 400, "this stand-in speaks only alt=sse")
        model = match.group(1)
        body: dict[str, Any] = record.json
        text = reply.text
        if text is None:
            text = (
                "" if reply.tool_calls else f"echo: {_last_user_text(body['contents'])}"
            )
        f = figures(reply, _prompt_words(body), text)
        usage = {
            "promptTokenCount": f.prompt,
            "candidatesTokenCount": f.completion - f.reasoning,
            "totalTokenCount": f.prompt + f.completion,
        }
        if f.cached:
            usage["cachedContentTokenCount"] = f.cached
        if f.reasoning:
            usage["thoughtsTokenCount"] = f.reasoning
        finish = {"length": "MAX_TOKENS", "content_filter": "SAFETY"}.get(
            reply.finish_reason or "", "STOP"
        )
        calls = [
            {"functionCall": {"name": c.name, "args": c.arguments}}
            for c in reply.tool_calls or ()
        ]
        if not stream:
            parts = ([{"text": text}] if text else []) + calls
            record.outcome = "complete"
            return web.json_response(
                {
                    "candidates": [
                        {
                            "content": {"role": "model", "parts": parts},
                            "finishReason": finish,
                            "index": 0,
                        }
                    ],
                    "usageMetadata": usage,
                    "modelVersion": model,
                    "responseId": "fake-response",
                }
            )
        return await self._stream(
            request, record, reply, model, text, calls, usage, finish
        )

    async def _stream(
        self,
        request: web.Request,
        record: RecordedRequest,
        reply: Reply,
        model: str,
        text: str,
        calls: list[dict[str, Any]],
        usage: dict[str, Any],
        finish: str,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        pieces: list[list[dict[str, Any]]] = [
            [{"text": t}] for t in split_text(text, reply.chunks)
        ]
        if calls:
            pieces.append(calls)
        if not pieces:
            pieces.append([{"text": ""}])
        for i, parts in enumerate(pieces):
            if reply.drop_after_chunks is not None and i >= reply.drop_after_chunks:
                record.outcome = "dropped"
                assert request.transport is not None
                request.transport.abort()
                return resp
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": parts},
                "index": 0,
            }
            last = i == len(pieces) - 1
            partial = {"promptTokenCount": usage["promptTokenCount"]}
            if last:
                candidate["finishReason"] = finish
            chunk = {
                "candidates": [candidate],
                "usageMetadata": usage if last else partial,
                "modelVersion": model,
            }
            await resp.write(b"data: " + orjson.dumps(chunk) + b"\r\n\r\n")
        await resp.write_eof()
        record.outcome = "complete"
        return resp

    def _embed(self, record: RecordedRequest, model: str) -> web.Response:
        body = record.json
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return self._error(record, 400, "requests must not be empty")
        vectors = []
        for one in requests:
            if one.get("model") != f"models/{model}":
                return self._error(record, 400, "Each request's model must match")
            text = " ".join(p.get("text", "") for p in one["content"]["parts"])
            digest = hashlib.sha256(text.encode()).digest()
            dims = int(one.get("outputDimensionality") or 8)
            vectors.append({"values": [digest[i % 32] / 255.0 for i in range(dims)]})
        record.outcome = "complete"
        return web.json_response({"embeddings": vectors})

    def _models(self, record: RecordedRequest) -> web.Response:
        record.outcome = "complete"
        models = [
            {
                "name": f"models/{m}",
                "displayName": m,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            }
            for m in self.models
        ]
        models.append(
            {
                "name": "models/gemini-embedding-001",
                "supportedGenerationMethods": ["embedContent"],
            }
        )
        return web.json_response({"models": models})

    def _error(
        self,
        record: RecordedRequest,
        status: int,
        message: str,
        *,
        reason: str | None = None,
        retry: float | None = None,
    ) -> web.Response:
        record.outcome = "error"
        return web.Response(
            status=status,
            body=orjson.dumps(
                gemini_error(status, message, reason=reason, retry=retry)
            ),
            content_type="application/json",
        )

"""A stand-in for AWS Bedrock's runtime (Converse) on 127.0.0.1.

    POST /model/{modelId}/converse          JSON reply
    POST /model/{modelId}/converse-stream   AWS event-stream binary framing
    GET  /foundation-models                 the control plane's model list

Every request must carry SigV4 as AWS checks it: an ``Authorization:
AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/region/bedrock/aws4_request,
SignedHeaders=..., Signature=<64 hex>`` header, an ``X-Amz-Date`` of the same
day, ``host`` and ``x-amz-date`` among the signed headers; the signature is
recomputed with botocore from the secret registered for the access key id
(``credentials``), so a wrong secret, region or a body changed after signing is
a 403 InvalidSignatureException and an unknown key id a 403
UnrecognizedClientException. Bodies are checked as Converse checks them
(known top-level fields, alternating user/assistant turns starting with user,
one field per content block, base64 image bytes, toolUse only with a
toolConfig). Replies are scripted per access key id (replies.py); a ``status``
answers with ``x-amzn-ErrorType`` (Throttling 429, AccessDenied 403,
Validation 400, InternalServer 500, ServiceUnavailable 503) and
``stream_error`` (an exception type such as ``throttlingException``) ends a
stream with an exception message.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.fakes.cloud import ThreadedFake, figures
from tests.fakes.replies import RecordedRequest, Reply
from tests.fakes.wire import split_text, words

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/bedrock/"
    r"aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)
_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_PATH = re.compile(r"^/model/([^/]+)/(converse|converse-stream)$")
_TOP = {
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "additionalModelRequestFields",
    "guardrailConfig",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
}
_INFERENCE = {"maxTokens", "temperature", "topP", "stopSequences"}
_BLOCKS = {"text", "image", "document", "toolUse", "toolResult", "cachePoint"}
_ERRORS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
MODELS = [
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "amazon.nova-lite-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
]


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message (string headers, CRC32 prelude and message)."""
    head = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        head += bytes([len(raw_name)]) + raw_name + b"\x07"
        head += len(raw_value).to_bytes(2, "big") + raw_value
    total = 12 + len(head) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(head).to_bytes(4, "big")
    prelude += (binascii.crc32(prelude) & 0xFFFFFFFF).to_bytes(4, "big")
    message = prelude + head + payload
    return message + (binascii.crc32(message) & 0xFFFFFFFF).to_bytes(4, "big")


def event(kind: str, data: dict[str, Any]) -> bytes:
    headers = {
        ":event-type": kind,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return frame(headers, orjson.dumps({**data, "p": "abcdefgh"}))


def exception(kind: str, message: str) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return frame(headers, orjson.dumps({"message": message}))


def check_body(body: Any) -> str | None:
    """What Converse would reject (None: fine)."""
    if not isinstance(body, dict):
        return "Malformed input request"
    unknown = set(body) - _TOP
    if unknown:
        return f"Malformed input request: extraneous key [{sorted(unknown)[0]}]"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "The messages field is required"
    expected = "user"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != expected:
            return "A conversation must alternate between user and assistant roles"
        expected = "assistant" if expected == "user" else "user"
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return "The content field in the Message object is empty"
        for block in content:
            if not isinstance(block, dict) or len(set(block) & _BLOCKS) != 1:
                return "A content block must have exactly one field"
            if "toolUse" in block and "toolConfig" not in body:
                return "toolConfig field must be defined when using toolUse"
            image = block.get("image")
            if image is not None:
                try:
                    base64.b64decode(image["source"]["bytes"], validate=True)
                except (binascii.Error, KeyError, TypeError, ValueError):
                    return "The image bytes are not valid base64"
                if image.get("format") not in ("png", "jpeg", "gif", "webp"):
                    return "The image format is not supported"
    system = body.get("system")
    if system is not None and not (
        isinstance(system, list) and all(isinstance(s, dict) for s in system)
    ):
        return "system must be a list of blocks"
    unknown = set(body.get("inferenceConfig") or {}) - _INFERENCE
    if unknown:
        return f"Malformed input request: extraneous key [{sorted(unknown)[0]}]"
    tools = (body.get("toolConfig") or {}).get("tools")
    if "toolConfig" in body and not (
        isinstance(tools, list)
        and all(
            "json" in (t.get("toolSpec") or {}).get("inputSchema", {}) for t in tools
        )
    ):
        return "toolConfig.tools[].toolSpec.inputSchema.json is required"
    return None


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message["role"] != "user":
            continue
        texts = [
            b["text"] for b in message["content"] if isinstance(b.get("text"), str)
        ]
        if texts:
            return " ".join(texts)
    return ""


class FakeBedrock(ThreadedFake):
    thread_name = "fake-bedrock"

    def __init__(self) -> None:
        super().__init__()
        self.credentials: dict[str, tuple[str, str | None]] = {}
        self.models = list(MODELS)
        self.raw_paths: list[str] = []
        """Each request's path as sent (percent-encoding kept)."""

    def register(self, access_key: str, secret: str, token: str | None = None) -> str:
        """Make a key pair valid; returns the api_key aihub stores for it."""
        with self._lock:
            self.credentials[access_key] = (secret, token)
        return ":".join(p for p in (access_key, secret, token) if p)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.credentials.clear()
            self.raw_paths.clear()

    def key_of(self, request: web.Request) -> str:
        match = _AUTH.match(request.headers.get("Authorization", ""))
        return match.group(1) if match else ""

    # -- SigV4 ------------------------------------------------------------------

    def check_signature(
        self, request: web.Request, body: bytes
    ) -> tuple[str, str] | None:
        """(exception, message) when the request is not signed right."""
        auth = request.headers.get("Authorization", "")
        match = _AUTH.match(auth)
        if match is None:
            return "IncompleteSignatureException", "Authorization header malformed"
        key_id, day, region, signed, signature = match.groups()
        amz_date = request.headers.get("X-Amz-Date", "")
        if not _DATE.match(amz_date) or amz_date[:8] != day:
            return "IncompleteSignatureException", "X-Amz-Date missing or not the day"
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return "IncompleteSignatureException", "host and x-amz-date must be signed"
        with self._lock:
            known = self.credentials.get(key_id)
        if known is None:
            return "UnrecognizedClientException", "The security token is invalid"
        secret, token = known
        if token is not None and request.headers.get("X-Amz-Security-Token") != token:
            return "UnrecognizedClientException", "The security token is invalid"
        headers = {name: request.headers.get(name, "") for name in names}
        url = f"http://{request.host}{request.raw_path}"
        aws = AWSRequest(method=request.method, url=url, data=body, headers=headers)
        aws.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(key_id, secret, token), "bedrock", region)
        expected = signer.signature(
            signer.string_to_sign(aws, signer.canonical_request(aws)), aws
        )
        if expected != signature:
            return "InvalidSignatureException", "The request signature does not match"
        return None

    # -- serving ----------------------------------------------------------------

    async def handle(
        self, request: web.Request, record: RecordedRequest
    ) -> web.StreamResponse:
        with self._lock:
            self.raw_paths.append(request.raw_path)
        problem = self.check_signature(request, record.body)
        if problem is not None:
            return self._error(record, 403, *problem)
        if request.method == "GET" and request.path == "/foundation-models":
            record.outcome = "complete"
            summaries = [
                {"modelId": m, "outputModalities": ["TEXT"]} for m in self.models
            ]
            return web.json_response({"modelSummaries": summaries})
        match = _PATH.match(request.path)
        if request.method != "POST" or match is None:
            return self._error(record, 404, "UnknownOperationException", "Not found")
        reply = self.next_reply(record.key)
        if reply.status >= 300:
            name = reply.error_code or _ERRORS.get(
                reply.status, "InternalServerException"
            )
            message = reply.error_message or "Too many requests, please wait."
            return self._error(record, reply.status, name, message, reply)
        problem_text = check_body(record.json)
        if problem_text is not None:
            return self._error(record, 400, "ValidationException", problem_text)
        body: dict[str, Any] = record.json
        text = reply.text
        if text is None:
            text = (
                "" if reply.tool_calls else f"echo: {_last_user_text(body['messages'])}"
            )
        prompt = sum(
            words(b.get("text", ""))
            for m in [{"content": body.get("system") or []}, *body["messages"]]
            for b in m["content"]
        )
        f = figures(reply, prompt, text)
        usage = {
            "inputTokens": f.prompt - f.cached - f.cache_write,
            "outputTokens": f.completion,
            "totalTokens": f.prompt + f.completion,
        }
        if f.cached:
            usage["cacheReadInputTokens"] = f.cached
        if f.cache_write:
            usage["cacheWriteInputTokens"] = f.cache_write
        calls = reply.tool_calls or []
        stop = {"length": "max_tokens", "content_filter": "content_filtered"}.get(
            reply.finish_reason or "", "tool_use" if calls else "end_turn"
        )
        if match.group(2) == "converse":
            content: list[dict[str, Any]] = [{"text": text}] if text else []
            content += [
                {
                    "toolUse": {
                        "toolUseId": c.id or f"tooluse_{i}",
                        "name": c.name,
                        "input": c.arguments,
                    }
                }
                for i, c in enumerate(calls)
            ]
            record.outcome = "complete"
            return web.json_response(
                {
                    "output": {"message": {"role": "assistant", "content": content}},
                    "stopReason": stop,
                    "usage": usage,
                    "metrics": {"latencyMs": 12},
                }
            )
        frames = [event("messageStart", {"role": "assistant"})]
        index = 0
        if text:
            for piece in split_text(text, reply.chunks):
                frames.append(
                    event(
                        "contentBlockDelta",
                        {"contentBlockIndex": 0, "delta": {"text": piece}},
                    )
                )
            frames.append(event("contentBlockStop", {"contentBlockIndex": 0}))
            index = 1
        for i, call in enumerate(calls):
            at = index + i
            start = {
                "toolUse": {"toolUseId": call.id or f"tooluse_{i}", "name": call.name}
            }
            frames.append(
                event("contentBlockStart", {"contentBlockIndex": at, "start": start})
            )
            raw = orjson.dumps(call.arguments).decode()
            for half in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
                delta = {"toolUse": {"input": half}}
                frames.append(
                    event(
                        "contentBlockDelta", {"contentBlockIndex": at, "delta": delta}
                    )
                )
            frames.append(event("contentBlockStop", {"contentBlockIndex": at}))
        if reply.stream_error:
            frames.append(exception(reply.stream_error, "Too many requests"))
        else:
            frames.append(event("messageStop", {"stopReason": stop}))
            frames.append(
                event("metadata", {"usage": usage, "metrics": {"latencyMs": 12}})
            )
        resp = web.StreamResponse(
            headers={"Content-Type": "application/vnd.amazon.eventstream"}
        )
        await resp.prepare(request)
        for data in frames:
            # Split frames across writes: a decoder must reassemble them.
            await resp.write(data[:7])
            await resp.write(data[7:])
        await resp.write_eof()
        record.outcome = "complete"
        return resp

    def _error(
        self,
        record: RecordedRequest,
        status: int,
        name: str,
        message: str,
        reply: Reply | None = None,
    ) -> web.Response:
        record.outcome = "error"
        headers = {
            "x-amzn-ErrorType": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        }
        if reply is not None and reply.retry_after is not None:
            headers["Retry-After"] = str(reply.retry_after)
        return web.Response(
            status=status,
            body=orjson.dumps({"message": message}),
            headers=headers,
            content_type="application/json",
        )

"""AWS Bedrock through the Converse API (wire format in bedrock_wire.py):

    POST {base_url}/model/{modelId}/converse
    POST {base_url}/model/{modelId}/converse-stream   (AWS event-stream framing)

signed with SigV4 (botocore's ``SigV4Auth``, service ``bedrock``) and sent with
aiohttp like every adapter.

The key: ``api_key`` is ``ACCESS_KEY_ID:SECRET_ACCESS_KEY`` or
``ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN`` (stored encrypted like every
key); the region is ``settings.region``, else read from a
``bedrock-runtime.{region}.amazonaws.com`` base_url, else us-east-1. The
base_url defaults to ``https://bedrock-runtime.{region}.amazonaws.com`` (a
VPC endpoint or a test stand-in may replace it). The model list lives on the
control plane (ListFoundationModels on ``bedrock.{region}.amazonaws.com``),
so ``list_models`` (the key probe) needs ``bedrock:ListFoundationModels``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson
import yarl

from aihub.providers.base import ChatRequest, Completion, Credentials, StreamEvent
from aihub.providers.bedrock_wire import (
    StreamDecoder,
    bedrock_error,
    encode_body,
    parse_completion,
    stream_exception,
)
from aihub.providers.errors import UpstreamAuthFailed, UpstreamUnavailable
from aihub.providers.http import DEFAULT_TIMEOUTS, Timeouts
from aihub.providers.native_http import call_json, open_reply

DEFAULT_REGION = "us-east-1"
SERVICE = "bedrock"
_REGION_IN_HOST = re.compile(
    r"^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com"
)
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
EVENT_STREAM = "application/vnd.amazon.eventstream"


def split_key(api_key: str) -> tuple[str, str, str | None]:
    """(access key id, secret access key, session token or None)."""
    parts = api_key.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise UpstreamAuthFailed(
            "A Bedrock key is ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]",
            status=None,
        )
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def region_of(creds: Credentials) -> str:
    region = creds.settings.get("region")
    if isinstance(region, str) and _REGION.fullmatch(region):
        return region
    if creds.base_url:
        match = _REGION_IN_HOST.match(urlsplit(creds.base_url).hostname or "")
        if match:
            return match.group(1)
    return DEFAULT_REGION


def base_url_of(creds: Credentials) -> str:
    if creds.base_url:
        return creds.base_url.rstrip("/")
    return f"https://bedrock-runtime.{region_of(creds)}.amazonaws.com"


def control_url_of(creds: Credentials) -> str:
    """Where ListFoundationModels is: ``bedrock.{region}`` beside the AWS
    runtime host, ``settings.control_base_url``, else the base_url itself (a
    stand-in serving both)."""
    given = creds.settings.get("control_base_url")
    if isinstance(given, str) and given:
        return given.rstrip("/")
    base = base_url_of(creds)
    host = urlsplit(base).hostname or ""
    if _REGION_IN_HOST.match(host):
        return base.replace("bedrock-runtime", "bedrock", 1)
    return base


def signed_headers(
    creds: Credentials, method: str, url: str, body: bytes, headers: dict[str, str]
) -> dict[str, str]:
    """``headers`` plus X-Amz-Date, X-Amz-Security-Token and Authorization."""
    # botocore is imported on the first Bedrock call only (it is large).
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as AwsCredentials

    # botocore logs the canonical request (with the session token) at DEBUG.
    logging.getLogger("botocore.auth").setLevel(logging.INFO)
    access, secret, token = split_key(creds.api_key)
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(
        AwsCredentials(access, secret, token), SERVICE, region_of(creds)
    ).add_auth(request)
    return {str(k): str(v) for k, v in request.headers.items()}


class BedrockAdapter:
    name = "bedrock"
    default_base_url: str | None = (
        f"https://bedrock-runtime.{DEFAULT_REGION}.amazonaws.com"
    )

    def _call(
        self, creds: Credentials, model: str, action: str, payload: dict[str, Any]
    ) -> tuple[yarl.URL, dict[str, str], bytes]:
        url = f"{base_url_of(creds)}/model/{quote(model, safe='')}/{action}"
        body = orjson.dumps(payload)
        headers = {"Content-Type": "application/json"}
        if action == "converse-stream":
            headers["Accept"] = EVENT_STREAM
        headers = signed_headers(creds, "POST", url, body, headers)
        extra = creds.settings.get("headers")
        if isinstance(extra, Mapping):  # after signing: not covered by it
            headers.update({str(k): str(v) for k, v in extra.items()})
        return yarl.URL(url, encoded=True), headers, body

    async def complete(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: ChatRequest,
        *,
        timeouts: Timeouts | None = None,
    ) -> Completion:
        url, headers, body = self._call(
            creds, request.model, "converse", encode_body(request)
        )
        data = await call_json(
            http,
            "POST",
            url,
            headers=headers,
            body=body,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
            classify=bedrock_error,
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
        from botocore.eventstream import EventStreamBuffer, ParserError

        url, headers, body = self._call(
            creds, request.model, "converse-stream", encode_body(request)
        )
        decoder = StreamDecoder()
        frames = EventStreamBuffer()
        async with open_reply(
            http,
            "POST",
            url,
            headers=headers,
            body=body,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).stream,
            secret=creds.api_key,
            classify=bedrock_error,
        ) as resp:
            async for chunk in resp.content.iter_any():
                frames.add_data(chunk)
                try:
                    messages = list(frames)
                except ParserError as exc:
                    raise UpstreamUnavailable(
                        "Upstream sent a malformed event stream"
                    ) from exc
                for message in messages:
                    kind = str(message.headers.get(":message-type") or "event")
                    if kind == "exception":
                        name = str(message.headers.get(":exception-type") or "")
                        raise stream_exception(name, message.payload)
                    if kind != "event":
                        raise stream_exception("", message.payload)
                    event = str(message.headers.get(":event-type") or "")
                    for item in decoder.feed(event, message.payload):
                        yield item
            for item in decoder.end():
                yield item

    async def list_models(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        *,
        timeouts: Timeouts | None = None,
    ) -> list[str]:
        """The text models of the region (the control plane's
        ListFoundationModels, signed like every call: it checks the key too)."""
        url = f"{control_url_of(creds)}/foundation-models?byOutputModality=TEXT"
        headers = signed_headers(creds, "GET", url, b"", {})
        data = await call_json(
            http,
            "GET",
            yarl.URL(url, encoded=True),
            headers=headers,
            body=None,
            client_timeout=(timeouts or DEFAULT_TIMEOUTS).complete,
            secret=creds.api_key,
            classify=bedrock_error,
        )
        return [
            str(m["modelId"])
            for m in data.get("modelSummaries") or ()
            if isinstance(m, dict) and m.get("modelId")
        ]

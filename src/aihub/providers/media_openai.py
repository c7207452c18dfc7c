"""OpenAI images (gpt-image-1, dall-e-3) and Azure OpenAI images, raw HTTP.

OpenAI: POST {base}/images/generations (JSON: model, prompt, n, size, quality,
and ``response_format: "b64_json"`` for the DALL·E models; gpt-image-1 always
answers in base64), or POST {base}/images/edits (multipart: model, prompt, n,
size, image) when an input image is given. The reply is
``{"created", "data": [{"b64_json" | "url", "revised_prompt"?}]}``.

Azure OpenAI: the same bodies at
{base}/openai/deployments/{deployment}/images/generations?api-version=... with
an ``api-key`` header (deployment and api_version from the key's settings, as
for chat: see providers/azure.py).

The call is synchronous upstream: progress is "generating" until it answers;
a cancel aborts the request (the only cancel these APIs have).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
import yarl

from aihub.providers.azure import AzureAdapter
from aihub.providers.base import Credentials
from aihub.providers.errors import UpstreamUnavailable, reads_upstream_json
from aihub.providers.http import open_response, raise_for_reply, read_json, translate
from aihub.providers.media_base import (
    Follow,
    MediaOutput,
    MediaProgress,
    MediaRequest,
)
from aihub.providers.openai import OpenAIAdapter, OpenAIWireAdapter

_BASE64_ONLY = ("gpt-image",)


def generation_body(request: MediaRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "prompt": request.prompt,
        "n": request.count,
    }
    if request.size is not None:
        body["size"] = request.size
    if request.quality is not None:
        body["quality"] = request.quality
    if not request.model.startswith(_BASE64_ONLY):
        body["response_format"] = "b64_json"
    return body


@reads_upstream_json
def parse_images(data: Mapping[str, Any]) -> list[MediaOutput]:
    outputs: list[MediaOutput] = []
    for item in data["data"]:
        revised = item.get("revised_prompt")
        revised = revised if isinstance(revised, str) else None
        if isinstance(item.get("b64_json"), str):
            try:
                raw = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise UpstreamUnavailable("Upstream sent invalid base64") from exc
            outputs.append(MediaOutput(data=raw, revised_prompt=revised))
        elif isinstance(item.get("url"), str):
            outputs.append(MediaOutput(url=item["url"], revised_prompt=revised))
    if not outputs:
        raise UpstreamUnavailable("Upstream answered without an image")
    return outputs


class OpenAIImagesAdapter:
    """Images over OpenAI's wire; ``wire`` builds URLs and headers."""

    can_cancel = True

    def __init__(self, wire: OpenAIWireAdapter) -> None:
        self._wire = wire

    @property
    def name(self) -> str:
        return self._wire.name

    def _url(self, creds: Credentials, path: str, model: str) -> yarl.URL:
        return self._wire.url(creds, path, model)

    async def generate(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: MediaRequest,
        follow: Follow,
    ) -> list[MediaOutput]:
        await follow.on_progress(MediaProgress(None, "generating"))
        if request.input_image is not None:
            data = await self._edit(http, creds, request, follow)
        else:
            async with open_response(
                http,
                "POST",
                self._url(creds, "images/generations", request.model),
                headers=self._wire.headers(creds),
                body=orjson.dumps(generation_body(request)),
                client_timeout=follow.timeouts.complete,
                secret=creds.api_key,
            ) as resp:
                data = await read_json(resp)
        return parse_images(data)

    async def _edit(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: MediaRequest,
        follow: Follow,
    ) -> dict[str, Any]:
        image = request.input_image
        assert image is not None  # noqa: S101  generate() checked
        form = aiohttp.FormData()
        for key, value in generation_body(request).items():
            form.add_field(key, str(value))
        form.add_field(
            "image", image.data, filename=image.filename, content_type=image.media_type
        )
        headers = {
            k: v for k, v in self._wire.headers(creds).items() if k != "Content-Type"
        }
        try:
            async with http.post(
                self._url(creds, "images/edits", request.model),
                data=form,
                headers=headers,
                timeout=follow.timeouts.complete,
            ) as resp:
                await raise_for_reply(resp, secret=creds.api_key)
                return await read_json(resp)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise translate(exc, secret=creds.api_key) from exc

    async def cancel(
        self, http: aiohttp.ClientSession, creds: Credentials, upstream_job_id: str
    ) -> None:
        """Nothing runs upstream once the request is aborted."""
        del http, creds, upstream_job_id


OPENAI_IMAGES = OpenAIImagesAdapter(OpenAIAdapter())
AZURE_IMAGES = OpenAIImagesAdapter(AzureAdapter())

"""SuperDuperAI images and video (seed 000), Bearer auth, raw HTTP.

Submit: POST {base}/api/v1/file/generate-image (or generate-video) with the
seed's body, verbatim:

    {"prompt", "model", "count", "width", "height"}          (+ "duration", video)

and, for editing (Flux Kontext style), ``"references": [{"type": "source",
"reference_id": <file id>}]`` after uploading the input image with POST
{base}/api/v1/file (multipart field ``payload``).

Follow: the submit answers with the created file objects (a JSON array, or one
object); each is polled with GET {base}/api/v1/file/{id} until it has a ``url``
(done) or a task in status ``error`` (failed).

Where the shapes come from: SuperDuperAI's OpenAPI document as generated into
the Super Chatbot client (fortunto2/super-turbo, apps/super-chatbot/src/lib/
api/models: ``IFileRead`` {id, url, thumbnail_url, type, image_generation_id,
video_generation_id, duration, tasks: [ITaskRead {id, type, status}]},
``TaskStatusEnum`` in_progress | completed | error, ``ReferenceTypeEnum``
source | style | mask | face | voice, ``Body_file_upload`` {payload}) and its
docs/api-integration/superduperai guide (the submit answers with an array of
file objects; ``tasks`` is empty when the file is done; polling is the
fallback of its SSE /api/v1/events/file.{id}). A file object carries no
percentage of its own (SuperDuperAI's websocket ``render_progress`` events do):
a ``progress`` field (0-1 or 0-100) is read when present, else the stage alone
is reported. The public API offers no cancel, so a cancelled job is only no
longer followed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from aihub.providers.base import Credentials
from aihub.providers.errors import (
    UpstreamTimeout,
    UpstreamUnavailable,
    reads_upstream_json,
)
from aihub.providers.http import (
    join_url,
    open_response,
    raise_for_reply,
    read_json,
    translate,
)
from aihub.providers.media_base import (
    Follow,
    InputImage,
    MediaOutput,
    MediaProgress,
    MediaRequest,
    UpstreamGenerationFailed,
)

DEFAULT_BASE_URL = "https://api.superduperai.com"
MAX_FOLLOW_S = 3600.0


def _headers(creds: Credentials, *, json: bool = True) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {creds.api_key}"}
    if json:
        headers["Content-Type"] = "application/json"
    return headers


def submit_body(request: MediaRequest, reference_id: str | None) -> dict[str, Any]:
    """The seed's body (plus references when editing an image)."""
    body: dict[str, Any] = {
        "prompt": request.prompt,
        "model": request.model,
        "count": request.count,
    }
    if request.width is not None and request.height is not None:
        body["width"] = request.width
        body["height"] = request.height
    if request.kind == "video" and request.duration_s is not None:
        body["duration"] = request.duration_s
    if reference_id is not None:
        body["references"] = [{"type": "source", "reference_id": reference_id}]
    return body


@reads_upstream_json
def file_ids(reply: Any) -> list[str]:
    """Ids of the file objects a submit created (array or single object)."""
    items = reply if isinstance(reply, list) else [reply]
    ids = [str(item["id"]) for item in items if isinstance(item, Mapping)]
    if not ids:
        raise UpstreamUnavailable("SuperDuperAI answered without a file id")
    return ids


def _percent(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    number = float(value)
    if 0.0 <= number <= 1.0:
        number *= 100.0
    return max(0.0, min(100.0, number))


@reads_upstream_json
def file_state(data: Mapping[str, Any]) -> tuple[str, MediaProgress, str | None]:
    """("done" | "failed" | "running", progress, url) of one file object."""
    tasks = data.get("tasks") or []
    statuses = [str(t.get("status")) for t in tasks if isinstance(t, Mapping)]
    url = data.get("url")
    if isinstance(url, str) and url:
        return "done", MediaProgress(100.0, "completed"), url
    if "error" in statuses:
        return "failed", MediaProgress(None, "error"), None
    stage = "in_progress" if statuses else "queued"
    types = [str(t.get("type")) for t in tasks if isinstance(t, Mapping)]
    if types and types[0] != "None":
        stage = types[0]
    return "running", MediaProgress(_percent(data.get("progress")), stage), None


class SuperDuperAIAdapter:
    name = "superduperai"
    default_base_url = DEFAULT_BASE_URL
    can_cancel = False

    def _base(self, creds: Credentials) -> str:
        return creds.base_url or DEFAULT_BASE_URL

    async def _upload(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        image: InputImage,
        follow: Follow,
    ) -> str:
        """Upload the input image; its SuperDuperAI file id."""
        form = aiohttp.FormData()
        form.add_field(
            "payload",
            image.data,
            filename=image.filename,
            content_type=image.media_type,
        )
        try:
            async with http.post(
                join_url(self._base(creds), "api/v1/file"),
                data=form,
                headers=_headers(creds, json=False),
                timeout=follow.timeouts.complete,
            ) as resp:
                await raise_for_reply(resp, secret=creds.api_key)
                return file_ids(await read_json(resp))[0]
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise translate(exc, secret=creds.api_key) from exc

    async def _json(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        method: str,
        path: str,
        follow: Follow,
        payload: Any = None,
    ) -> Any:
        body = None if payload is None else orjson.dumps(payload)
        async with open_response(
            http,
            method,
            join_url(self._base(creds), path),
            headers=_headers(creds, json=body is not None),
            body=body,
            client_timeout=follow.timeouts.complete,
            secret=creds.api_key,
        ) as resp:
            raw = await resp.read()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamUnavailable("SuperDuperAI sent malformed JSON") from exc

    async def submit(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: MediaRequest,
        follow: Follow,
    ) -> list[str]:
        reference = None
        if request.input_image is not None:
            reference = await self._upload(http, creds, request.input_image, follow)
        path = f"api/v1/file/generate-{request.kind}"
        reply = await self._json(
            http, creds, "POST", path, follow, submit_body(request, reference)
        )
        return file_ids(reply)

    async def generate(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: MediaRequest,
        follow: Follow,
    ) -> list[MediaOutput]:
        if follow.upstream_job_id:
            ids = follow.upstream_job_id.split(",")
        else:
            await follow.on_progress(MediaProgress(0.0, "submitting"))
            ids = await self.submit(http, creds, request, follow)
            await follow.on_submitted(",".join(ids))
        return await self._follow(http, creds, ids, follow)

    async def _follow(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        ids: list[str],
        follow: Follow,
    ) -> list[MediaOutput]:
        deadline = time.monotonic() + MAX_FOLLOW_S
        urls: dict[str, str] = {}
        last: MediaProgress | None = None
        while True:
            percents: list[float] = []
            stage: str | None = None
            for file_id in ids:
                if file_id in urls:
                    percents.append(100.0)
                    continue
                data = await self._json(
                    http, creds, "GET", f"api/v1/file/{file_id}", follow
                )
                if not isinstance(data, Mapping):
                    raise UpstreamUnavailable("SuperDuperAI sent an unexpected file")
                state, progress, url = file_state(data)
                if state == "failed":
                    raise UpstreamGenerationFailed(
                        str(
                            data.get("status_message")
                            or "SuperDuperAI reported an error"
                        )
                    )
                if state == "done" and url is not None:
                    urls[file_id] = url
                    percents.append(100.0)
                    continue
                stage = stage or progress.stage
                percents.append(progress.percent or 0.0)
            if len(urls) == len(ids):
                return [MediaOutput(url=urls[i]) for i in ids]
            known = any(p > 0 for p in percents)
            current = MediaProgress(
                sum(percents) / len(percents) if known else None, stage
            )
            if current != last:
                await follow.on_progress(current)
                last = current
            if time.monotonic() > deadline:
                raise UpstreamTimeout("SuperDuperAI did not finish in time")
            await asyncio.sleep(follow.poll_interval_s)

    async def cancel(
        self, http: aiohttp.ClientSession, creds: Credentials, upstream_job_id: str
    ) -> None:
        """SuperDuperAI's public API has no cancel: nothing to call."""
        del http, creds, upstream_job_id

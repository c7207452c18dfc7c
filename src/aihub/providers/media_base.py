"""The normalized vocabulary of media (image and video) adapters.

A caller builds one ``MediaRequest`` and awaits ``adapter.generate(...)``; the
adapter submits the job upstream, follows it (reporting ``MediaProgress`` to
``on_progress`` whenever the provider says something new) and returns the
produced files as ``MediaOutput`` (inline bytes, or a URL to ``download``).

``upstream_job_id``: providers that run jobs on their side (SuperDuperAI) hand
their id to ``on_submitted`` right after the submit, so a job that is retried or
recovered by another worker resumes following the same upstream job instead of
paying for a second one. Failures raise the ``ProviderError`` tree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import aiohttp

from aihub.providers.errors import ProviderError, UpstreamUnavailable
from aihub.providers.http import Timeouts, open_response

if TYPE_CHECKING:
    from aihub.providers.base import Credentials

MediaKind = Literal["image", "video"]
DOWNLOAD_TIMEOUTS = Timeouts(connect_s=10.0, idle_s=60.0, read_s=60.0)
_CHUNK = 256 * 1024


class UpstreamGenerationFailed(ProviderError):
    """The provider accepted the job and then reported that it failed."""

    default_message = "The provider could not generate the media"


@dataclass(frozen=True, slots=True)
class InputImage:
    data: bytes = field(repr=False)
    media_type: str
    filename: str


@dataclass(frozen=True, slots=True)
class MediaRequest:
    kind: MediaKind
    model: str
    prompt: str
    count: int = 1
    width: int | None = None
    height: int | None = None
    duration_s: int | None = None
    quality: str | None = None
    input_image: InputImage | None = None

    @property
    def size(self) -> str | None:
        if self.width is None or self.height is None:
            return None
        return f"{self.width}x{self.height}"


@dataclass(frozen=True, slots=True)
class MediaProgress:
    percent: float | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class MediaOutput:
    """One produced file: inline ``data`` or a ``url`` to download."""

    data: bytes | None = field(default=None, repr=False)
    url: str | None = None
    media_type: str | None = None
    revised_prompt: str | None = None


ProgressCallback = Callable[[MediaProgress], Awaitable[None]]
SubmittedCallback = Callable[[str], Awaitable[None]]


async def _ignore_progress(_progress: MediaProgress) -> None:
    return None


async def _ignore_submitted(_upstream_id: str) -> None:
    return None


@dataclass(slots=True)
class Follow:
    """How a generation reports back and how often it polls."""

    on_progress: ProgressCallback = _ignore_progress
    on_submitted: SubmittedCallback = _ignore_submitted
    upstream_job_id: str | None = None
    poll_interval_s: float = 2.0
    timeouts: Timeouts = field(default_factory=Timeouts)


class MediaAdapter(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def can_cancel(self) -> bool:
        """Whether ``cancel`` stops the upstream job (else only aihub stops)."""

    async def generate(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: MediaRequest,
        follow: Follow,
    ) -> list[MediaOutput]: ...

    async def cancel(
        self, http: aiohttp.ClientSession, creds: Credentials, upstream_job_id: str
    ) -> None: ...


async def download(
    http: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int,
    timeouts: Timeouts = DOWNLOAD_TIMEOUTS,
) -> tuple[bytes, str | None]:
    """The file at ``url`` (no credentials sent) and its Content-Type; a file
    over ``max_bytes`` raises UpstreamUnavailable."""
    async with open_response(
        http,
        "GET",
        url,
        headers={},
        body=None,
        client_timeout=timeouts.complete,
        secret=None,
    ) as resp:
        parts: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UpstreamUnavailable(
                    f"The generated file is larger than {max_bytes} bytes"
                )
            parts.append(chunk)
        content_type = resp.headers.get("Content-Type")
    media_type = content_type.split(";")[0].strip() if content_type else None
    return b"".join(parts), media_type

"""Stored files: uploads (seed 004's /api/files/upload), generated artifacts,
and serving them to their owner at stable URLs ``/api/files/{token}``.

The token is an unguessable handle; every lookup is also filtered by owner, so
another user's token is simply not found."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.files import repository
from aihub.files.blobs import BlobStore
from aihub.files.errors import (
    FileTooLargeError,
    ImageUrlRefusedError,
    StoredFileNotFoundError,
    UnsupportedFileError,
)
from aihub.files.models import StoredFile
from aihub.files.probe import IMAGE_TYPES, probe
from aihub.files.schemas import StoredFileRead
from aihub.infra.outbound import OutboundPolicy, OutboundRefusedError
from aihub.providers.base import ChatMessage

URL_PREFIX = "/api/files/"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"  # noqa: S105  a regex, not a secret
_TOKEN = re.compile(TOKEN_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
UPLOAD_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def file_path(token: str) -> str:
    return f"{URL_PREFIX}{token}"


def file_url(token: str, base_url: str | None) -> str:
    """The file's link: absolute under ``base_url``, else root-relative."""
    path = file_path(token)
    return f"{base_url.rstrip('/')}{path}" if base_url else path


def absolute(url: str, base_url: str | None) -> str:
    """A root-relative link made absolute (others are returned as they are)."""
    if base_url and url.startswith("/"):
        return f"{base_url.rstrip('/')}{url}"
    return url


def clean_filename(name: str | None, default: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip("._")[:200]
    return base or default


def token_of(ref: str) -> str | None:
    """The token in a file link (absolute or not) or a bare token."""
    ref = ref.strip()
    path = urlsplit(ref).path if "/" in ref else ref
    if "/" in path:
        if URL_PREFIX not in path:
            return None
        path = path.split(URL_PREFIX, 1)[1].split("/", 1)[0]
    return path if _TOKEN.match(path) else None


async def store_bytes(
    session: AsyncSession,
    blobs: BlobStore,
    *,
    user_id: int,
    data: bytes,
    filename: str,
    media_type: str | None = None,
    media_job_id: int | None = None,
) -> StoredFile:
    """Put ``data`` in the blob store and add its row (the caller commits)."""
    found = probe(data)
    token = secrets.token_urlsafe(24)
    key = f"{user_id}/{token}{found.extension}"
    await blobs.put(key, data)
    row = StoredFile(
        user_id=user_id,
        token=token,
        filename=filename,
        media_type=found.media_type or media_type or "application/octet-stream",
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        width=found.width,
        height=found.height,
        duration_s=found.duration_s,
        media_job_id=media_job_id,
    )
    return repository.add_file(session, row)


async def upload_image(
    session: AsyncSession,
    blobs: BlobStore,
    *,
    user_id: int,
    filename: str | None,
    data: bytes,
    max_bytes: int,
) -> StoredFile:
    """Seed 004's upload: a jpg, jpeg, png, gif or webp image."""
    if len(data) > max_bytes:
        raise FileTooLargeError(f"File too large: at most {max_bytes} bytes")
    found = probe(data)
    if found.media_type not in IMAGE_TYPES:
        raise UnsupportedFileError()
    name = clean_filename(filename, f"image{found.extension}")
    row = await store_bytes(session, blobs, user_id=user_id, data=data, filename=name)
    await session.commit()
    return row


async def get_file(session: AsyncSession, *, user_id: int, token: str) -> StoredFile:
    row = None
    if _TOKEN.match(token):
        row = await repository.get_file_by_token(session, user_id=user_id, token=token)
    if row is None:
        raise StoredFileNotFoundError()
    return row


async def resolve_ref(session: AsyncSession, *, user_id: int, ref: str) -> StoredFile:
    """The caller's file named by a link from /api/files/upload (or its token)."""
    token = token_of(ref)
    if token is None:
        raise StoredFileNotFoundError(
            "Unknown file: pass an imageUrl returned by /api/files/upload"
        )
    return await get_file(session, user_id=user_id, token=token)


async def read_file(blobs: BlobStore, row: StoredFile) -> bytes:
    return await blobs.get(row.storage_key)


async def list_files(
    session: AsyncSession, *, user_id: int, skip: int, limit: int
) -> Sequence[StoredFile]:
    return await repository.list_files(session, user_id=user_id, skip=skip, limit=limit)


async def list_job_files(
    session: AsyncSession, *, job_ids: Sequence[int]
) -> Sequence[StoredFile]:
    return await repository.list_job_files(session, job_ids=job_ids)


def describe(row: StoredFile, base_url: str | None) -> StoredFileRead:
    return StoredFileRead(
        token=row.token,
        url=file_url(row.token, base_url),
        filename=row.filename,
        media_type=row.media_type,
        bytes=row.bytes,
        width=row.width,
        height=row.height,
        duration_s=row.duration_s,
        media_job_id=row.media_job_id,
        created_at=row.created_at,
    )


# -- the caller's own images in a conversation sent upstream ------------------------


@dataclass(frozen=True, slots=True)
class OwnFiles:
    """Where aihub's own file links resolve: the blob store, and the absolute
    bases such links carry (AIHUB_PUBLIC_URL, the URL the request came to).
    A root-relative ``/api/files/{token}`` is always ours."""

    blobs: BlobStore
    bases: tuple[str, ...] = ()
    outbound: OutboundPolicy | None = None
    """The policy external image links must pass (see ``check_image_links``)."""


def link_bases(*bases: str | None) -> tuple[str, ...]:
    """The distinct non-empty bases, without trailing slashes."""
    found = (b.rstrip("/") for b in bases if b)
    return tuple(dict.fromkeys(b for b in found if b))


def _own_path(url: str, bases: Iterable[str]) -> str | None:
    """The path after ``/api/files/`` when ``url`` is one of our file links."""
    if url.startswith(URL_PREFIX):
        return urlsplit(url).path[len(URL_PREFIX) :]
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    origin = (parts.scheme.lower(), parts.netloc.lower())
    for base in bases:
        home = urlsplit(base)
        prefix = f"{home.path.rstrip('/')}{URL_PREFIX}"
        same = origin == (home.scheme.lower(), home.netloc.lower())
        if same and parts.path.startswith(prefix):
            return parts.path[len(prefix) :]
    return None


def own_token(url: str, bases: Iterable[str]) -> str | None:
    """The token of one of aihub's own file links, "" for a link of ours that
    names no file, None for any other URL (external or data:)."""
    path = _own_path(url, bases)
    if path is None:
        return None
    return path if _TOKEN.match(path) else ""


def _part_url(part: dict[str, Any]) -> str | None:
    """The image URL of an OpenAI ``image_url``, seed ``image`` or Anthropic
    ``image`` part (``source: {"type": "url", "url": ...}``)."""
    kind = part.get("type")
    source = part.get("source")
    if kind == "image" and isinstance(source, dict):
        url = source.get("url") if source.get("type") == "url" else None
    elif kind == "image":
        url = part.get("image")
    elif kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
    else:
        return None
    return url if isinstance(url, str) else None


def _with_url(part: dict[str, Any], url: str) -> dict[str, Any]:
    if part.get("type") == "image":
        return {**part, "image": url}
    image = part.get("image_url")
    if isinstance(image, dict):
        return {**part, "image_url": {**image, "url": url}}
    return {**part, "image_url": url}


def own_image_urls(
    contents: Iterable[str | list[dict[str, Any]] | None], files: OwnFiles
) -> list[str]:
    """Every image URL in ``contents`` that is one of our file links."""
    urls: list[str] = []
    for content in contents:
        if not isinstance(content, list):
            continue
        for part in content:
            url = _part_url(part)
            if url is not None and own_token(url, files.bases) is not None:
                urls.append(url)
    return urls


async def _own_image(
    session: AsyncSession, files: OwnFiles, *, user_id: int, url: str
) -> StoredFile:
    token = own_token(url, files.bases)
    if not token:
        raise StoredFileNotFoundError(f"Unknown file: {url}")
    row = await get_file(session, user_id=user_id, token=token)
    if not row.media_type.startswith("image/"):
        raise UnsupportedFileError(f"Not an image: {row.filename}")
    return row


async def check_image_links(
    outbound: OutboundPolicy | None,
    contents: Iterable[str | list[dict[str, Any]] | None],
    bases: Sequence[str],
) -> None:
    """ImageUrlRefusedError (403) when an external image link names an address
    the outbound policy refuses: a provider on the operator's network (a local
    vLLM) would fetch it on the user's behalf. ``data:`` URLs and aihub's own
    links pass; so does a name that does not resolve here (nothing to reach)."""
    if outbound is None:
        return
    for content in contents:
        if not isinstance(content, list):
            continue
        for part in content:
            url = _part_url(part) if isinstance(part, dict) else None
            if url is None or url.startswith("data:"):
                continue
            if own_token(url, bases) is not None:
                continue
            try:
                await outbound.check_url(url)
            except OutboundRefusedError as exc:
                if "does not resolve" not in exc.rule:
                    raise ImageUrlRefusedError(exc.explain("image URL")) from exc


async def check_own_images(
    session: AsyncSession, files: OwnFiles, *, user_id: int, urls: Iterable[str]
) -> None:
    """StoredFileNotFoundError unless every link names one of the caller's
    images (checked before a message holding them is stored)."""
    for url in dict.fromkeys(urls):
        await _own_image(session, files, user_id=user_id, url=url)


async def _data_url(
    session: AsyncSession, files: OwnFiles, *, user_id: int, url: str
) -> str:
    row = await _own_image(session, files, user_id=user_id, url=url)
    try:
        data = await read_file(files.blobs, row)
    except FileNotFoundError as exc:
        raise StoredFileNotFoundError() from exc
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{row.media_type};base64,{encoded}"


async def inline_own_images(
    session: AsyncSession,
    files: OwnFiles,
    *,
    user_id: int,
    messages: Sequence[ChatMessage],
) -> list[ChatMessage]:
    """The conversation with every image part naming one of our file links
    turned into a ``data:`` URL of the file's bytes (a provider cannot fetch
    our links: they need the owner's bearer, and may not be reachable at all).
    External and data: URLs pass unchanged; the messages given are not
    modified. Another user's or an unknown file: StoredFileNotFoundError."""
    wanted = own_image_urls((m.content for m in messages), files)
    if not wanted:
        return list(messages)
    inlined: dict[str, str] = {}
    for url in dict.fromkeys(wanted):
        inlined[url] = await _data_url(session, files, user_id=user_id, url=url)
    out: list[ChatMessage] = []
    for message in messages:
        content = message.content
        if isinstance(content, list):
            content = [_inline_part(part, inlined) for part in content]
        out.append(dataclasses.replace(message, content=content))
    return out


def _inline_part(part: dict[str, Any], inlined: dict[str, str]) -> dict[str, Any]:
    url = _part_url(part)
    if url is None or url not in inlined:
        return part
    return _with_url(part, inlined[url])

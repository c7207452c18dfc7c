"""The blob store: bytes under string keys. Local disk by default
(``settings.files_dir``, else ``data_dir/files``), or an S3-compatible bucket
(``AIHUB_BLOB_STORE=s3``, see ``aihub.files.s3``); one interface, so callers do
not care which. A missing key raises FileNotFoundError in both.

Writes go to a temporary file first and are renamed into place, so a reader
never sees half a file; disk work runs in a thread, off the event loop."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Protocol

from aihub.core.settings import Settings


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """A path to serve the blob from, when it lives on this machine."""

    async def aclose(self) -> None:
        """Let go of clients and connections (at shutdown)."""


class BlobKeyError(ValueError):
    """A key that would leave the store's directory."""


def check_key(key: str) -> list[str]:
    """The key's parts; BlobKeyError for an empty part, ``.``, ``..`` or ``\\``."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise BlobKeyError(key)
    return parts


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key))

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            temp.write_bytes(data)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def aclose(self) -> None:
        """Nothing held open."""


def build_blob_store(settings: Settings) -> BlobStore:
    """The store the settings name: one per process, built by the lifespan
    (the runtime's ``blobs``), which closes it at shutdown."""
    if settings.blob_store != "s3":
        return LocalBlobStore(settings.resolved_files_dir)
    from aihub.files.s3 import S3BlobStore, S3Config  # here: s3 imports this module

    secret = settings.s3_secret_access_key
    return S3BlobStore(
        S3Config(
            bucket=settings.s3_bucket or "",
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            prefix=settings.s3_prefix,
        )
    )

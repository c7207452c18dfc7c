"""Dependencies of the files routes: the blob store and the links' base URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from aihub.core.deps import AppSettings
from aihub.files.blobs import BlobStore
from aihub.runtime import RuntimeDep


def _blobs(runtime: RuntimeDep) -> BlobStore:
    return runtime.blobs


def _base_url(request: Request, settings: AppSettings) -> str:
    """AIHUB_PUBLIC_URL when set, else the URL this request came to."""
    return settings.public_url or str(request.base_url).rstrip("/")


Blobs = Annotated[BlobStore, Depends(_blobs)]
BaseUrl = Annotated[str, Depends(_base_url)]

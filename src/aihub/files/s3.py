"""The S3-compatible blob store (AWS S3, MinIO, Cloudflare R2...), on
aiobotocore (the optional extra ``s3``). Keys are laid out as on local disk,
behind the configured prefix. One client per store, made on first use and
closed by ``aclose()``."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aihub.files.blobs import check_key

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class S3Config:
    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    prefix: str = ""


class S3BlobStore:
    def __init__(self, config: S3Config) -> None:
        self.config = config
        prefix = config.prefix.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    def object_key(self, key: str) -> str:
        """The object's name in the bucket: the prefix, then the checked key."""
        check_key(key)
        return self.prefix + key

    def local_path(self, key: str) -> Path | None:
        return None

    async def put(self, key: str, data: bytes) -> None:
        client = await self._get_client()
        await client.put_object(
            Bucket=self.config.bucket, Key=self.object_key(key), Body=data
        )

    async def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none (as on disk)."""
        name = self.object_key(key)
        client = await self._get_client()
        try:
            response = await client.get_object(Bucket=self.config.bucket, Key=name)
        except client.exceptions.ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise FileNotFoundError(key) from exc
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is fine (S3 says so too)."""
        client = await self._get_client()
        await client.delete_object(Bucket=self.config.bucket, Key=self.object_key(key))

    async def aclose(self) -> None:
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    async def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await self._open_client()
        return self._client

    async def _open_client(self) -> Any:
        # Imported here: aiobotocore is an optional extra (and has no types).
        from aiobotocore.session import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            get_session,
        )

        config = self.config
        stack = contextlib.AsyncExitStack()
        client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                region_name=config.region,
                endpoint_url=config.endpoint_url,
                aws_access_key_id=config.access_key_id,
                aws_secret_access_key=config.secret_access_key,
            )
        )
        self._stack = stack
        return client


def _error_code(exc: Exception) -> str:
    response: Any = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))

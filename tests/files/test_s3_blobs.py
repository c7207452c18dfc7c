"""The S3-compatible blob store against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer
from pydantic import SecretStr, ValidationError

from aihub.core.settings import Settings
from aihub.files.blobs import (
    BlobKeyError,
    LocalBlobStore,
    build_blob_store,
)
from aihub.files.s3 import S3BlobStore, S3Config
from tests.factories import make_user
from tests.fakes.media_upstream import make_png

BUCKET = "aihub-test"
ACCESS_KEY = "testing-key"
SECRET_KEY = "testing-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
async def s3(s3_url: str) -> AsyncIterator[Any]:
    """A client on moto with a fresh, empty bucket."""
    async with get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ) as client:
        await client.create_bucket(Bucket=BUCKET)
        yield client
        listed = await client.list_objects_v2(Bucket=BUCKET)
        for item in listed.get("Contents", []):
            await client.delete_object(Bucket=BUCKET, Key=item["Key"])
        await client.delete_bucket(Bucket=BUCKET)


def _config(s3_url: str, prefix: str = "") -> S3Config:
    return S3Config(
        bucket=BUCKET,
        endpoint_url=s3_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        prefix=prefix,
    )


@pytest.fixture
async def store(s3: Any, s3_url: str) -> AsyncIterator[S3BlobStore]:
    blobs = S3BlobStore(_config(s3_url))
    yield blobs
    await blobs.aclose()


async def _keys(s3: Any) -> list[str]:
    listed = await s3.list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]


def _s3_settings(data_dir: Path, s3_url: str, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        blob_store="s3",
        s3_bucket=BUCKET,
        s3_endpoint_url=s3_url,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SecretStr(SECRET_KEY),
        **extra,
    )


class TestS3BlobStore:
    async def test_put_get_delete_round_trip(self, store: S3BlobStore) -> None:
        await store.put("7/ab/file.png", b"\x89PNG bytes")

        assert await store.get("7/ab/file.png") == b"\x89PNG bytes"
        await store.put("7/ab/file.png", b"replaced")
        assert await store.get("7/ab/file.png") == b"replaced"
        await store.delete("7/ab/file.png")
        with pytest.raises(FileNotFoundError):
            await store.get("7/ab/file.png")
        await store.delete("7/ab/file.png")  # a missing key is fine, as on disk

    async def test_a_missing_key_raises_what_the_local_store_raises(
        self, store: S3BlobStore, tmp_path: Path
    ) -> None:
        with pytest.raises(FileNotFoundError) as local:
            await LocalBlobStore(tmp_path).get("1/missing.png")
        with pytest.raises(FileNotFoundError) as remote:
            await store.get("1/missing.png")

        assert type(remote.value) is type(local.value)

    async def test_keys_that_local_refuses_are_refused_too(
        self, store: S3BlobStore
    ) -> None:
        for key in ("", "../x", "a//b", "a\\b", "./a"):
            with pytest.raises(BlobKeyError):
                await store.put(key, b"x")

    async def test_no_local_path(self, store: S3BlobStore) -> None:
        assert store.local_path("1/a.png") is None

    async def test_the_prefix_goes_in_front_of_every_key(
        self, s3: Any, s3_url: str
    ) -> None:
        blobs = S3BlobStore(_config(s3_url, prefix="/tenant/media/"))
        try:
            await blobs.put("3/cd/image.png", b"data")
            assert await _keys(s3) == ["tenant/media/3/cd/image.png"]
            assert await blobs.get("3/cd/image.png") == b"data"
            await blobs.delete("3/cd/image.png")
            assert await _keys(s3) == []
        finally:
            await blobs.aclose()

    async def test_the_client_is_made_again_after_aclose(
        self, store: S3BlobStore
    ) -> None:
        await store.put("1/a", b"one")
        await store.aclose()

        assert await store.get("1/a") == b"one"


class TestBuildBlobStore:
    async def test_settings_pick_s3(self, s3: Any, s3_url: str, tmp_path: Path) -> None:
        settings = _s3_settings(tmp_path, s3_url, s3_prefix="p")
        blobs = build_blob_store(settings)
        try:
            assert isinstance(blobs, S3BlobStore)
            await blobs.put("1/x.bin", b"x")
            assert await _keys(s3) == ["p/1/x.bin"]
        finally:
            await blobs.aclose()

    def test_local_stays_the_default(self, tmp_path: Path) -> None:
        settings = Settings(_env_file=None, data_dir=tmp_path)

        assert settings.blob_store == "local"
        assert isinstance(build_blob_store(settings), LocalBlobStore)

    def test_s3_without_a_bucket_is_refused_at_startup(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="AIHUB_S3_BUCKET"):
            Settings(_env_file=None, data_dir=tmp_path, blob_store="s3")

    def test_settings_come_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("AIHUB_BLOB_STORE", "s3")
        monkeypatch.setenv("AIHUB_S3_BUCKET", "media")
        monkeypatch.setenv("AIHUB_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
        monkeypatch.setenv("AIHUB_S3_SECRET_ACCESS_KEY", "s3cr3t")

        settings = Settings(_env_file=None, data_dir=tmp_path)

        assert (settings.blob_store, settings.s3_bucket) == ("s3", "media")
        assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
        assert settings.s3_secret_access_key is not None
        assert settings.s3_secret_access_key.get_secret_value() == "s3cr3t"
        assert settings.s3_region == "us-east-1"


class TestServingFromS3:
    @pytest.fixture
    def settings(  # overrides the shared fixture: the app stores in S3
        self, settings: Settings, s3: Any, s3_url: str
    ) -> Settings:
        return settings.model_copy(
            update={
                "blob_store": "s3",
                "s3_bucket": BUCKET,
                "s3_endpoint_url": s3_url,
                "s3_access_key_id": ACCESS_KEY,
                "s3_secret_access_key": SecretStr(SECRET_KEY),
                "s3_prefix": "app",
            }
        )

    async def test_an_upload_lands_in_the_bucket_and_is_served_back(
        self, client: httpx.AsyncClient, s3: Any
    ) -> None:
        user = await make_user(client)
        png = make_png(12, 8)

        response = await client.post(
            "/api/files/upload",
            files={"file": ("a.png", png, "image/png")},
            headers=user.headers,
        )

        assert response.status_code == 200, response.text
        [key] = await _keys(s3)
        assert key.startswith("app/")
        served = await client.get(response.json()["imageUrl"], headers=user.headers)
        assert served.status_code == 200
        assert served.content == png
        assert served.headers["content-type"] == "image/png"

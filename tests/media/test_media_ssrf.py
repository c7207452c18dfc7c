"""Issue 12, defect 1: a provider that reports its result file on another host
cannot make aihub fetch an internal address and store it as the user's artifact.

The provider (the fake SuperDuperAI) lives on 127.0.0.1; the result file it
reports is on [::1], which no test allowance covers, behind a listener that
counts connections. Files on the provider's own origin are fetched as before."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.factories import admin_headers, make_user
from tests.fakes.listener import AcceptRecorder
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript
from tests.media.conftest import WorkerProcess
from tests.media.helpers import add_key, submit, wait_status


@pytest.fixture(autouse=True)
def _fresh_worker(media_worker_process: WorkerProcess | None) -> None:
    """Tables are emptied with RESTART IDENTITY between tests, so this test's
    keys reuse the ids of an earlier test's keys, which the session's long-lived
    ``aihub worker`` (Redis mode) still holds in its key cache: start it afresh
    so the job runs with the keys this test made."""
    if media_worker_process is not None:
        media_worker_process.proc.terminate()  # graceful: nothing left in flight
        media_worker_process.proc.wait(timeout=15)
        media_worker_process.restart()
        time.sleep(0.5)


@pytest.fixture
def recorder() -> Iterator[AcceptRecorder]:
    listener = AcceptRecorder("::1")
    yield listener
    listener.close()


async def _global_key(
    client: httpx.AsyncClient, fake: FakeMediaUpstream, secret: str
) -> None:
    response = await client.post(
        "/api/admin/api-keys/",
        json={
            "provider": "superduperai",
            "api_key": secret,
            "base_url": fake.base_url("superduperai"),
        },
        headers=await admin_headers(client),
    )
    assert response.status_code == 201, response.text


class TestResultFileOnAnotherHost:
    async def test_a_global_keys_provider_cannot_send_aihub_to_loopback(
        self,
        client: httpx.AsyncClient,
        fake_media: FakeMediaUpstream,
        recorder: AcceptRecorder,
    ) -> None:
        await _global_key(client, fake_media, "sd-hostile")
        fake_media.script(
            "sd-hostile",
            MediaScript(
                polls=1, result_url=f"{recorder.url}/latest/meta-data/iam/creds"
            ),
        )
        user = await make_user(client)

        job = await submit(client, user)
        done = await wait_status(client, user, job["id"], {"completed", "failed"})
        await recorder.settle()

        assert done["status"] == "failed", done
        assert done["error_type"] == "forbidden"
        assert "loopback address (::1)" in done["error_message"]
        assert done["artifacts"] == []
        assert recorder.accepted == 0

    async def test_a_users_key_cannot_either(
        self,
        client: httpx.AsyncClient,
        fake_media: FakeMediaUpstream,
        recorder: AcceptRecorder,
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-user-hostile")
        fake_media.script(
            "sd-user-hostile",
            MediaScript(polls=1, result_url=f"{recorder.url}/file.png"),
        )

        job = await submit(client, user)
        done = await wait_status(client, user, job["id"], {"completed", "failed"})
        await recorder.settle()

        assert done["status"] == "failed", done
        assert done["error_type"] == "forbidden"
        assert recorder.accepted == 0

    async def test_a_file_on_the_providers_own_origin_is_stored(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        await _global_key(client, fake_media, "sd-own-origin")
        fake_media.script("sd-own-origin", MediaScript(polls=1))
        user = await make_user(client)

        job = await submit(client, user)
        done = await wait_status(client, user, job["id"], {"completed", "failed"})

        assert done["status"] == "completed", done
        assert len(done["artifacts"]) == 1

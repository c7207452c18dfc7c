"""Issue 14: within one attempt, a media provider's 5xx before it took the job
is retried at once as chat's are (AIHUB_UPSTREAM_RETRIES, with backoff); once
the provider holds the job, a failure goes to the job's own retry, which
resumes the upstream job rather than paying for a new one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from aihub.core.settings import Settings
from tests.factories import make_user
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript
from tests.media.conftest import WorkerProcess
from tests.media.helpers import add_key, read_events, submit, wait_status

RETRIES = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"upstream_retries": RETRIES})


@pytest.fixture(autouse=True)
def _retrying_worker(media_worker_process: WorkerProcess | None) -> Iterator[None]:
    """With Redis the jobs run in the session's ``aihub worker``: same setting."""
    if media_worker_process is None:
        yield
        return
    media_worker_process.respawn(upstream_retries=RETRIES)
    yield
    media_worker_process.respawn()


async def test_a_5xx_on_submit_is_retried_within_the_attempt(
    client: httpx.AsyncClient, fake_media: FakeMediaUpstream
) -> None:
    user = await make_user(client)
    await add_key(client, user, fake_media, "sd-blip")
    fake_media.script("sd-blip", MediaScript(polls=1, submit_failures=[500, 503]))
    job = await submit(client, user)

    frames = await read_events(client, user, job["id"])

    names = [name for name, _, _ in frames]
    assert names[-1] == "completed"
    assert names.count("started") == 1
    done = await wait_status(client, user, job["id"], {"completed"})
    assert done["attempts"] == 1
    assert len(fake_media.requests_to("/generate-image")) == 3
    keys = (await client.get("/api/api-keys/", headers=user.headers)).json()
    assert [k["status"] for k in keys] == ["ok"]


async def test_the_attempt_gives_up_after_the_retries_and_the_job_retries(
    client: httpx.AsyncClient, fake_media: FakeMediaUpstream
) -> None:
    user = await make_user(client)
    await add_key(client, user, fake_media, "sd-outage")
    fake_media.script("sd-outage", MediaScript(polls=1, submit_failures=[500] * 3))
    job = await submit(client, user)

    frames = await read_events(client, user, job["id"])

    assert frames[-1][0] == "completed"
    retry = [data for name, data, _ in frames if name == "queued"][1]
    assert (retry["attempt"], retry["error_type"]) == (1, "api_error")
    done = await wait_status(client, user, job["id"], {"completed"})
    assert done["attempts"] == 2
    assert len(fake_media.requests_to("/generate-image")) == 4


async def test_a_failure_after_the_provider_took_the_job_is_not_retried_in_place(
    client: httpx.AsyncClient, fake_media: FakeMediaUpstream
) -> None:
    user = await make_user(client)
    await add_key(client, user, fake_media, "sd-poll-blip")
    fake_media.script("sd-poll-blip", MediaScript(polls=2, poll_failures=[502]))
    job = await submit(client, user)

    done = await wait_status(client, user, job["id"], {"completed", "failed"})

    assert done["status"] == "completed"
    assert done["attempts"] == 2  # the job's retry, resuming the upstream job
    assert len(fake_media.requests_to("/generate-image")) == 1

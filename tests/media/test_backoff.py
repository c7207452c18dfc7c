"""Issue 14: a media job that failed transiently waits its backoff (1, 2, 4... x
AIHUB_MEDIA_RETRY_DELAY_S) before its next attempt, says so in its events, and
is not picked up early by the "start this user's next job" step when another
of the user's jobs ends.

The spacing is observed at the fake provider (the arrival times of the
attempts it receives): a lower bound the backoff guarantees, not a speed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from aihub.core.settings import Settings
from tests.factories import make_user
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript
from tests.media.conftest import WorkerProcess
from tests.media.helpers import add_key, read_events, submit, wait_status

BASE_S = 1.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"media_retry_delay_s": BASE_S})


@pytest.fixture(autouse=True)
def _slow_retry_worker(
    media_worker_process: WorkerProcess | None,
) -> Iterator[None]:
    """With Redis the jobs run in the session's ``aihub worker``: give it the
    same retry delay for these tests, and its own settings back afterwards."""
    if media_worker_process is None:
        yield
        return
    media_worker_process.respawn(media_retry_delay_s=BASE_S)
    yield
    media_worker_process.respawn()


def _submits(fake: FakeMediaUpstream, prompt: str) -> list[float]:
    return [
        r.at
        for r in fake.requests_to("/generate-image")
        if isinstance(r.json, dict) and r.json.get("prompt") == prompt
    ]


class TestBackoff:
    async def test_attempts_reach_the_provider_at_least_the_backoff_apart(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-500")
        fake_media.script("sd-500", MediaScript(submit_failures=[500, 500, 500]))
        job = await submit(client, user, prompt="always 500")

        frames = await read_events(client, user, job["id"])

        assert frames[-1][0] == "failed"
        arrivals = _submits(fake_media, "always 500")
        assert len(arrivals) == 3
        assert arrivals[1] - arrivals[0] >= BASE_S
        assert arrivals[2] - arrivals[1] >= 2 * BASE_S
        retries = [data for name, data, _ in frames if name == "queued"][1:]
        assert [(r["attempt"], r["max_attempts"]) for r in retries] == [(1, 3), (2, 3)]
        for retry, step in zip(retries, (BASE_S, 2 * BASE_S), strict=True):
            assert retry["retry"] is True
            assert retry["error_type"] == "api_error"
            assert retry["status"] == "queued"
            assert retry["job_id"] == job["id"]
            assert step <= retry["retry_in_s"] < step + BASE_S
            assert datetime.fromisoformat(retry["retry_at"]).tzinfo is not None
        # each next attempt starts no earlier than the time its retry announced
        starts = [data for name, data, _ in frames if name == "started"]
        assert [s["attempt"] for s in starts] == [1, 2, 3]
        done = await wait_status(client, user, job["id"], {"failed"})
        assert done["attempts"] == 3

    async def test_another_job_ending_does_not_start_a_job_in_its_backoff(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        # one job at a time for this user (AIHUB_MEDIA_USER_CONCURRENCY=1)
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-one-500")
        fake_media.script("sd-one-500", MediaScript(polls=1, submit_failures=[500]))
        first = await submit(client, user, prompt="fails once")
        waiting = await wait_status(client, user, first["id"], {"queued", "failed"})
        while waiting["attempts"] < 1 or waiting["status"] != "queued":
            waiting = await wait_status(client, user, first["id"], {"queued"})

        second = await submit(client, user, prompt="works")
        done = await wait_status(client, user, second["id"], {"completed", "failed"})
        assert done["status"] == "completed"

        finished = await wait_status(client, user, first["id"], {"completed", "failed"})
        assert finished["status"] == "completed"
        assert finished["attempts"] == 2
        arrivals = _submits(fake_media, "fails once")
        assert len(arrivals) == 2
        assert arrivals[1] - arrivals[0] >= BASE_S
        [works] = _submits(fake_media, "works")
        assert arrivals[0] < works


class TestBackoffDelay:
    def test_doubles_from_the_base_and_stops_at_the_ceiling(self) -> None:
        from aihub.media.queue import MAX_BACKOFF_S, backoff_delay

        steps = [backoff_delay(2.0, n, jitter=False) for n in range(1, 9)]
        assert steps == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, MAX_BACKOFF_S, MAX_BACKOFF_S]
        for attempt in range(1, 5):
            jittered = backoff_delay(2.0, attempt)
            assert steps[attempt - 1] <= jittered < steps[attempt - 1] + 1.0

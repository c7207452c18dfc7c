"""Cancel, reconnect with Last-Event-ID, isolation between users, validation
against the catalog, retries and failures in the seed's error types."""

from __future__ import annotations

import threading

import httpx

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript
from tests.media.helpers import add_key, read_events, submit, wait_status


async def wait_progress(
    client: httpx.AsyncClient, user: object, job_id: int
) -> dict[str, object]:
    """The job once it reports its first progress."""
    job = await wait_status(client, user, job_id, {"running"})  # type: ignore[arg-type]
    while job["stage"] in ("started", "submitting", "queued"):
        job = await wait_status(client, user, job_id, {"running", "completed"})  # type: ignore[arg-type]
    return job


class TestCancel:
    async def test_cancel_stops_a_running_job_and_ends_its_stream(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-cancel")
        gate = threading.Event()
        fake_media.script("sd-cancel", MediaScript(polls=2, gate=gate))
        job = await submit(client, user)
        await wait_progress(client, user, job["id"])

        response = await client.delete(
            f"/api/media/jobs/{job['id']}", headers=user.headers
        )

        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"
        frames = await read_events(client, user, job["id"])
        assert frames[-1][0] == "cancelled"
        assert frames[-1][1]["status"] == "cancelled"
        polls_at_cancel = len(fake_media.requests_to("/api/v1/file/"))
        gate.set()
        again = await client.get(f"/api/media/jobs/{job['id']}", headers=user.headers)
        assert again.json()["status"] == "cancelled"
        assert again.json()["artifacts"] == []
        second = await client.delete(
            f"/api/media/jobs/{job['id']}", headers=user.headers
        )
        assert second.status_code == 409
        assert second.json()["error_type"] == "conflict"
        # the worker stopped following the upstream job
        await wait_status(client, user, job["id"], {"cancelled"})
        assert len(fake_media.requests_to("/api/v1/file/")) <= polls_at_cancel + 2

    async def test_cancel_a_queued_job_before_it_starts(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-q")
        gate = threading.Event()
        fake_media.script("sd-q", MediaScript(polls=1, gate=gate))
        first = await submit(client, user)
        await wait_status(client, user, first["id"], {"running"})
        queued = await submit(client, user)  # the user's limit is 1: it waits

        response = await client.delete(
            f"/api/media/jobs/{queued['id']}", headers=user.headers
        )

        assert response.json()["status"] == "cancelled"
        gate.set()
        await wait_status(client, user, first["id"], {"completed"})
        frames = await read_events(client, user, queued["id"])
        assert [name for name, _, _ in frames] == ["queued", "cancelled"]
        assert len(fake_media.requests_to("/generate-image")) == 1


class TestReconnect:
    async def test_last_event_id_resumes_after_what_the_client_saw(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-resume")
        job = await submit(client, user)
        everything = await read_events(client, user, job["id"])
        assert everything[-1][0] == "completed"

        rest = await read_events(client, user, job["id"], last_event_id=2)

        assert rest == everything[2:]
        assert rest[0][2] == 3

    async def test_a_client_that_has_everything_gets_no_content(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-all")
        job = await submit(client, user)
        everything = await read_events(client, user, job["id"])

        response = await client.get(
            f"/api/media/jobs/{job['id']}/events",
            headers={**user.headers, "Last-Event-ID": str(everything[-1][2])},
        )

        assert response.status_code == 204

    async def test_reconnecting_mid_job_gets_the_missed_events_then_live_ones(
        self, live_server: LiveServer, fake_media: FakeMediaUpstream
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
            user = await make_user(client)
            await add_key(client, user, fake_media, "sd-mid")
            gate = threading.Event()
            fake_media.script("sd-mid", MediaScript(polls=3, gate=gate))
            job = await submit(client, user)
            url = f"/api/media/jobs/{job['id']}/events"
            seen: list[int] = []
            async with client.stream("GET", url, headers=user.headers) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        seen.append(int(line[4:]))
                    if len(seen) == 3:  # queued, started, first progress
                        break

            gate.set()
            rest = await read_events(client, user, job["id"], last_event_id=seen[-1])

        assert seen == [1, 2, 3]
        assert rest[0][2] == 4
        assert rest[-1][0] == "completed"
        ids = seen + [event_id for _, _, event_id in rest]
        assert ids == list(range(1, len(ids) + 1))


class TestIsolation:
    async def test_another_users_job_is_not_found_and_left_alone(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        owner = await make_user(client)
        other = await make_user(client)
        await add_key(client, owner, fake_media, "sd-own")
        gate = threading.Event()
        fake_media.script("sd-own", MediaScript(polls=1, gate=gate))
        job = await submit(client, owner)
        path = f"/api/media/jobs/{job['id']}"

        for method, url in (
            ("GET", path),
            ("DELETE", path),
            ("GET", f"{path}/events"),
        ):
            response = await client.request(method, url, headers=other.headers)
            assert response.status_code == 404, (method, url)
            assert response.json() == {
                "error": True,
                "error_message": "Media job not found",
                "error_type": "not_found",
            }
        listed = await client.get("/api/media/jobs", headers=other.headers)
        assert listed.json() == []
        gate.set()
        done = await wait_status(client, owner, job["id"], {"completed"})
        assert done["status"] == "completed"
        artifact = done["artifacts"][0]["url"]
        stolen = await client.get(artifact, headers=other.headers)
        assert stolen.status_code == 404

    async def test_list_filters_by_status_and_kind(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-list")
        image = await submit(client, user)
        await wait_status(client, user, image["id"], {"completed"})
        video = await submit(
            client, user, kind="video", model="sora", size="480x480", duration=5
        )
        await wait_status(client, user, video["id"], {"completed"})

        videos = await client.get(
            "/api/media/jobs", params={"kind": "video"}, headers=user.headers
        )
        done = await client.get(
            "/api/media/jobs",
            params={"status": "completed", "limit": 1},
            headers=user.headers,
        )
        bad = await client.get(
            "/api/media/jobs", params={"status": "nope"}, headers=user.headers
        )

        assert [j["id"] for j in videos.json()] == [video["id"]]
        assert [j["id"] for j in done.json()] == [video["id"]]
        assert bad.status_code == 422
        assert bad.json()["error_type"] == "validation_error"


COMBINATIONS: list[tuple[dict[str, object], str]] = [
    ({"size": "512x512"}, "size must be one of"),
    ({"count": 5}, "count must be between 1 and 4"),
    ({"model": "no-such-model"}, "is not a known image model"),
    ({"duration": 5}, "takes no duration"),
    ({"kind": "video", "size": "1280x720"}, "is not a known video model"),
    (
        {
            "model": "azure-openai/sora",
            "kind": "video",
            "size": "1280x720",
            "duration": 60,
        },
        "duration must be 5 to 20 seconds",
    ),
    ({"input_image": "/api/files/aaaaaaaaaaaaaaaaaaaa"}, "takes no input image"),
    ({"width": 1024}, "width and height go together"),
]
BAD_INPUT: list[dict[str, object]] = [
    {"provider": "midjourney"},
    {"priority": "urgent"},
    {"count": 0},
    {"prompt": ""},
    {"width": "wide"},
    {"extra": 1},
    {"kind": "audio"},
]


class TestValidation:
    async def test_combinations_the_model_does_not_accept_are_validation_errors(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-valid")
        for fields, fragment in COMBINATIONS:
            body = {
                "kind": "image",
                "provider": "superduperai",
                "model": "google-cloud/imagen4",
                "prompt": "x",
                "size": "1024x1024",
                **fields,
            }
            if "width" in fields:
                del body["size"]

            response = await client.post(
                "/api/media/jobs", json=body, headers=user.headers
            )

            assert response.status_code == 422, (fields, response.text)
            assert response.json()["error"] is True
            assert response.json()["error_type"] == "validation_error"
            assert fragment in response.json()["error_message"], fields
        assert fake_media.requests == []
        listed = await client.get("/api/media/jobs", headers=user.headers)
        assert listed.json() == []

    async def test_bad_input_is_422_in_the_seed_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for fields in BAD_INPUT:
            body: dict[str, object] = {"kind": "image", "model": "imagen4"}
            body.update({"provider": "superduperai", "prompt": "x", **fields})
            response = await client.post(
                "/api/media/jobs", json=body, headers=user.headers
            )
            assert response.status_code == 422, fields
            assert response.json()["error_type"] == "validation_error"
        for job_id in ("0", "abc", "99999999999"):
            response = await client.get(
                f"/api/media/jobs/{job_id}", headers=user.headers
            )
            assert response.status_code == 422, job_id

    async def test_no_key_for_the_provider_is_api_key_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/media/jobs",
            json={
                "kind": "image",
                "provider": "superduperai",
                "model": "imagen4",
                "prompt": "x",
            },
            headers=user.headers,
        )
        assert response.status_code == 400
        assert response.json()["error_type"] == "api_key_not_found"

    async def test_without_credentials_it_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/media/jobs")
        assert response.status_code == 401
        assert response.json()["error_type"] == "unauthorized"


class TestFailures:
    async def test_transient_errors_are_retried_with_the_same_job(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-flaky")
        fake_media.script(
            "sd-flaky", MediaScript(polls=2, submit_failures=[503], poll_failures=[])
        )
        job = await submit(client, user)

        frames = await read_events(client, user, job["id"])

        names = [name for name, _, _ in frames]
        assert names[-1] == "completed"
        assert names.count("started") == 2
        retry = [data for name, data, _ in frames if name == "queued"][1]
        assert retry["retry"] is True
        assert retry["error_type"] == "api_error"
        done = await wait_status(client, user, job["id"], {"completed"})
        assert done["attempts"] == 2
        assert len(fake_media.requests_to("/generate-image")) == 2

    async def test_a_poll_failure_resumes_the_upstream_job_without_paying_twice(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-poll")
        fake_media.script("sd-poll", MediaScript(polls=3, poll_failures=[502]))
        job = await submit(client, user)

        done = await wait_status(client, user, job["id"], {"completed", "failed"})

        assert done["status"] == "completed"
        assert done["attempts"] == 2
        assert len(fake_media.requests_to("/generate-image")) == 1

    async def test_transient_errors_fail_the_job_after_the_last_attempt(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-down")
        fake_media.script("sd-down", MediaScript(submit_failures=[500, 500, 500, 500]))
        job = await submit(client, user)

        frames = await read_events(client, user, job["id"])

        assert frames[-1][0] == "failed"
        assert frames[-1][1]["error_type"] == "api_error"
        done = await wait_status(client, user, job["id"], {"failed"})
        assert done["attempts"] == 3
        assert done["error_type"] == "api_error"

    async def test_a_generation_the_provider_reports_failed_is_not_retried(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-bad")
        fake_media.script("sd-bad", MediaScript(polls=1, fail_generation=True))
        job = await submit(client, user)

        frames = await read_events(client, user, job["id"])

        assert [n for n, _, _ in frames].count("started") == 1
        assert frames[-1][0] == "failed"
        assert frames[-1][1]["error_type"] == "api_error"
        stats = await client.get("/api/statistics/usage", headers=user.headers)
        assert stats.json()["total_cost"] == 0

    async def test_out_of_credit_is_billing(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-poor")
        fake_media.script("sd-poor", MediaScript(submit_failures=[402]))
        job = await submit(client, user)

        done = await wait_status(client, user, job["id"], {"failed"})

        assert done["error_type"] == "billing"
        assert done["attempts"] == 1

    async def test_a_rejected_key_rotates_to_the_next_one(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-revoked")
        await add_key(client, user, fake_media, "sd-good")
        fake_media.script("sd-revoked", MediaScript(submit_failures=[401, 401]))
        job = await submit(client, user)
        second = None
        done = await wait_status(client, user, job["id"], {"completed", "failed"})
        assert done["status"] == "completed"
        second = await submit(client, user)
        done = await wait_status(client, user, second["id"], {"completed", "failed"})
        assert done["status"] == "completed"
        keys = [r.key for r in fake_media.requests_to("/generate-image")]
        assert keys.count("sd-good") == 2
        assert keys.count("sd-revoked") <= 1

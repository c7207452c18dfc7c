"""Image and video jobs end to end against the fake SuperDuperAI, followed over
SSE: progress, artifacts stored and served, cost recorded."""

from __future__ import annotations

import hashlib

import httpx

from tests.factories import make_user
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript
from tests.media.helpers import add_key, read_events, submit, wait_status


class TestImageJob:
    async def test_image_job_streams_progress_and_stores_the_png(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-image")
        fake_media.script("sd-image", MediaScript(polls=3))
        job = await submit(client, user, count=2, priority="interactive")
        assert job["status"] == "queued"
        assert job["priority"] == "interactive"

        frames = await read_events(client, user, job["id"])

        names = [name for name, _, _ in frames]
        assert names[0] == "queued"
        assert names[1] == "started"
        assert names[-1] == "completed"
        ids = [event_id for _, _, event_id in frames]
        assert ids == list(range(1, len(frames) + 1))
        progress = [data for name, data, _ in frames if name == "progress"]
        percents = [p["percent"] for p in progress if p["percent"] is not None]
        assert len(percents) >= 3
        assert percents == sorted(percents)
        assert 0 < percents[-1] < 100
        assert all(data["job_id"] == job["id"] for _, data, _ in frames)
        completed = frames[-1][1]
        assert completed["status"] == "completed"
        artifacts = completed["artifacts"]
        assert len(artifacts) == 2
        for artifact in artifacts:
            assert artifact["media_type"] == "image/png"
            assert (artifact["width"], artifact["height"]) == (1024, 1024)
            assert artifact["url"].startswith("http://aihub/api/files/")

        body = fake_media.requests_to("/generate-image")[0].json
        assert body == {
            "prompt": "красивый закат",
            "model": "google-cloud/imagen4",
            "count": 2,
            "width": 1024,
            "height": 1024,
        }
        assert fake_media.requests_to("/generate-image")[0].headers[
            "Authorization"
        ] == ("Bearer sd-image")

        done = await wait_status(client, user, job["id"], {"completed"})
        assert done["percent"] == 100
        assert done["cost"] == 0.04  # 2 images x 2 credits x $0.01 (default)
        assert [a["url"] for a in done["artifacts"]] == [a["url"] for a in artifacts]
        served = await client.get(artifacts[0]["url"], headers=user.headers)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert served.content.startswith(b"\x89PNG")
        assert len(served.content) == artifacts[0]["bytes"]
        files = await client.get("/api/files/", headers=user.headers)
        stored = {f["url"]: f for f in files.json()}
        assert stored[artifacts[0]["url"]]["media_job_id"] == job["id"]

        stats = await client.get("/api/statistics/usage", headers=user.headers)
        assert stats.status_code == 200
        usage = stats.json()
        assert usage["total_cost"] == 0.04
        assert usage["model_usage"][0]["model"] == "google-cloud/imagen4"

    async def test_served_artifact_is_the_file_the_provider_made(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-match")
        fake_media.script("sd-match", MediaScript(polls=1))
        job = await submit(client, user, size="896x1280")

        done = await wait_status(client, user, job["id"], {"completed"})

        artifact = done["artifacts"][0]
        served = await client.get(artifact["url"], headers=user.headers)
        assert len(fake_media.made) == 1
        made = fake_media.made[0]
        assert hashlib.sha256(served.content).digest() == hashlib.sha256(made).digest()
        assert (artifact["width"], artifact["height"]) == (896, 1280)
        assert artifact["bytes"] == len(made)
        assert fake_media.requests_to("/api/v1/file/"), "followed by polling"


class TestVideoJob:
    async def test_video_job_stores_an_mp4_with_its_duration_and_cost(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-video")
        fake_media.script("sd-video", MediaScript(polls=4))
        job = await submit(
            client,
            user,
            kind="video",
            model="azure-openai/sora",
            prompt="анимированный логотип",
            size="1280x720",
            duration=10,
        )

        frames = await read_events(client, user, job["id"])

        assert frames[-1][0] == "completed"
        assert sum(1 for name, _, _ in frames if name == "progress") >= 3
        artifact = frames[-1][1]["artifacts"][0]
        assert artifact["media_type"] == "video/mp4"
        assert (artifact["width"], artifact["height"]) == (1280, 720)
        assert artifact["duration_s"] == 10.0
        body = fake_media.requests_to("/generate-video")[0].json
        assert body == {
            "prompt": "анимированный логотип",
            "model": "azure-openai/sora",
            "count": 1,
            "width": 1280,
            "height": 720,
            "duration": 10,
        }
        done = await wait_status(client, user, job["id"], {"completed"})
        assert done["cost"] == 0.2  # 10 s x 2 credits per second x $0.01
        served = await client.get(artifact["url"], headers=user.headers)
        assert served.headers["content-type"] == "video/mp4"
        assert served.content[4:8] == b"ftyp"

    async def test_video_duration_defaults_to_the_shortest_the_model_takes(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-veo")
        job = await submit(
            client, user, kind="video", model="veo3", size="1280x720", priority="batch"
        )
        assert job["model"] == "google-cloud/veo3"
        assert job["duration"] == 5
        done = await wait_status(client, user, job["id"], {"completed"})
        assert done["cost"] == 0.15  # 5 s x 3 credits x $0.01

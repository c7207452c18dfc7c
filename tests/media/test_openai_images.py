"""OpenAI and Azure OpenAI images through jobs, editing with an uploaded image,
and the OpenAI SDK's images.generate against /v1/images/generations."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript, make_png
from tests.media.helpers import add_key, read_events, submit, wait_status


class TestOpenAIJobs:
    async def test_dall_e_3_job_through_openai(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sk-img", provider="openai")
        job = await submit(
            client,
            user,
            provider="openai",
            model="dall-e-3",
            size="1792x1024",
            quality="hd",
        )

        frames = await read_events(client, user, job["id"])

        assert [n for n, _, _ in frames][:2] == ["queued", "started"]
        assert {"percent": None, "stage": "generating"}.items() <= frames[2][1].items()
        assert frames[-1][0] == "completed"
        artifact = frames[-1][1]["artifacts"][0]
        assert (artifact["width"], artifact["height"]) == (1792, 1024)
        sent = fake_media.requests_to("/v1/images/generations")[0]
        assert sent.json == {
            "model": "dall-e-3",
            "prompt": "красивый закат",
            "n": 1,
            "size": "1792x1024",
            "quality": "hd",
            "response_format": "b64_json",
        }
        assert sent.headers["Authorization"] == "Bearer sk-img"
        done = await wait_status(client, user, job["id"], {"completed"})
        assert done["cost"] == 0.12  # catalog: hd:1792x1024

    async def test_azure_images_use_the_deployment_and_api_key_header(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(
            client,
            user,
            fake_media,
            "az-img",
            provider="azure",
            settings={
                "deployments": {"dall-e-3": "paint"},
                "api_version": "2024-10-21",
            },
        )
        job = await submit(
            client, user, provider="azure", model="dall-e-3", size="1024x1024"
        )

        done = await wait_status(client, user, job["id"], {"completed", "failed"})

        assert done["status"] == "completed", done
        sent = fake_media.requests_to("/openai/deployments/paint/images/generations")[0]
        assert "api-version=2024-10-21" in sent.path
        assert sent.headers["api-key"] == "az-img"
        assert "Authorization" not in sent.headers

    async def test_gpt_image_1_edits_an_uploaded_image(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sk-edit", provider="openai")
        png = make_png(32, 32)
        uploaded = await client.post(
            "/api/files/upload",
            files={"file": ("cat.png", png, "image/png")},
            headers=user.headers,
        )
        image_url = uploaded.json()["imageUrl"]
        job = await submit(
            client,
            user,
            provider="openai",
            model="gpt-image-1",
            size="1024x1024",
            input_image=image_url,
        )
        assert job["input_image"] == image_url

        done = await wait_status(client, user, job["id"], {"completed", "failed"})

        assert done["status"] == "completed", done
        sent = fake_media.requests_to("/v1/images/edits")[0]
        assert sent.json["model"] == "gpt-image-1"
        assert "response_format" not in sent.json


class TestSuperDuperAIEditing:
    async def test_flux_kontext_uploads_the_input_image_as_a_source_reference(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-edit")
        fake_media.script("sd-edit", MediaScript(polls=1))
        uploaded = await client.post(
            "/api/files/upload",
            files={"file": ("in.png", make_png(16, 16), "image/png")},
            headers=user.headers,
        )
        job = await submit(
            client,
            user,
            model="flux-kontext",
            size=None,
            width=512,
            height=768,
            input_image=uploaded.json()["imageUrl"],
        )

        done = await wait_status(client, user, job["id"], {"completed", "failed"})

        assert done["status"] == "completed", done
        assert fake_media.requests_to("/api/v1/file")[0].path == "/api/v1/file"
        body = fake_media.requests_to("/generate-image")[0].json
        assert body["model"] == "fal-ai/flux-pro/kontext"
        assert body["references"][0]["type"] == "source"
        assert (body["width"], body["height"]) == (512, 768)

    async def test_another_users_upload_cannot_be_used_as_input(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        owner = await make_user(client)
        other = await make_user(client)
        await add_key(client, other, fake_media, "sd-steal")
        uploaded = await client.post(
            "/api/files/upload",
            files={"file": ("in.png", make_png(), "image/png")},
            headers=owner.headers,
        )

        response = await client.post(
            "/api/media/jobs",
            json={
                "kind": "image",
                "provider": "superduperai",
                "model": "flux-kontext",
                "prompt": "x",
                "input_image": uploaded.json()["imageUrl"],
            },
            headers=other.headers,
        )

        assert response.status_code == 404
        assert response.json()["error_type"] == "not_found"
        assert fake_media.requests == []


class TestOpenAISDK:
    async def test_images_generate_returns_b64_json_and_urls(
        self, live_server: LiveServer, fake_media: FakeMediaUpstream
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
            user = await make_user(http)
            await add_key(http, user, fake_media, "sk-sdk", provider="openai")
            sdk = openai.AsyncOpenAI(
                api_key=user.token, base_url=f"{live_server.url}/v1", max_retries=0
            )
            as_b64 = await sdk.images.generate(
                model="dall-e-3",
                prompt="a lighthouse",
                size="1024x1024",
                response_format="b64_json",
            )
            as_url = await sdk.images.generate(
                model="gpt-image-1", prompt="a boat", n=2, size="1024x1536"
            )
            assert as_b64.data is not None
            assert as_url.data is not None
            raw = base64.b64decode(as_b64.data[0].b64_json or "")
            assert raw == fake_media.made[0]
            assert len(as_url.data) == 2
            url = as_url.data[0].url or ""
            assert url.startswith(f"{live_server.url}/api/files/")
            served = await http.get(url, headers=user.headers)
            assert served.content == fake_media.made[1]
            jobs = await http.get("/api/media/jobs", headers=user.headers)
            assert {j["priority"] for j in jobs.json()} == {"interactive"}
            await sdk.close()

    async def test_sdk_errors_come_in_openais_shape(
        self, live_server: LiveServer, fake_media: FakeMediaUpstream
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
            user = await make_user(http)
            await add_key(http, user, fake_media, "sk-sdk-bad", provider="openai")
            fake_media.script("sk-sdk-bad", MediaScript(submit_failures=[402]))
            sdk = openai.AsyncOpenAI(
                api_key=user.token, base_url=f"{live_server.url}/v1", max_retries=0
            )
            with pytest.raises(openai.UnprocessableEntityError) as bad_size:
                await sdk.images.generate(model="dall-e-3", prompt="x", size="256x256")
            with pytest.raises(openai.APIStatusError) as billing:
                await sdk.images.generate(model="dall-e-3", prompt="x")
            await sdk.close()

        assert bad_size.value.status_code == 422
        assert "size must be one of" in bad_size.value.message
        assert bad_size.value.body["type"] == "invalid_request_error"  # type: ignore[index]
        assert billing.value.status_code == 402
        assert "out of credit" in billing.value.message

"""Which provider serves a media request, and what a gateway key allows: the
provider's own catalog entries only, the bare-model provider choice of
/v1/images/generations, and a key's models (globs), rpm, budget and spend."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy import select

from aihub.catalog.loader import find_model, find_provider_model
from aihub.gateway.models import GatewayKey
from aihub.media.service import image_providers
from aihub.runtime import runtime_of
from tests.factories import Account, make_user
from tests.fakes.media_upstream import FakeMediaUpstream
from tests.media.helpers import add_key, submit, wait_status

ROOT = Path(__file__).resolve().parents[2]
AZURE_SETTINGS = {
    "deployments": {"gpt-image-1": "paint", "dall-e-3": "paint"},
    "api_version": "2024-10-21",
}


def _as_key(user: Account, token: str) -> Account:
    """The same user, calling with a gateway key instead of their JWT."""
    return Account(user.id, user.email, user.username, user.password, token)


async def _gateway_key(
    client: httpx.AsyncClient, user: Account, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/gateway-keys/", json={"name": "media", **fields}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _post_job(
    client: httpx.AsyncClient, user: Account, **fields: Any
) -> httpx.Response:
    body = {"kind": "image", "prompt": "a fox", **fields}
    return await client.post("/api/media/jobs", json=body, headers=user.headers)


async def _stored_spend(app: FastAPI, key_id: int) -> float:
    async with runtime_of(app).sessionmaker() as session:
        spend = await session.scalar(
            select(GatewayKey.spend_usd).where(GatewayKey.id == key_id)
        )
    assert spend is not None
    return float(spend)


async def _shown_spend(client: httpx.AsyncClient, user: Account, key_id: int) -> float:
    """spend_usd as GET /api/gateway-keys/ shows it, once it is not 0 (the
    worker charges right after it stores the job as completed)."""
    for _ in range(500):
        listed = await client.get("/api/gateway-keys/", headers=user.headers)
        shown = next(k for k in listed.json() if k["id"] == key_id)
        if shown["spend_usd"]:
            return float(shown["spend_usd"])
        await asyncio.sleep(0.02)
    return 0.0


async def _wait_stored_spend(app: FastAPI, key_id: int, expected: float) -> None:
    """The flusher (of whichever process ran the job) wrote the spend. Tests
    that charge a key wait for it: the session's ``aihub worker`` would flush
    late into the next test's key of the same id (ids restart per test)."""
    for _ in range(500):
        if await _stored_spend(app, key_id) == pytest.approx(expected):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"stored spend {await _stored_spend(app, key_id)}")


class TestProviderOwnModels:
    @pytest.mark.parametrize(
        ("provider", "kind", "model"),
        [
            ("openai", "image", "google-cloud/imagen4"),
            ("openai", "image", "imagen4"),
            ("azure", "video", "veo3"),
            ("azure", "image", "flux-kontext"),
            ("superduperai", "image", "dall-e-3"),
        ],
    )
    async def test_a_model_the_provider_does_not_list_is_422(
        self,
        client: httpx.AsyncClient,
        fake_media: FakeMediaUpstream,
        provider: str,
        kind: str,
        model: str,
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, f"k-{provider}", provider=provider)

        response = await _post_job(
            client, user, provider=provider, kind=kind, model=model
        )

        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error_type"] == "validation_error"
        assert f"not a known {kind} model of {provider!r}" in body["error_message"]
        jobs = await client.get("/api/media/jobs", headers=user.headers)
        assert jobs.json() == []
        assert fake_media.requests == []

    def test_strict_lookup_leaves_the_pricing_fallback_alone(self) -> None:
        assert find_provider_model("openai", "google-cloud/imagen4") is None
        assert find_provider_model("azure", "veo3") is None
        own = find_provider_model("superduperai", "gpt-image-1")
        assert own is not None
        assert own.provider == "superduperai"
        fallback = find_model("azure", "google-cloud/imagen4")  # chat, pricing
        assert fallback is not None
        assert fallback.provider == "superduperai"


class TestBareModelProvider:
    def test_serving_providers_in_catalog_order(self) -> None:
        assert image_providers("dall-e-3") == ["openai", "azure"]
        assert image_providers("gpt-image-1") == ["openai", "azure", "superduperai"]
        assert image_providers("imagen4") == ["superduperai"]
        assert image_providers("veo3") == []

    @pytest.mark.parametrize(
        ("keys", "model", "size", "expected"),
        [
            (("superduperai", "openai"), "dall-e-3", "1024x1024", "openai"),
            (("superduperai", "openai"), "gpt-image-1", "1024x1024", "openai"),
            (("superduperai", "azure"), "gpt-image-1", "1024x1024", "azure"),
            (("azure",), "dall-e-3", "1024x1024", "azure"),
            (("openai", "superduperai"), "imagen4", "1024x1024", "superduperai"),
        ],
    )
    async def test_images_go_to_a_provider_that_lists_the_model_and_has_a_key(
        self,
        client: httpx.AsyncClient,
        fake_media: FakeMediaUpstream,
        keys: tuple[str, ...],
        model: str,
        size: str,
        expected: str,
    ) -> None:
        user = await make_user(client)
        for provider in keys:
            extra = {"settings": AZURE_SETTINGS} if provider == "azure" else {}
            await add_key(
                client, user, fake_media, f"k-{provider}", provider=provider, **extra
            )

        response = await client.post(
            "/v1/images/generations",
            json={"model": model, "prompt": "a fox", "size": size},
            headers=user.headers,
            timeout=30,
        )

        assert response.status_code == 200, response.text
        jobs = (await client.get("/api/media/jobs", headers=user.headers)).json()
        assert [job["provider"] for job in jobs] == [expected]

    async def test_without_any_key_the_first_provider_is_named(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "k-sd")  # superduperai only

        response = await client.post(
            "/v1/images/generations",
            json={"model": "dall-e-3", "prompt": "a fox"},
            headers=user.headers,
        )

        assert response.status_code == 400, response.text
        assert "No openai API key" in response.json()["error"]["message"]
        assert fake_media.requests == []


class TestGatewayKeyLimits:
    async def test_model_globs_match_the_name_id_or_alias(
        self, app: FastAPI, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sk-glob", provider="openai")
        await add_key(client, user, fake_media, "sd-glob")
        key = await _gateway_key(client, user, models=["gpt-*", "imagen*"])
        caller = _as_key(user, key["key"])

        allowed = await _post_job(
            client, caller, provider="openai", model="gpt-image-1", size="1024x1024"
        )
        by_alias = await _post_job(
            client,
            caller,
            provider="superduperai",
            model="google-cloud/imagen4",
            size="1024x1024",
        )
        refused = await _post_job(
            client, caller, provider="openai", model="dall-e-3", size="1024x1024"
        )

        assert allowed.status_code == 201, allowed.text
        assert by_alias.status_code == 201, by_alias.text
        assert refused.status_code == 403, refused.text
        assert refused.json()["error_type"] == "forbidden"
        costs = [
            (await wait_status(client, user, job["id"], {"completed"}))["cost"]
            for job in (allowed.json(), by_alias.json())
        ]
        await _wait_stored_spend(app, key["id"], sum(costs))

    async def test_rpm_limit_is_429_with_retry_after(
        self, app: FastAPI, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-rpm")
        key = await _gateway_key(client, user, rpm=1)
        caller = _as_key(user, key["key"])

        first = await submit(client, caller)
        second = await _post_job(
            client,
            caller,
            provider="superduperai",
            model="imagen4",
            size="1024x1024",
        )

        assert second.status_code == 429, second.text
        assert second.json()["error_type"] == "rate_limit"
        assert int(second.headers["Retry-After"]) >= 1
        await wait_status(client, user, first["id"], {"completed"})
        await _wait_stored_spend(app, key["id"], 0.02)
        jwt = await _post_job(  # the user's JWT has no such limit
            client, user, provider="superduperai", model="imagen4", size="1024x1024"
        )
        assert jwt.status_code == 201, jwt.text
        await wait_status(client, user, jwt.json()["id"], {"completed", "failed"})

    async def test_completed_jobs_are_charged_to_the_key_up_to_its_budget(
        self, app: FastAPI, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-budget")
        key = await _gateway_key(client, user, budget_usd=0.02)
        caller = _as_key(user, key["key"])

        job = await submit(client, caller)  # imagen4: 2 credits = $0.02 a picture
        done = await wait_status(client, user, job["id"], {"completed", "failed"})

        assert done["status"] == "completed", done
        assert done["cost"] == pytest.approx(0.02)
        assert await _shown_spend(client, user, key["id"]) == pytest.approx(0.02)
        await _wait_stored_spend(app, key["id"], 0.02)
        over = await _post_job(client, caller, provider="superduperai", model="imagen4")
        assert over.status_code == 402, over.text
        assert over.json()["error_type"] == "billing"
        images = await client.post(
            "/v1/images/generations",
            json={"model": "imagen4", "prompt": "x"},
            headers=caller.headers,
        )
        assert images.status_code == 402, images.text
        assert images.json()["error"]["type"] == "insufficient_quota"  # OpenAI's

    async def test_jwt_jobs_charge_no_key(
        self, app: FastAPI, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-jwt")
        key = await _gateway_key(client, user)

        job = await submit(client, user)
        await wait_status(client, user, job["id"], {"completed"})

        assert await _stored_spend(app, key["id"]) == 0.0


class TestCompose:
    def test_a_worker_runs_the_jobs_the_api_only_queues(self) -> None:
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        services = compose["services"]
        api, worker = services["aihub"], services["worker"]
        assert api["environment"].get("AIHUB_REDIS_URL")  # the API only queues
        dockerfile = (ROOT / "Dockerfile").read_text()
        assert "ENTRYPOINT" not in dockerfile  # so `command` is the whole argv
        assert worker["command"] in (["aihub", "worker"], "aihub worker")
        assert worker.get("build") == api.get("build")
        assert worker["environment"] == api["environment"]
        assert worker["volumes"] == api["volumes"]
        assert {"postgres", "redis"} <= set(worker["depends_on"])

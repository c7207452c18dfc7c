"""The background probe against the fake upstream: keys come back when they
work again, stay aside when they do not, and an empty pool is logged."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
from fastapi import FastAPI
from structlog.testing import capture_logs

from aihub.provider_keys.pool import KeyPool
from aihub.provider_keys.probe import (
    KeyProbe,
    default_check,
    probe_model,
    probe_round,
)
from aihub.providers.errors import UpstreamAuthFailed
from aihub.runtime import runtime_of
from tests.factories import Account, admin_headers, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.provider_keys.builders import add_key, picks, statuses


async def _key(
    client: httpx.AsyncClient, user: Account, upstream: FakeUpstream, secret: str
) -> int:
    return await add_key(
        client, user.headers, secret, base_url=upstream.base_url("openai")
    )


async def _round(app: FastAPI, pool: KeyPool, http: aiohttp.ClientSession) -> list[int]:
    report = await probe_round(
        pool, state=runtime_of(app).infra.state, check=default_check(http)
    )
    await pool.flush()
    return report.restored


class TestProbe:
    async def test_brings_back_a_rejected_key_once_it_works(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        key = await _key(client, user, fake_upstream, "sk-was-revoked")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.report(UpstreamAuthFailed("revoked"))
        assert (await statuses(pool, user))[key].status == "INVALID"
        assert await _round(app, pool, http) == [key]
        assert [r.path for r in fake_upstream.requests] == ["/v1/models"]
        assert (await statuses(pool, user))[key].status == "OK"
        assert await picks(pool, user, 1) == [key]
        body = (await client.get(f"/api/api-keys/{key}", headers=user.headers)).json()
        assert body["status"] == "ok"
        assert body["last_error"] is None

    async def test_a_key_still_rejected_stays_invalid_and_the_pool_says_so(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-still-revoked", default=Reply(status=401))
        key = await _key(client, user, fake_upstream, "sk-still-revoked")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.auth_failed("revoked")
        with capture_logs() as events:
            assert await _round(app, pool, http) == []
        assert (await statuses(pool, user))[key].status == "INVALID"
        [empty] = [e for e in events if e["event"] == "key_pool_empty"]
        assert empty["log_level"] == "warning"
        assert empty["provider"] == "openai"
        assert empty["user_id"] == user.id

    async def test_an_invalid_key_is_not_probed_again_at_once(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-revoked-for-good", default=Reply(status=401))
        await _key(client, user, fake_upstream, "sk-revoked-for-good")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.auth_failed("revoked")
        await _round(app, pool, http)
        await _round(app, pool, http)
        assert len(fake_upstream.requests) == 1

    async def test_a_key_out_of_credit_is_tried_with_a_one_token_completion(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        key = await _key(client, user, fake_upstream, "sk-topped-up")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.quota_exceeded("insufficient_quota")
        assert await _round(app, pool, http) == [key]
        models, completion = fake_upstream.requests
        assert models.path == "/v1/models"
        assert completion.path == "/v1/chat/completions"
        assert completion.json["max_completion_tokens"] == 1
        assert completion.json["model"] == probe_model("openai", fake_upstream.models)
        assert (await statuses(pool, user))[key].status == "OK"

    async def test_a_key_still_out_of_credit_stays_billing(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script(
            "sk-still-broke",
            [Reply(), Reply(status=429, error_code="insufficient_quota")],
        )
        key = await _key(client, user, fake_upstream, "sk-still-broke")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.quota_exceeded("insufficient_quota")
        assert await _round(app, pool, http) == []
        status = (await statuses(pool, user))[key]
        assert status.status == "INVALID"
        assert status.last_error is not None
        assert status.last_error.startswith("billing")

    async def test_confirms_a_key_whose_cooldown_ended(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        key = await _key(client, user, fake_upstream, "sk-rested")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.rate_limited(1)
        await pool.flush()
        assert await _round(app, pool, http) == []  # still resting: left alone
        assert fake_upstream.requests == []
        await asyncio.sleep(1.1)
        assert await _round(app, pool, http) == [key]
        body = (await client.get(f"/api/api-keys/{key}", headers=user.headers)).json()
        assert body["status"] == "ok"
        assert body["cooldown_until"] is None

    async def test_global_pool_with_no_usable_key_is_logged(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        admin = await admin_headers(client)
        user = await make_user(client)
        fake_upstream.script("sk-team-rested", default=Reply(status=429))
        await add_key(
            client,
            admin,
            "sk-team-rested",
            url="/api/admin/api-keys/",
            base_url=fake_upstream.base_url("openai"),
        )
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.rate_limited(600)
        with capture_logs() as events:
            await _round(app, pool, http)
        [empty] = [e for e in events if e["event"] == "key_pool_empty"]
        assert empty["is_global"] is True
        assert empty["statuses"] == ["cooldown"]


class TestProbeModel:
    def test_picks_the_cheapest_catalog_model_the_key_lists(self) -> None:
        assert probe_model("openai", ["gpt-4o", "gpt-4o-mini"]) == "gpt-4o-mini"

    def test_a_compatible_server_uses_its_own_first_model(self) -> None:
        assert probe_model("openai_compatible", ["llama3.2", "qwen2.5"]) == "llama3.2"

    def test_nothing_listed_and_nothing_known_is_none(self) -> None:
        assert probe_model("openai_compatible", []) is None


class TestKeyProbe:
    async def test_the_task_probes_every_interval(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        key = await _key(client, user, fake_upstream, "sk-back-soon")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.auth_failed("revoked")
        probe = KeyProbe(
            pool,
            state=runtime_of(app).infra.state,
            check=default_check(http),
            interval_s=0.05,
        )
        probe.start()
        try:
            for _ in range(200):
                if (await statuses(pool, user))[key].status == "OK":
                    break
                await asyncio.sleep(0.05)
        finally:
            await probe.close()
        assert (await statuses(pool, user))[key].status == "OK"

"""The key pool through its own API (no upstream call): rotation, cooldowns,
invalid and billing keys, global keys, cache invalidation, persistence."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from aihub.core.db import utcnow
from aihub.infra.redis_client import build_redis_client, close_client, flush
from aihub.provider_keys.pool import KeyPool
from aihub.providers.base import UpstreamAuthFailed, UpstreamRateLimited
from tests.factories import admin_headers, make_user
from tests.provider_keys.builders import (
    acquire_error,
    add_key,
    add_keys,
    picks,
    statuses,
)
from tests.provider_keys.conftest import MakeApp, pool_of


class TestRotation:
    async def test_keys_take_turns(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        keys = await add_keys(client, user, 3)
        assert await picks(pool, user, 6) == keys + keys

    async def test_lease_carries_the_decrypted_credentials(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        await add_key(
            client,
            user.headers,
            "sk-local-ollama",
            provider="openai_compatible",
            base_url="http://127.0.0.1:11434/v1",
            settings={"timeout_s": 5},
        )
        lease = await pool.acquire("openai_compatible", user_id=user.id)
        assert lease.credentials.api_key == "sk-local-ollama"
        assert lease.credentials.base_url == "http://127.0.0.1:11434/v1"
        assert lease.credentials.settings == {"timeout_s": 5}

    async def test_inactive_keys_are_not_used(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        active = await add_key(client, user.headers, "sk-active-key-1")
        await add_key(client, user.headers, "sk-paused-key-1", is_active=False)
        assert await picks(pool, user, 3) == [active] * 3

    async def test_other_providers_and_users_keys_are_not_used(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        await add_keys(client, other, 1)
        await add_keys(client, user, 1, provider="anthropic")
        error = await acquire_error(pool, user)
        assert error.error_type == "api_key_not_found"


class TestCooldown:
    async def test_a_rate_limited_key_waits_out_its_retry_after(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        first, second = await add_keys(client, user, 2)
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.rate_limited(120)
        assert await picks(pool, user, 3) == [second] * 3
        status = (await statuses(pool, user))[first]
        assert status.status == "WAIT"
        assert status.until is not None
        assert status.until > utcnow() + timedelta(seconds=100)

    async def test_without_retry_after_the_default_cooldown_applies(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        [key] = await add_keys(client, user, 1)
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.rate_limited(None)
        until = (await statuses(pool, user))[key].until
        assert until is not None
        expected = utcnow() + timedelta(seconds=pool.default_cooldown_s)
        assert abs((until - expected).total_seconds()) < 5

    async def test_a_recooled_key_keeps_the_later_deadline(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        [key] = await add_keys(client, user, 1)
        slow = await pool.acquire("openai", user_id=user.id)
        fast = await pool.acquire("openai", user_id=user.id)
        await slow.rate_limited(600)
        await fast.rate_limited(2)
        until = (await statuses(pool, user))[key].until
        assert until is not None
        assert until > utcnow() + timedelta(seconds=500)
        error = await acquire_error(pool, user, timeout_s=5)
        assert error.error_type == "rate_limit"

    async def test_when_every_key_cools_the_call_waits_for_the_first(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        soon, late = await add_keys(client, user, 2)
        for retry_after in (1, 300):
            lease = await pool.acquire("openai", user_id=user.id)
            await lease.rate_limited(retry_after)
        lease = await pool.acquire("openai", user_id=user.id, timeout_s=30)
        assert lease.key_id == soon
        assert late != soon

    async def test_fails_with_rate_limit_when_the_first_is_back_after_the_timeout(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        await add_keys(client, user, 2)
        for _ in range(2):
            lease = await pool.acquire("openai", user_id=user.id)
            await lease.rate_limited(300)
        error = await acquire_error(pool, user, timeout_s=1)
        assert error.error_type == "rate_limit"
        assert error.status_code == 429
        assert error.headers is not None
        assert 250 <= int(error.headers["Retry-After"]) <= 301


class TestInvalidAndBilling:
    async def test_auth_failure_puts_the_key_aside_as_invalid(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        bad, good = await add_keys(client, user, 2)
        lease = await pool.acquire("openai", user_id=user.id)
        assert await lease.report(UpstreamAuthFailed("Incorrect API key provided"))
        assert await picks(pool, user, 2) == [good, good]
        assert (await statuses(pool, user))[bad].status == "INVALID"
        await pool.flush()
        body = (await client.get(f"/api/api-keys/{bad}", headers=user.headers)).json()
        assert body["status"] == "invalid"
        assert body["last_error"] == "auth: Incorrect API key provided"

    async def test_every_key_rejected_is_api_key_not_found(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        await add_keys(client, user, 2)
        for _ in range(2):
            lease = await pool.acquire("openai", user_id=user.id)
            await lease.auth_failed("401")
        with capture_logs() as events:
            error = await acquire_error(pool, user, timeout_s=5)
        assert error.error_type == "api_key_not_found"
        empty = [e for e in events if e["event"] == "key_pool_empty"]
        assert empty
        assert empty[0]["log_level"] == "warning"
        assert empty[0]["provider"] == "openai"

    async def test_quota_exceeded_on_every_key_is_billing(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        keys = await add_keys(client, user, 2)
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.quota_exceeded("insufficient_quota")
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.auth_failed("revoked")
        error = await acquire_error(pool, user)
        assert error.error_type == "billing"
        assert error.status_code == 402
        await pool.flush()
        body = (
            await client.get(f"/api/api-keys/{keys[0]}", headers=user.headers)
        ).json()
        assert body["status"] == "invalid"
        assert body["last_error"] == "billing: insufficient_quota"

    async def test_no_keys_is_api_key_not_found(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        error = await acquire_error(pool, user)
        assert error.error_type == "api_key_not_found"
        assert error.status_code == 400

    async def test_a_lease_block_reports_the_provideracquire_error(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        first, second = await add_keys(client, user, 2)
        leased: list[int] = []

        async def rate_limited_call() -> None:
            async with pool.lease("openai", user_id=user.id) as lease:
                leased.append(lease.key_id)
                raise UpstreamRateLimited("slow down", retry_after=90)

        with pytest.raises(UpstreamRateLimited):
            await rate_limited_call()
        assert leased == [first]
        assert (await statuses(pool, user))[first].status == "WAIT"
        async with pool.lease("openai", user_id=user.id) as lease:
            assert lease.key_id == second


class TestGlobalKeys:
    async def test_a_user_without_keys_uses_the_global_ones(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        admin = await admin_headers(client)
        user = await make_user(client)
        shared = await add_key(
            client, admin, "sk-team-shared-1", url="/api/admin/api-keys/"
        )
        assert await picks(pool, user, 2) == [shared, shared]
        [status] = await pool.pool_status(user.id)
        assert status.id == shared
        assert status.is_global is True

    async def test_a_user_with_own_keys_does_not_use_the_global_ones(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        admin = await admin_headers(client)
        user = await make_user(client)
        await add_key(client, admin, "sk-team-shared-1", url="/api/admin/api-keys/")
        own = await add_key(client, user.headers, "sk-my-own-key-1")
        assert await picks(pool, user, 2) == [own, own]
        assert [s.id for s in await pool.pool_status(user.id)] == [own]

    async def test_removing_the_own_key_falls_back_to_global_ones(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        admin = await admin_headers(client)
        user = await make_user(client)
        shared = await add_key(
            client, admin, "sk-team-shared-1", url="/api/admin/api-keys/"
        )
        own = await add_key(client, user.headers, "sk-my-own-key-1")
        assert await picks(pool, user, 1) == [own]
        await client.delete(f"/api/api-keys/{own}", headers=user.headers)
        assert await picks(pool, user, 1) == [shared]


class TestCacheInvalidation:
    async def test_edits_reach_the_pool_at_once(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        [first] = await add_keys(client, user, 1)
        assert await picks(pool, user, 1) == [first]
        await client.put(
            f"/api/api-keys/{first}", json={"is_active": False}, headers=user.headers
        )
        assert (await acquire_error(pool, user)).error_type == "api_key_not_found"
        second = await add_key(client, user.headers, "sk-brand-new-key")
        assert await picks(pool, user, 1) == [second]

    async def test_a_new_secret_makes_an_invalid_key_healthy(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        [key] = await add_keys(client, user, 1)
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.auth_failed("expired")
        await pool.flush()
        response = await client.put(
            f"/api/api-keys/{key}",
            json={"api_key": "sk-replaced-secret"},
            headers=user.headers,
        )
        assert response.json()["status"] == "ok"
        lease = await pool.acquire("openai", user_id=user.id)
        assert lease.credentials.api_key == "sk-replaced-secret"


class TestPersistence:
    async def test_success_records_last_use(
        self, client: httpx.AsyncClient, pool: KeyPool
    ) -> None:
        user = await make_user(client)
        [key] = await add_keys(client, user, 1)
        await picks(pool, user, 1)
        await pool.flush()
        body = (await client.get(f"/api/api-keys/{key}", headers=user.headers)).json()
        assert body["last_used_at"] is not None
        assert body["updated_at"] < body["last_used_at"]

    async def test_health_survives_a_restart(
        self,
        client: httpx.AsyncClient,
        pool: KeyPool,
        make_app: MakeApp,
        redis_url: str | None,
    ) -> None:
        user = await make_user(client)
        cooled, rejected, healthy = await add_keys(client, user, 3)
        for _ in range(2):
            lease = await pool.acquire("openai", user_id=user.id)
            if lease.key_id == cooled:
                await lease.rate_limited(600)
            else:
                await lease.auth_failed("revoked")
        await pool.flush()
        if redis_url:  # a Redis that lost its data too: the rows still know
            await _flush_redis(redis_url)
        restarted = pool_of(await make_app())
        after = await statuses(restarted, user)
        assert after[cooled].status == "WAIT"
        assert after[rejected].status == "INVALID"
        assert after[healthy].status == "OK"
        assert await picks(restarted, user, 2) == [healthy, healthy]


async def _flush_redis(url: str) -> None:
    client = build_redis_client(url)
    await flush(client)
    await close_client(client)

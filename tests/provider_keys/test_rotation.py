"""The pool driving real adapter calls against the fake upstream: rotation,
Retry-After, 401, 402, and errors that say nothing about the key."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import httpx
import pytest

from aihub.core.db import utcnow
from aihub.core.errors import AihubError
from aihub.provider_keys.lease import Lease
from aihub.provider_keys.pool import KeyPool
from aihub.providers.base import ChatMessage, ChatRequest, Completion
from aihub.providers.errors import UpstreamUnavailable
from aihub.providers.registry import get_adapter
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.provider_keys.builders import add_key, statuses

REQUEST = ChatRequest(
    model="gpt-4o-mini", messages=[ChatMessage(role="user", content="hello")]
)


async def _openai_keys(
    client: httpx.AsyncClient, user: Account, upstream: FakeUpstream, *secrets: str
) -> list[int]:
    base_url = upstream.base_url("openai")
    return [
        await add_key(client, user.headers, secret, base_url=base_url)
        for secret in secrets
    ]


async def _chat(
    pool: KeyPool, http: aiohttp.ClientSession, user: Account
) -> Completion:
    adapter = get_adapter("openai")

    async def complete(lease: Lease) -> Completion:
        return await adapter.complete(http, lease.credentials, REQUEST)

    return await pool.call("openai", user_id=user.id, fn=complete, timeout_s=1)


class TestRotation:
    async def test_rotates_past_a_rate_limited_and_an_invalid_key(
        self,
        client: httpx.AsyncClient,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-rot-limited", [Reply(status=429, retry_after=120)])
        fake_upstream.script("sk-rot-revoked", default=Reply(status=401))
        secrets = ("sk-rot-good", "sk-rot-limited", "sk-rot-revoked")
        good, limited, revoked = await _openai_keys(
            client, user, fake_upstream, *secrets
        )
        for _ in range(3):
            reply = await _chat(pool, http, user)
            assert reply.text == "echo: hello"
        assert [r.key for r in fake_upstream.requests] == [
            *secrets,
            "sk-rot-good",
            "sk-rot-good",
        ]
        after = await statuses(pool, user)
        assert after[good].status == "OK"
        assert after[limited].status == "WAIT"
        until = after[limited].until
        assert until is not None
        assert until > utcnow() + timedelta(seconds=100)
        assert after[revoked].status == "INVALID"

    async def test_every_key_rate_limited_beyond_the_timeout_is_rate_limit(
        self,
        client: httpx.AsyncClient,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        for secret in ("sk-busy-1", "sk-busy-2"):
            fake_upstream.script(secret, default=Reply(status=429, retry_after=60))
        await _openai_keys(client, user, fake_upstream, "sk-busy-1", "sk-busy-2")
        with pytest.raises(AihubError) as caught:
            await _chat(pool, http, user)
        assert caught.value.error_type == "rate_limit"
        assert len(fake_upstream.requests) == 2

    async def test_a_short_retry_after_is_waited_for(
        self,
        client: httpx.AsyncClient,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-brief-pause", [Reply(status=429, retry_after=1)])
        await _openai_keys(client, user, fake_upstream, "sk-brief-pause")
        adapter = get_adapter("openai")

        async def complete(lease: Lease) -> Completion:
            return await adapter.complete(http, lease.credentials, REQUEST)

        reply = await pool.call("openai", user_id=user.id, fn=complete, timeout_s=20)
        assert reply.text == "echo: hello"
        assert [r.outcome for r in fake_upstream.requests] == ["error", "complete"]

    async def test_payment_required_is_billing(
        self,
        client: httpx.AsyncClient,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-no-credit", default=Reply(status=402))
        [key] = await _openai_keys(client, user, fake_upstream, "sk-no-credit")
        with pytest.raises(AihubError) as caught:
            await _chat(pool, http, user)
        assert caught.value.error_type == "billing"
        await pool.flush()
        body = (await client.get(f"/api/api-keys/{key}", headers=user.headers)).json()
        assert body["status"] == "invalid"
        assert body["last_error"].startswith("billing")

    async def test_insufficient_quota_429_is_billing_not_a_cooldown(
        self,
        client: httpx.AsyncClient,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script(
            "sk-quota-gone", [Reply(status=429, error_code="insufficient_quota")]
        )
        quota, spare = await _openai_keys(
            client, user, fake_upstream, "sk-quota-gone", "sk-quota-spare"
        )
        assert (await _chat(pool, http, user)).text == "echo: hello"
        after = await statuses(pool, user)
        assert after[quota].status == "INVALID"
        last_error = after[quota].last_error
        assert last_error is not None
        assert last_error.startswith("billing")
        assert after[spare].status == "OK"

    async def test_a_server_error_does_not_mark_the_key(
        self,
        client: httpx.AsyncClient,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-flaky", [Reply(status=500)])
        [key] = await _openai_keys(client, user, fake_upstream, "sk-flaky")
        with pytest.raises(UpstreamUnavailable):
            await _chat(pool, http, user)
        assert (await statuses(pool, user))[key].status == "OK"
        assert (await _chat(pool, http, user)).text == "echo: hello"

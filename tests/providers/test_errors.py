"""Upstream failures become the right ProviderError, before any event."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from aihub.providers.base import Credentials, StreamEvent
from aihub.providers.compat import OpenAICompatibleAdapter
from aihub.providers.errors import (
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamQuotaExceeded,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_from_event,
    parse_duration,
    parse_retry_after,
    redact,
    retry_after_from,
)
from aihub.providers.http import Timeouts
from aihub.providers.openai import OpenAIAdapter
from tests.fakes import FakeUpstream, Reply
from tests.providers.builders import ask, collect, creds

adapter = OpenAIAdapter()
KEY = "sk-proj-secret-key-0123456789"


async def _complete_error(
    http: aiohttp.ClientSession, fake: FakeUpstream, reply: Reply
) -> ProviderError:
    fake.script(KEY, [reply])
    with pytest.raises(ProviderError) as raised:
        await adapter.complete(http, creds(fake, "openai", KEY), ask())
    return raised.value


class TestStatusMapping:
    @pytest.mark.parametrize(
        ("reply", "kind", "retryable", "error_type"),
        [
            (Reply(status=401), UpstreamAuthFailed, False, "api_key_not_found"),
            (Reply(status=403), UpstreamAuthFailed, False, "api_key_not_found"),
            (Reply(status=402), UpstreamQuotaExceeded, False, "billing"),
            (
                Reply(status=429, error_code="insufficient_quota"),
                UpstreamQuotaExceeded,
                False,
                "billing",
            ),
            (Reply(status=429), UpstreamRateLimited, True, "rate_limit"),
            (Reply(status=500), UpstreamUnavailable, True, "api_error"),
            (Reply(status=503), UpstreamUnavailable, True, "api_error"),
            (Reply(status=504), UpstreamTimeout, True, "api_error"),
            (Reply(status=404), UpstreamBadRequest, False, "api_error"),
            (Reply(status=422), UpstreamBadRequest, False, "api_error"),
            (
                Reply(status=400, error_code="context_length_exceeded"),
                UpstreamBadRequest,
                False,
                "invalid_context",
            ),
        ],
        ids=lambda v: (
            str(v.status) + (v.error_code or "") if isinstance(v, Reply) else ""
        ),
    )
    async def test_status_maps_to_its_error(
        self,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
        reply: Reply,
        kind: type[ProviderError],
        retryable: bool,
        error_type: str,
    ) -> None:
        error = await _complete_error(http, fake_upstream, reply)

        assert type(error) is kind
        assert error.status == reply.status
        assert error.retryable is retryable
        assert error.error_type == error_type

    async def test_context_too_long_is_flagged(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = Reply(status=400, error_code="context_length_exceeded")

        error = await _complete_error(http, fake_upstream, reply)

        assert isinstance(error, UpstreamBadRequest)
        assert error.is_context_error is True
        assert error.code == "context_length_exceeded"

    async def test_plain_bad_request_is_not_a_context_error(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        error = await _complete_error(http, fake_upstream, Reply(status=400))

        assert isinstance(error, UpstreamBadRequest)
        assert error.is_context_error is False

    async def test_the_key_never_appears_in_the_message(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        error = await _complete_error(http, fake_upstream, Reply(status=401))

        assert KEY not in str(error)
        assert KEY not in repr(error)
        # aihub's own words and the upstream's code, never the upstream's text
        assert error.message == (
            "The provider rejected the API key "
            "(HTTP 401: invalid_api_key, invalid_request_error)"
        )
        assert "Incorrect API key" not in error.message

    async def test_a_stream_raises_before_any_event(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script(KEY, [Reply(status=429, retry_after=4)])
        events: list[StreamEvent] = []
        stream = adapter.stream(http, creds(fake_upstream, "openai", KEY), ask())

        with pytest.raises(UpstreamRateLimited) as raised:
            await collect(stream, into=events)

        assert events == []
        assert raised.value.retry_after == 4.0


class TestRetryAfter:
    async def test_retry_after_in_seconds(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        error = await _complete_error(
            http, fake_upstream, Reply(status=429, retry_after=2)
        )

        assert isinstance(error, UpstreamRateLimited)
        assert error.retry_after == 2.0

    async def test_retry_after_as_an_http_date(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        when = datetime.now(UTC) + timedelta(seconds=90)
        reply = Reply(status=429, retry_after=format_datetime(when, usegmt=True))

        error = await _complete_error(http, fake_upstream, reply)

        assert isinstance(error, UpstreamRateLimited)
        assert error.retry_after is not None
        assert 60 < error.retry_after <= 90

    async def test_openai_reset_hint_of_the_exhausted_limit(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        headers = {
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "6m0s",
            "x-ratelimit-remaining-tokens": "5000",
            "x-ratelimit-reset-tokens": "20ms",
        }

        error = await _complete_error(
            http, fake_upstream, Reply(status=429, headers=headers)
        )

        assert isinstance(error, UpstreamRateLimited)
        assert error.retry_after == 360.0

    async def test_no_hint_leaves_retry_after_unset(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        error = await _complete_error(http, fake_upstream, Reply(status=429))

        assert isinstance(error, UpstreamRateLimited)
        assert error.retry_after is None

    def test_retry_after_ms_wins(self) -> None:
        assert retry_after_from({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("1s", 1.0),
            ("6m0s", 360.0),
            ("20ms", 0.02),
            ("1h2m3.5s", 3723.5),
            ("7", 7.0),
        ],
    )
    def test_parses_reset_durations(self, value: str, seconds: float) -> None:
        assert parse_duration(value) == pytest.approx(seconds)

    @pytest.mark.parametrize("value", ["soon", "", "5x", "Tue, 99 Foo"])
    def test_unreadable_values_give_none(self, value: str) -> None:
        assert parse_duration(value) is None
        assert parse_retry_after(value) is None

    def test_a_date_in_the_past_is_zero(self) -> None:
        assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


class TestClientFailures:
    async def test_connection_refused_is_unavailable(
        self, http: aiohttp.ClientSession
    ) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        credentials = Credentials(
            api_key="sk-x", base_url=f"http://127.0.0.1:{port}/v1"
        )

        with pytest.raises(UpstreamUnavailable) as raised:
            await adapter.complete(http, credentials, ask())

        assert raised.value.retryable is True

    async def test_slow_reply_raises_timeout(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script(KEY, [Reply(delay=3.0)])

        with pytest.raises(UpstreamTimeout):
            await adapter.complete(
                http,
                creds(fake_upstream, "openai", KEY),
                ask(),
                timeouts=Timeouts(read_s=0.3),
            )

    async def test_malformed_json_reply_is_unavailable(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        error = await _complete_error(http, fake_upstream, Reply(body=b"<html>oops"))

        assert isinstance(error, UpstreamUnavailable)

    async def test_a_reply_of_unexpected_shape_is_unavailable(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        body = {"choices": [{"message": "not an object"}]}

        error = await _complete_error(http, fake_upstream, Reply(body=body))

        assert isinstance(error, UpstreamUnavailable)

    async def test_a_stream_chunk_of_unexpected_shape_is_unavailable(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script(KEY, [Reply(raw_stream=[b'data: {"choices":[5]}\n\n'])])

        with pytest.raises(UpstreamUnavailable):
            await collect(
                adapter.stream(http, creds(fake_upstream, "openai", KEY), ask())
            )

    async def test_missing_base_url_is_a_bad_request(
        self, http: aiohttp.ClientSession
    ) -> None:
        with pytest.raises(UpstreamBadRequest):
            await collect(
                OpenAICompatibleAdapter().stream(http, Credentials(api_key=""), ask())
            )


def _event(**fields: str) -> dict[str, object]:
    return {"error": {"message": "upstream said no", **fields}}


class TestStreamErrorEvents:
    @pytest.mark.parametrize(
        ("payload", "kind"),
        [
            (
                {"error": {"type": "rate_limit_error", "message": "slow"}},
                UpstreamRateLimited,
            ),
            (
                {"error": {"type": "overloaded_error", "message": "busy"}},
                UpstreamUnavailable,
            ),
            (
                {"error": {"type": "server_error", "message": "oops"}},
                UpstreamUnavailable,
            ),
            (
                {"error": {"code": "insufficient_quota", "message": "no money"}},
                UpstreamQuotaExceeded,
            ),
            (
                {"error": {"type": "authentication_error", "message": "bad key"}},
                UpstreamAuthFailed,
            ),
            (
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "prompt is too long",
                    }
                },
                UpstreamBadRequest,
            ),
        ],
    )
    def test_error_event_maps_to_its_error(
        self, payload: dict[str, object], kind: type[ProviderError]
    ) -> None:
        error = error_from_event(payload)

        assert type(error) is kind
        assert error.status is None

    def test_redacts_the_exact_key_and_key_shapes(self) -> None:
        text = redact("bad key sk-abc123456 and my-own-secret", "my-own-secret")

        assert text == "bad key sk-*** and ***"

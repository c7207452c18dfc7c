"""Issue 12, defect 1, in the adapters' request layer: what a caller learns
from a failed call. Upstream bodies are never relayed (aihub's message per
status plus the upstream's error code), and every way of not reaching a
server reads the same, so answers do not tell which ports are open."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from aihub.infra.outbound import OutboundPolicy, OutboundRefusedError
from aihub.providers.base import ChatMessage, ChatRequest, Credentials
from aihub.providers.errors import (
    ProviderError,
    UpstreamRefused,
    UpstreamUnavailable,
    error_from_event,
    error_from_response,
)
from aihub.providers.http import UNREACHABLE, create_guarded_session, translate
from aihub.providers.openai import OpenAIWireAdapter
from tests.fakes.listener import AcceptRecorder
from tests.fakes.upstream import FakeUpstream, Reply

SECRET_TEXT = "internal admin token ZXhhbXBsZQ on 10.0.0.5"
adapter = OpenAIWireAdapter()


def _ask() -> ChatRequest:
    return ChatRequest(
        model="gpt-4o-mini", messages=[ChatMessage(role="user", content="hi")]
    )


@pytest.fixture
def recorder() -> Iterator[AcceptRecorder]:
    listener = AcceptRecorder("127.0.0.1")
    yield listener
    listener.close()


async def _error_of(http: aiohttp.ClientSession, creds: Credentials) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await adapter.complete(http, creds, _ask())
    return caught.value


class TestUpstreamBodies:
    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 500, 502, 503])
    async def test_the_body_never_reaches_the_message(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream, status: int
    ) -> None:
        fake_upstream.script(
            "sk-body", [Reply(status=status, error_message=SECRET_TEXT)]
        )
        creds = Credentials("sk-body", fake_upstream.base_url("openai"))

        error = await _error_of(http, creds)

        assert "ZXhhbXBsZQ" not in error.message
        assert "10.0.0.5" not in error.message
        assert f"(HTTP {status}" in error.message

    def test_a_non_json_body_gives_only_the_status(self) -> None:
        error = error_from_response(
            500, {}, f"<html><pre>{SECRET_TEXT}</pre></html>".encode()
        )

        assert error.message == "The provider failed (HTTP 500)"

    def test_only_identifier_codes_are_kept(self) -> None:
        body = b'{"error": {"message": "x", "code": "see http://10.0.0.5/ now"}}'
        kept = b'{"error": {"message": "x", "type": "invalid_request_error"}}'

        assert error_from_response(400, {}, body).code is None
        assert error_from_response(400, {}, kept).message == (
            "The provider rejected the request (HTTP 400: invalid_request_error)"
        )

    def test_a_stream_error_event_is_sanitised_too(self) -> None:
        error = error_from_event(
            {"error": {"message": SECRET_TEXT, "type": "server_error"}}
        )

        assert error.message == (
            "The provider reported an error (in the stream: server_error)"
        )


class TestConnectionFailures:
    async def test_refused_timed_out_and_reset_read_the_same(
        self, http: aiohttp.ClientSession, recorder: AcceptRecorder
    ) -> None:
        # reset: the listener accepts, then closes without a byte
        reset = await _error_of(http, Credentials("k", f"{recorder.url}/v1"))
        port = recorder.port
        recorder.close()
        refused = await _error_of(http, Credentials("k", f"http://127.0.0.1:{port}/v1"))
        timed_out = translate(aiohttp.ConnectionTimeoutError("connect timed out"))

        for error in (reset, refused, timed_out):
            assert type(error) is UpstreamUnavailable
            assert error.message == UNREACHABLE
        assert reset.status is None

    def test_any_other_client_failure_does_not_leak_its_text(self) -> None:
        error = translate(aiohttp.ClientOSError(113, "No route to host 10.0.0.5"))

        assert error.message == UNREACHABLE


class TestRefusedByThePolicy:
    async def test_a_guarded_call_is_refused_without_connecting(
        self, recorder: AcceptRecorder
    ) -> None:
        http = create_guarded_session(OutboundPolicy.from_allow([]))
        try:
            creds = Credentials("k", f"{recorder.url}/v1", http=http)
            error = await _error_of(http, creds)
        finally:
            await http.close()
        await recorder.settle()

        assert isinstance(error, UpstreamRefused)
        assert error.status == 403
        assert error.error_type == "forbidden"
        assert error.message == (
            "The provider's address is refused: it is a loopback address (127.0.0.1)"
        )
        assert recorder.accepted == 0

    def test_the_refusal_maps_to_upstream_refused(self) -> None:
        error = translate(OutboundRefusedError("is a private address (10.0.0.1)"))

        assert isinstance(error, UpstreamRefused)
        assert error.retryable is False

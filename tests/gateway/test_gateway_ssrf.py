"""Issue 12, defect 1: a user's key cannot make aihub fetch internal addresses,
at any door, and upstream error bodies never reach users.

The app here has an empty AIHUB_OUTBOUND_ALLOW. A user's key pointing at a
loopback listener is saved through a second app on the same database whose
allowance still covered it (the allowance was narrowed since, or the name now
resolves elsewhere): the call-time check must refuse it, in the door's error
shape, without connecting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from aihub.core.settings import Settings
from aihub.main import create_app
from tests.factories import Account, admin_headers, make_user
from tests.fakes.listener import AcceptRecorder
from tests.fakes.upstream import FakeUpstream, Reply

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
SECRET_TEXT = "db password hunter2 on 10.0.0.5:5432"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbound_allow": []})


@pytest.fixture
def recorder() -> Iterator[AcceptRecorder]:
    listener = AcceptRecorder("127.0.0.1")
    yield listener
    listener.close()


@pytest.fixture
async def make_client(
    client: httpx.AsyncClient, settings: Settings
) -> AsyncIterator[MakeClient]:
    """Clients of further apps on the same database, with other settings."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> httpx.AsyncClient:
            application = create_app(settings.model_copy(update=overrides))
            await stack.enter_async_context(LifespanManager(application))
            transport = httpx.ASGITransport(app=application)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://other")
            )

        yield make


async def _user_key(
    client: httpx.AsyncClient, user: Account, provider: str, base_url: str, name: str
) -> None:
    body = {"provider": provider, "api_key": name, "name": name, "base_url": base_url}
    response = await client.post("/api/api-keys/", json=body, headers=user.headers)
    assert response.status_code == 201, response.text


@pytest.fixture
async def loopback_user(
    client: httpx.AsyncClient, make_client: MakeClient, recorder: AcceptRecorder
) -> Account:
    """A user whose openai, openai_compatible and anthropic keys all point at
    the recorder (saved while 127.0.0.1 was allowed)."""
    user = await make_user(client)
    permissive = await make_client(outbound_allow=["127.0.0.1"])
    await _user_key(permissive, user, "openai", f"{recorder.url}/v1", "sk-a")
    await _user_key(permissive, user, "openai_compatible", f"{recorder.url}/v1", "sk-b")
    await _user_key(permissive, user, "anthropic", recorder.url, "sk-c")
    return user


def _chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


class TestRefusedAtCallTime:
    @pytest.mark.parametrize("stream", [False, True])
    async def test_v1_chat_completions_is_forbidden_in_openai_shape(
        self,
        client: httpx.AsyncClient,
        loopback_user: Account,
        recorder: AcceptRecorder,
        stream: bool,
    ) -> None:
        response = await client.post(
            "/v1/chat/completions",
            json=_chat("openai_compatible/llama3", stream=stream),
            headers=loopback_user.headers,
        )
        await recorder.settle()

        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["type"] == "permission_error"  # OpenAI's name for a 403
        assert "loopback address (127.0.0.1)" in error["message"]
        assert recorder.accepted == 0

    async def test_v1_messages_is_forbidden_in_anthropic_shape(
        self,
        client: httpx.AsyncClient,
        loopback_user: Account,
        recorder: AcceptRecorder,
    ) -> None:
        response = await client.post(
            "/v1/messages",
            json={**_chat("claude-sonnet-4-5"), "max_tokens": 16},
            headers=loopback_user.headers,
        )
        await recorder.settle()

        assert response.status_code == 403, response.text
        body = response.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == "permission_error"  # Anthropic's name
        assert recorder.accepted == 0

    async def test_api_ask_is_forbidden_in_the_seed_shape(
        self,
        client: httpx.AsyncClient,
        loopback_user: Account,
        recorder: AcceptRecorder,
    ) -> None:
        response = await client.post(
            "/api/ask",
            json={"question": "hi", "model": "gpt-4o-mini", "provider": "openai"},
            headers=loopback_user.headers,
        )
        await recorder.settle()

        assert response.status_code == 403, response.text
        body = response.json()
        assert body["error"] is True
        assert body["error_type"] == "forbidden"
        assert "AIHUB_OUTBOUND_ALLOW" not in body["error_message"]  # not the user's
        assert recorder.accepted == 0

    async def test_model_discovery_does_not_reach_the_server(
        self,
        client: httpx.AsyncClient,
        loopback_user: Account,
        recorder: AcceptRecorder,
    ) -> None:
        response = await client.get(
            "/api/models/available", headers=loopback_user.headers
        )
        await recorder.settle()

        assert response.status_code == 200
        discovered = [
            m for m in response.json()["models"] if m.get("source") == "discovered"
        ]
        assert discovered == []
        assert recorder.accepted == 0


class TestTrustedAndAllowed:
    async def test_a_global_key_may_point_at_loopback(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        admin = await admin_headers(client)
        response = await client.post(
            "/api/admin/api-keys/",
            json={
                "provider": "openai_compatible",
                "api_key": "global-local",
                "base_url": fake_upstream.base_url("openai_compatible"),
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        fake_upstream.script("global-local", default=Reply(text="from the local vLLM"))
        user = await make_user(client)

        response = await client.post(
            "/v1/chat/completions",
            json=_chat("openai_compatible/llama3"),
            headers=user.headers,
        )

        assert response.status_code == 200, response.text
        answer = response.json()["choices"][0]["message"]["content"]
        assert answer == "from the local vLLM"

    async def test_an_allowed_host_name_opens_a_users_key(
        self,
        client: httpx.AsyncClient,
        make_client: MakeClient,
        fake_upstream: FakeUpstream,
    ) -> None:
        allowing = await make_client(outbound_allow=["localhost"])
        user = await make_user(client)
        port = fake_upstream.url.rsplit(":", 1)[1]
        await _user_key(
            allowing, user, "openai_compatible", f"http://localhost:{port}/v1", "k-l"
        )
        fake_upstream.script("k-l", default=Reply(text="company vLLM"))

        response = await allowing.post(
            "/v1/chat/completions",
            json=_chat("openai_compatible/llama3"),
            headers=user.headers,
        )

        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == "company vLLM"
        # the app without the allowance refuses the same key
        response = await client.post(
            "/v1/chat/completions",
            json=_chat("openai_compatible/llama3"),
            headers=user.headers,
        )
        assert response.status_code == 403, response.text


class TestUpstreamErrorsAreSanitised:
    @pytest.fixture
    async def allowed(self, make_client: MakeClient) -> httpx.AsyncClient:
        return await make_client(outbound_allow=["127.0.0.1"])

    @pytest.mark.parametrize(
        "reply",
        [
            Reply(status=500, error_message=SECRET_TEXT),
            Reply(status=400, error_message=SECRET_TEXT),
            Reply(status=404, body=f"<html>admin panel: {SECRET_TEXT}</html>".encode()),
            Reply(status=503, body={"message": SECRET_TEXT, "code": "unavailable"}),
        ],
    )
    @pytest.mark.parametrize("stream", [False, True])
    async def test_v1_never_relays_the_body(
        self,
        allowed: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        reply: Reply,
        stream: bool,
    ) -> None:
        user = await make_user(allowed)
        base = fake_upstream.base_url("openai_compatible")
        await _user_key(allowed, user, "openai_compatible", base, "k-err")
        fake_upstream.script("k-err", default=reply)

        response = await allowed.post(
            "/v1/chat/completions",
            json=_chat("openai_compatible/llama3", stream=stream),
            headers=user.headers,
        )

        assert response.status_code >= 400
        assert "hunter2" not in response.text
        assert "admin panel" not in response.text
        message = response.json()["error"]["message"]
        assert f"HTTP {reply.status}" in message

    async def test_api_ask_never_relays_the_body(
        self, allowed: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(allowed)
        await _user_key(
            allowed, user, "openai", fake_upstream.base_url("openai"), "k-ask"
        )
        fake_upstream.script(
            "k-ask", default=Reply(status=400, error_message=SECRET_TEXT)
        )

        response = await allowed.post(
            "/api/ask",
            json={"question": "hi", "model": "gpt-4o-mini", "provider": "openai"},
            headers=user.headers,
        )

        assert response.status_code == 400, response.text
        assert "hunter2" not in response.text
        assert response.json()["error_message"] == (
            "Provider error: The provider rejected the request "
            "(HTTP 400: invalid_request_error)"
        )

    async def test_a_closed_port_says_only_that_it_could_not_be_reached(
        self, allowed: httpx.AsyncClient, recorder: AcceptRecorder
    ) -> None:
        port = recorder.port
        recorder.close()  # nothing listens there any more: connection refused
        user = await make_user(allowed)
        await _user_key(
            allowed, user, "openai_compatible", f"http://127.0.0.1:{port}/v1", "k-c"
        )

        response = await allowed.post(
            "/v1/chat/completions",
            json=_chat("openai_compatible/llama3"),
            headers=user.headers,
        )

        assert response.status_code == 502, response.text
        message = response.json()["error"]["message"]
        assert message == "Provider error: The provider could not be reached"


class TestImageLinksInMessages:
    """A provider on the operator's network (a global key to a local vLLM)
    would fetch an image link for the user: internal ones are refused first."""

    @pytest.fixture
    async def global_key(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> str:
        response = await client.post(
            "/api/admin/api-keys/",
            json={
                "provider": "openai",
                "api_key": "global-vision",
                "base_url": fake_upstream.base_url("openai"),
            },
            headers=await admin_headers(client),
        )
        assert response.status_code == 201, response.text
        return "global-vision"

    @staticmethod
    def _with_image(url: str) -> dict[str, Any]:
        content = [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
        return {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": content}],
        }

    @pytest.mark.parametrize(
        "link",
        [
            "http://169.254.169.254/latest/meta-data/iam/",
            "http://[::ffff:127.0.0.1]:{port}/a.png",
            "http://localhost:{port}/a.png",
            "http://10.0.0.9/a.png",
        ],
    )
    async def test_v1_refuses_an_internal_image_link(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        recorder: AcceptRecorder,
        global_key: str,
        link: str,
    ) -> None:
        user = await make_user(client)

        response = await client.post(
            "/v1/chat/completions",
            json=self._with_image(link.format(port=recorder.port)),
            headers=user.headers,
        )

        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["type"] == "permission_error"
        assert error["message"].startswith("image URL ")
        assert fake_upstream.requests_for(global_key) == []
        assert recorder.accepted == 0

    async def test_v1_passes_data_urls_and_public_links(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        global_key: str,
    ) -> None:
        user = await make_user(client)
        for link in ("data:image/png;base64,iVBORw0KGgo=", "https://8.8.8.8/a.png"):
            response = await client.post(
                "/v1/chat/completions",
                json=self._with_image(link),
                headers=user.headers,
            )
            assert response.status_code == 200, response.text

        assert len(fake_upstream.requests_for(global_key)) == 2

    async def test_a_hub_message_refuses_an_internal_image_link(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        global_key: str,
    ) -> None:
        user = await make_user(client)
        thread = await client.post(
            "/api/threads/",
            json={"title": "t", "provider": "openai", "model": "gpt-4o-mini"},
            headers=user.headers,
        )
        assert thread.status_code == 201, thread.text

        response = await client.post(
            f"/api/threads/{thread.json()['id']}/send",
            json={"content": "look", "images": ["http://169.254.169.254/x.png"]},
            headers=user.headers,
        )

        assert response.status_code == 403, response.text
        assert response.json()["error_type"] == "forbidden"
        assert fake_upstream.requests_for(global_key) == []
        messages = await client.get(
            f"/api/threads/{thread.json()['id']}", headers=user.headers
        )
        assert messages.json()["messages"] == []  # nothing stored

    @pytest.mark.parametrize(
        "link",
        ["http://169.254.169.254/latest/meta-data/", "http://localhost:{port}/a.png"],
    )
    async def test_v1_messages_refuses_an_internal_image_source(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        recorder: AcceptRecorder,
        global_key: str,
        link: str,
    ) -> None:
        """Translated for an OpenAI-wire provider, the link would be fetched by
        it: an Anthropic ``source.url`` image passes the same policy."""
        user = await make_user(client)
        image = {"type": "url", "url": link.format(port=recorder.port)}
        content = [
            {"type": "text", "text": "what is this?"},
            {"type": "image", "source": image},
        ]

        response = await client.post(
            "/v1/messages",
            json={
                "model": "gpt-4o-mini",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": content}],
            },
            headers=user.headers,
        )

        assert response.status_code == 403, response.text
        body = response.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == "permission_error"
        assert fake_upstream.requests_for(global_key) == []
        assert recorder.accepted == 0

"""The Azure OpenAI adapter: deployments, api-version, the api-key header."""

from __future__ import annotations

import aiohttp
import pytest

from aihub.providers.azure import DEFAULT_API_VERSION, AzureAdapter
from aihub.providers.base import Credentials, Finish, Usage, UsageReport
from aihub.providers.errors import UpstreamAuthFailed, UpstreamRateLimited
from tests.fakes import FakeUpstream, FakeUsage, Reply
from tests.providers.builders import ask, collect, creds, text_of

adapter = AzureAdapter()
DEPLOYMENTS = {"gpt-4o": "prod-4o", "o3-mini": "reasoner"}


def _creds(fake: FakeUpstream, key: str = "az-key", **settings: object) -> Credentials:
    settings.setdefault("deployments", DEPLOYMENTS)
    return creds(fake, "azure", key, **settings)


class TestChat:
    async def test_calls_the_mapped_deployment_with_api_key_and_version(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        done = await adapter.complete(
            http, _creds(fake_upstream), ask(model="gpt-4o", max_tokens=20)
        )

        sent = fake_upstream.last_request
        assert sent.path == "/openai/deployments/prod-4o/chat/completions"
        assert sent.query == {"api-version": DEFAULT_API_VERSION}
        assert sent.headers["api-key"] == "az-key"
        assert "authorization" not in sent.headers
        assert sent.json["max_tokens"] == 20
        assert done.text == "echo: Hello there"
        assert done.model == "prod-4o"

    async def test_an_unmapped_model_is_its_own_deployment(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        credentials = _creds(fake_upstream, api_version="2025-01-01-preview")

        await adapter.complete(http, credentials, ask(model="gpt-4.1"))

        sent = fake_upstream.last_request
        assert sent.path == "/openai/deployments/gpt-4.1/chat/completions"
        assert sent.query == {"api-version": "2025-01-01-preview"}

    async def test_reasoning_deployments_get_max_completion_tokens(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        await adapter.complete(
            http, _creds(fake_upstream), ask(model="o3-mini", max_tokens=99)
        )

        sent = fake_upstream.last_request.json
        assert sent["max_completion_tokens"] == 99
        assert "max_tokens" not in sent

    async def test_streams_with_usage_including_cached_tokens(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        usage = FakeUsage(prompt_tokens=50, completion_tokens=5, cached_tokens=40)
        fake_upstream.script("az-key", [Reply(text="Hi from Azure", usage=usage)])

        events = await collect(
            adapter.stream(http, _creds(fake_upstream), ask(model="gpt-4o"))
        )

        assert text_of(events) == "Hi from Azure"
        assert events[-2:] == [
            Finish("stop"),
            UsageReport(
                Usage(
                    prompt_tokens=50,
                    completion_tokens=5,
                    cached_tokens=40,
                    total_tokens=55,
                )
            ),
        ]
        assert fake_upstream.last_request.json["stream_options"] == {
            "include_usage": True
        }

    async def test_v1_api_puts_the_deployment_in_the_body(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        credentials = Credentials(
            api_key="az-key",
            base_url=f"{fake_upstream.url}/openai/",
            settings={"api_version": "v1"},
        )

        await adapter.complete(http, credentials, ask(model="gpt-4o"))

        sent = fake_upstream.last_request
        assert sent.path == "/openai/v1/chat/completions"
        assert sent.query == {}
        assert sent.json["model"] == "gpt-4o"

    @pytest.mark.parametrize(
        ("reply", "kind"),
        [
            (Reply(status=429, retry_after=1), UpstreamRateLimited),
            (Reply(status=401), UpstreamAuthFailed),
        ],
        ids=["429", "401"],
    )
    async def test_errors_are_typed(
        self,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
        reply: Reply,
        kind: type[Exception],
    ) -> None:
        fake_upstream.script("az-key", [reply])

        with pytest.raises(kind):
            await adapter.complete(http, _creds(fake_upstream), ask(model="gpt-4o"))


class TestModelsAndEmbeddings:
    async def test_lists_the_configured_deployments_after_checking_the_key(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        models = await adapter.list_models(http, _creds(fake_upstream))

        assert models == ["gpt-4o", "o3-mini"]
        sent = fake_upstream.last_request
        assert sent.path == "/openai/models"
        assert sent.query == {"api-version": DEFAULT_API_VERSION}

    async def test_lists_the_resource_models_without_deployments(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.models = ["gpt-4o"]

        models = await adapter.list_models(
            http, creds(fake_upstream, "azure", "az-key")
        )

        assert models == ["gpt-4o"]

    async def test_a_rejected_key_fails_the_model_list(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("az-key", [Reply(status=401)])

        with pytest.raises(UpstreamAuthFailed):
            await adapter.list_models(http, _creds(fake_upstream))

    async def test_embeds_through_the_deployment(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        credentials = _creds(
            fake_upstream, deployments={"text-embedding-3-small": "emb"}
        )

        result = await adapter.embed(
            http, credentials, model="text-embedding-3-small", inputs=["hello"]
        )

        assert len(result.vectors) == 1
        assert fake_upstream.last_request.path == "/openai/deployments/emb/embeddings"

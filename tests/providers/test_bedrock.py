"""The Bedrock Converse adapter against the Bedrock stand-in over real sockets;
the stand-in recomputes every SigV4 signature with botocore."""

from __future__ import annotations

import re

import aiohttp
import pytest

from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    CompletionBuilder,
    Credentials,
    Finish,
    ToolCall,
    Usage,
    UsageReport,
)
from aihub.providers.bedrock import BedrockAdapter, region_of
from aihub.providers.errors import (
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.fakes import FakeUsage, Reply, ToolCallSpec
from tests.fakes.bedrock import FakeBedrock
from tests.providers.builders import (
    PNG_DATA_URL,
    WEATHER_PARAMETERS,
    WEATHER_TOOL,
    ask,
    collect,
    text_of,
)

adapter = BedrockAdapter()
MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
AKID = "AKIAFAKEBEDROCK00001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY01"
AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIAFAKEBEDROCK00001/\d{8}/eu-west-3/bedrock/"
    r"aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$"
)


def _creds(fake: FakeBedrock, api_key: str | None = None) -> Credentials:
    key = api_key or fake.register(AKID, SECRET)
    return Credentials(api_key=key, base_url=fake.url, settings={"region": "eu-west-3"})


def _ask(
    content: str | list[dict[str, object]] = "Hello there", **fields: object
) -> ChatRequest:
    return ask(content, model=MODEL, **fields)


def test_region_from_settings_host_or_default() -> None:
    assert region_of(Credentials(api_key="a:b", settings={"region": "ap-south-1"})) == (
        "ap-south-1"
    )
    host = "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert region_of(Credentials(api_key="a:b", base_url=host)) == "eu-central-1"
    assert region_of(Credentials(api_key="a:b")) == "us-east-1"


class TestComplete:
    async def test_signed_converse_request_and_reply(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        fake_bedrock.script(
            AKID,
            [
                Reply(
                    text="Hi there",
                    usage=FakeUsage(
                        prompt_tokens=100,
                        completion_tokens=7,
                        cached_tokens=60,
                        cache_write_tokens=10,
                    ),
                )
            ],
        )
        request = _ask(
            system="Be brief", max_tokens=64, temperature=0.5, top_p=0.8, stop="END"
        )
        done = await adapter.complete(http, _creds(fake_bedrock), request)
        sent = fake_bedrock.last_request
        assert sent.outcome == "complete"  # the stand-in accepted the signature
        # the model id is one path segment: its ':' percent-encoded
        assert sent.path == f"/model/{MODEL}/converse"
        assert fake_bedrock.raw_paths[-1] == (
            "/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/converse"
        )
        assert AUTH.match(sent.headers["authorization"])
        assert re.fullmatch(r"\d{8}T\d{6}Z", sent.headers["x-amz-date"])
        signed = sent.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
        assert {"host", "x-amz-date", "content-type"} <= set(signed.split(";"))
        assert SECRET not in str(sent.headers)
        assert sent.json == {
            "messages": [{"role": "user", "content": [{"text": "Hello there"}]}],
            "system": [{"text": "Be brief"}],
            "inferenceConfig": {
                "maxTokens": 64,
                "temperature": 0.5,
                "topP": 0.8,
                "stopSequences": ["END"],
            },
        }
        assert done.text == "Hi there"
        assert done.finish_reason == "stop"
        assert done.usage == Usage(
            prompt_tokens=100,
            completion_tokens=7,
            cached_tokens=60,
            cache_write_tokens=10,
            total_tokens=107,
        )

    async def test_session_token_is_sent_and_signed(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        key = fake_bedrock.register(AKID, SECRET, "FwoGZXIvYXdzEFAKE/TOKEN==")
        done = await adapter.complete(http, _creds(fake_bedrock, key), _ask())
        sent = fake_bedrock.last_request
        assert sent.headers["x-amz-security-token"] == "FwoGZXIvYXdzEFAKE/TOKEN=="
        assert "x-amz-security-token" in sent.headers["authorization"]
        assert done.text == "echo: Hello there"

    async def test_a_wrong_secret_fails_the_signature_check(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        fake_bedrock.register(AKID, SECRET)
        wrong = Credentials(
            api_key=f"{AKID}:not-the-secret",
            base_url=fake_bedrock.url,
            settings={"region": "eu-west-3"},
        )
        with pytest.raises(UpstreamAuthFailed) as caught:
            await adapter.complete(http, wrong, _ask())
        assert caught.value.code == "InvalidSignatureException"
        assert "not-the-secret" not in caught.value.message

    async def test_tools_images_and_tool_results(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        creds = _creds(fake_bedrock)
        fake_bedrock.script(
            AKID,
            [
                Reply(
                    tool_calls=[
                        ToolCallSpec("get_weather", {"city": "Lyon"}, id="tu_1")
                    ]
                )
            ],
        )
        question = [
            {"type": "text", "text": "Weather here?"},
            {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
        ]
        first = await adapter.complete(
            http, creds, _ask(question, tools=[WEATHER_TOOL], tool_choice="auto")
        )
        sent = fake_bedrock.last_request.json
        assert sent["messages"][0]["content"][1] == {
            "image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}
        }
        assert sent["toolConfig"] == {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "inputSchema": {"json": WEATHER_PARAMETERS},
                        "description": "Weather of a city",
                    }
                }
            ],
            "toolChoice": {"auto": {}},
        }
        assert first.finish_reason == "tool_calls"
        assert first.tool_calls == [ToolCall("tu_1", "get_weather", '{"city":"Lyon"}')]
        follow = ChatRequest(
            model=MODEL,
            messages=[
                ChatMessage(role="user", content="Weather here?"),
                ChatMessage(role="assistant", tool_calls=first.tool_calls),
                ChatMessage(role="tool", tool_call_id="tu_1", content='{"temp": 18}'),
            ],
            tools=[WEATHER_TOOL],
        )
        await adapter.complete(http, creds, follow)
        sent = fake_bedrock.last_request.json
        assert sent["messages"][1] == {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "tu_1",
                        "name": "get_weather",
                        "input": {"city": "Lyon"},
                    }
                }
            ],
        }
        assert sent["messages"][2] == {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "tu_1",
                        "content": [{"json": {"temp": 18}}],
                    }
                }
            ],
        }

    async def test_an_image_link_is_refused_before_any_call(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        parts = [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
        ]
        with pytest.raises(UpstreamBadRequest, match="data: URL"):
            await adapter.complete(http, _creds(fake_bedrock), _ask(parts))
        assert fake_bedrock.requests == []

    async def test_list_models_is_signed_too(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        models = await adapter.list_models(http, _creds(fake_bedrock))
        assert models == fake_bedrock.models
        assert fake_bedrock.last_request.query == {"byOutputModality": "TEXT"}


class TestStream:
    async def test_event_stream_text_tools_and_usage(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        fake_bedrock.script(
            AKID,
            [
                Reply(
                    text="one two three",
                    chunks=3,
                    tool_calls=[
                        ToolCallSpec("get_weather", {"city": "Nice"}, id="tu_9")
                    ],
                    usage=FakeUsage(prompt_tokens=20, completion_tokens=11),
                )
            ],
        )
        events = await collect(
            adapter.stream(http, _creds(fake_bedrock), _ask(tools=[WEATHER_TOOL]))
        )
        sent = fake_bedrock.last_request
        assert sent.path == f"/model/{MODEL}/converse-stream"
        assert sent.headers["accept"] == "application/vnd.amazon.eventstream"
        assert text_of(events) == "one two three"
        assert events[-2] == Finish("tool_calls")
        assert events[-1] == UsageReport(
            Usage(prompt_tokens=20, completion_tokens=11, total_tokens=31)
        )
        builder = CompletionBuilder()
        builder.add_all(events)
        assert builder.build().tool_calls == [
            ToolCall("tu_9", "get_weather", '{"city":"Nice"}')
        ]

    async def test_an_exception_message_in_the_stream(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        fake_bedrock.script(
            AKID, [Reply(text="partial", chunks=1, stream_error="throttlingException")]
        )
        events: list[object] = []
        with pytest.raises(UpstreamRateLimited):
            await collect(adapter.stream(http, _creds(fake_bedrock), _ask()), events)  # type: ignore[arg-type]
        assert "".join(getattr(e, "text", "") for e in events) == "partial"


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "name", "kind"),
        [
            (429, "ThrottlingException", UpstreamRateLimited),
            (403, "AccessDeniedException", UpstreamAuthFailed),
            (400, "ValidationException", UpstreamBadRequest),
            (408, "ModelTimeoutException", UpstreamTimeout),
            (500, "InternalServerException", UpstreamUnavailable),
            (503, "ServiceUnavailableException", UpstreamUnavailable),
        ],
    )
    async def test_aws_exceptions_map_to_error_kinds(
        self,
        http: aiohttp.ClientSession,
        fake_bedrock: FakeBedrock,
        status: int,
        name: str,
        kind: type[Exception],
    ) -> None:
        fake_bedrock.script(AKID, [Reply(status=status, error_code=name)])
        with pytest.raises(kind) as caught:
            await adapter.complete(http, _creds(fake_bedrock), _ask())
        assert getattr(caught.value, "code", None) == name

    async def test_an_unknown_access_key_is_an_auth_failure(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        stranger = Credentials(
            api_key="AKIANOBODY:secret", base_url=fake_bedrock.url, settings={}
        )
        with pytest.raises(UpstreamAuthFailed) as caught:
            await collect(adapter.stream(http, stranger, _ask()))
        assert caught.value.code == "UnrecognizedClientException"

    async def test_a_malformed_key_fails_without_a_call(
        self, http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
    ) -> None:
        bad = Credentials(api_key="only-one-part", base_url=fake_bedrock.url)
        with pytest.raises(UpstreamAuthFailed, match="ACCESS_KEY_ID"):
            await adapter.complete(http, bad, _ask())
        assert fake_bedrock.requests == []


async def test_additional_model_request_fields_pass_through(
    http: aiohttp.ClientSession, fake_bedrock: FakeBedrock
) -> None:
    extra = {"additional_model_request_fields": {"top_k": 40}, "reasoning_effort": "x"}
    await adapter.complete(http, _creds(fake_bedrock), _ask(extra=extra))
    sent = fake_bedrock.last_request.json
    assert sent["additionalModelRequestFields"] == {"top_k": 40}
    assert "reasoning_effort" not in str(sent)

"""The Gemini adapter against the Gemini stand-in over real sockets."""

from __future__ import annotations

import aiohttp
import pytest

from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    CompletionBuilder,
    Credentials,
    Finish,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from aihub.providers.errors import (
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from aihub.providers.gemini import GeminiAdapter
from aihub.providers.registry import get_adapter, get_embedding_adapter
from tests.fakes import FakeUsage, Reply, ToolCallSpec
from tests.fakes.gemini import FakeGemini
from tests.providers.builders import (
    PNG_DATA_URL,
    WEATHER_PARAMETERS,
    WEATHER_TOOL,
    ask,
    collect,
    text_of,
)

adapter = GeminiAdapter()
MODEL = "gemini-2.5-flash"


def _creds(fake: FakeGemini, key: str = "gm-key") -> Credentials:
    return Credentials(api_key=key, base_url=fake.base_url)


def _ask(
    content: str | list[dict[str, object]] = "Hello there", **fields: object
) -> ChatRequest:
    return ask(content, model=MODEL, **fields)


def test_registered_under_gemini() -> None:
    assert get_adapter("gemini") is not None
    assert GeminiAdapter.default_base_url == (
        "https://generativelanguage.googleapis.com/v1beta"
    )


class TestComplete:
    async def test_generate_content_request_and_reply(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        fake_gemini.script(
            "gm-key",
            [
                Reply(
                    text="Bonjour",
                    usage=FakeUsage(
                        prompt_tokens=100,
                        completion_tokens=30,
                        cached_tokens=40,
                        reasoning_tokens=10,
                    ),
                )
            ],
        )
        request = _ask(
            system="Answer in French",
            temperature=0.2,
            top_p=0.9,
            max_tokens=50,
            stop=["END"],
            response_format={"type": "json_object"},
        )
        done = await adapter.complete(http, _creds(fake_gemini), request)
        sent = fake_gemini.last_request
        assert sent.path == f"/v1beta/models/{MODEL}:generateContent"
        assert sent.headers["x-goog-api-key"] == "gm-key"
        assert "authorization" not in sent.headers
        assert sent.json["systemInstruction"] == {
            "parts": [{"text": "Answer in French"}]
        }
        assert sent.json["contents"] == [
            {"role": "user", "parts": [{"text": "Hello there"}]}
        ]
        assert sent.json["generationConfig"] == {
            "temperature": 0.2,
            "topP": 0.9,
            "maxOutputTokens": 50,
            "stopSequences": ["END"],
            "responseMimeType": "application/json",
        }
        assert done.text == "Bonjour"
        assert done.finish_reason == "stop"
        # thoughts are output Gemini bills: counted in completion and as reasoning
        assert done.usage == Usage(
            prompt_tokens=100,
            completion_tokens=30,
            cached_tokens=40,
            reasoning_tokens=10,
            total_tokens=130,
        )

    async def test_conversation_roles_images_and_json_schema(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
        request = ChatRequest(
            model=MODEL,
            messages=[
                ChatMessage(role="system", content="Be brief"),
                ChatMessage(role="user", content="Hi"),
                ChatMessage(role="assistant", content="Hello"),
                ChatMessage(
                    role="user",
                    content=[
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/cat.webp"},
                        },
                    ],
                ),
            ],
            response_format={"type": "json_schema", "json_schema": {"schema": schema}},
        )
        done = await adapter.complete(http, _creds(fake_gemini), request)
        sent = fake_gemini.last_request.json
        assert sent["systemInstruction"]["parts"] == [{"text": "Be brief"}]
        assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
        assert sent["contents"][2]["parts"] == [
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {
                "fileData": {
                    "mimeType": "image/webp",
                    "fileUri": "https://example.com/cat.webp",
                }
            },
        ]
        assert sent["generationConfig"] == {
            "responseMimeType": "application/json",
            "responseJsonSchema": schema,
        }
        assert done.text == "echo: What is this?"

    async def test_function_calling_round_trip(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        fake_gemini.script(
            "gm-key",
            [Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])],
        )
        first = await adapter.complete(
            http,
            _creds(fake_gemini),
            _ask("Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required"),
        )
        sent = fake_gemini.last_request.json
        assert sent["tools"] == [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Weather of a city",
                        "parametersJsonSchema": WEATHER_PARAMETERS,
                    }
                ]
            }
        ]
        assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
        assert first.finish_reason == "tool_calls"
        [call] = first.tool_calls
        assert (call.name, call.arguments) == ("get_weather", '{"city":"Paris"}')
        assert call.id
        # The tool's answer goes back as a functionResponse named after the call.
        second = ChatRequest(
            model=MODEL,
            messages=[
                ChatMessage(role="user", content="Weather in Paris?"),
                ChatMessage(role="assistant", tool_calls=[call]),
                ChatMessage(role="tool", tool_call_id=call.id, content='{"temp": 21}'),
                ChatMessage(role="tool", tool_call_id=call.id, content="sunny"),
            ],
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
        await adapter.complete(http, _creds(fake_gemini), second)
        sent = fake_gemini.last_request.json
        assert sent["contents"][1] == {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
            ],
        }
        assert sent["contents"][2] == {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"result": "sunny"},
                    }
                },
            ],
        }
        assert sent["toolConfig"] == {
            "functionCallingConfig": {
                "mode": "ANY",
                "allowedFunctionNames": ["get_weather"],
            }
        }

    async def test_list_models_keeps_generate_content_models(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        models = await adapter.list_models(http, _creds(fake_gemini))
        assert models == ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"]


class TestStream:
    async def test_sse_chunks_tool_calls_and_final_usage(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        fake_gemini.script(
            "gm-key",
            [
                Reply(
                    text="one two three",
                    chunks=3,
                    tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})],
                    usage=FakeUsage(prompt_tokens=12, completion_tokens=9),
                )
            ],
        )
        events = await collect(
            adapter.stream(http, _creds(fake_gemini), _ask(tools=[WEATHER_TOOL]))
        )
        sent = fake_gemini.last_request
        assert sent.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
        assert sent.query == {"alt": "sse"}
        assert text_of(events) == "one two three"
        calls = [e for e in events if isinstance(e, ToolCallDelta)]
        assert len(calls) == 1
        assert (calls[0].index, calls[0].name) == (0, "get_weather")
        assert calls[0].arguments == '{"city":"Oslo"}'
        assert events[-2] == Finish("tool_calls")
        assert events[-1] == UsageReport(
            Usage(prompt_tokens=12, completion_tokens=9, total_tokens=21)
        )
        builder = CompletionBuilder()
        builder.add_all(events)
        built = builder.build()
        assert built.tool_calls == [
            ToolCall(calls[0].id or "", "get_weather", '{"city":"Oslo"}')
        ]

    async def test_a_cut_stream_is_an_error_after_the_partial_text(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        fake_gemini.script(
            "gm-key", [Reply(text="a b c d", chunks=4, drop_after_chunks=2)]
        )
        events: list[object] = []
        with pytest.raises(UpstreamUnavailable):
            await collect(adapter.stream(http, _creds(fake_gemini), _ask()), events)  # type: ignore[arg-type]
        assert "".join(getattr(e, "text", "") for e in events) == "a b "


class TestErrors:
    async def test_invalid_key_400_is_an_auth_failure(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        fake_gemini.script("gm-key", [Reply(status=400, error_code="API_KEY_INVALID")])
        with pytest.raises(UpstreamAuthFailed) as caught:
            await adapter.complete(http, _creds(fake_gemini), _ask())
        assert caught.value.status == 400
        assert "API key not valid" not in caught.value.message  # aihub's own text

    async def test_429_is_a_rate_limit_with_gemini_retry_delay(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        fake_gemini.script("gm-key", [Reply(status=429, retry_after=17)])
        with pytest.raises(UpstreamRateLimited) as caught:
            await collect(adapter.stream(http, _creds(fake_gemini), _ask()))
        assert caught.value.retry_after == 17.0
        assert caught.value.code == "RESOURCE_EXHAUSTED"

    async def test_403_permission_denied_is_an_auth_failure(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        with pytest.raises(UpstreamAuthFailed):
            await adapter.complete(http, _creds(fake_gemini, key=""), _ask())

    async def test_5xx_is_transient_and_400_a_bad_request(
        self, http: aiohttp.ClientSession, fake_gemini: FakeGemini
    ) -> None:
        fake_gemini.script("gm-key", [Reply(status=503)])
        with pytest.raises(UpstreamUnavailable) as down:
            await adapter.complete(http, _creds(fake_gemini), _ask())
        assert down.value.retryable
        # an empty conversation: Gemini's own 400, not the key's fault
        with pytest.raises(UpstreamBadRequest):
            await adapter.complete(
                http, _creds(fake_gemini), ChatRequest(model=MODEL, messages=[])
            )


async def test_reasoning_effort_and_extras_reach_generation_config(
    http: aiohttp.ClientSession, fake_gemini: FakeGemini
) -> None:
    request = _ask(extra={"reasoning_effort": "low", "top_k": 20})
    await adapter.complete(http, _creds(fake_gemini), request)
    assert fake_gemini.last_request.json["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 1024},
        "topK": 20,
    }


async def test_embed_with_batch_embed_contents(
    http: aiohttp.ClientSession, fake_gemini: FakeGemini
) -> None:
    embedder = get_embedding_adapter("gemini")
    assert embedder is not None
    done = await embedder.embed(
        http,
        _creds(fake_gemini),
        model="gemini-embedding-001",
        inputs=["a", "b"],
        dimensions=4,
    )
    sent = fake_gemini.last_request
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.json["requests"][1] == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "b"}]},
        "outputDimensionality": 4,
    }
    assert [len(v) for v in done.vectors] == [4, 4]
    assert done.vectors[0] != done.vectors[1]
    assert done.usage is None

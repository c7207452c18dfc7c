from __future__ import annotations

import httpx

from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply


async def test_available_models_has_the_seed_shape(client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    response = await client.get("/api/models/available", headers=user.headers)
    assert response.status_code == 200
    models = response.json()["models"]
    by_key = {(m["provider"], m["id"]): m for m in models}
    gpt4 = by_key[("openai", "gpt-4")]
    assert gpt4["pricing"]["input"] == 10.0
    assert gpt4["pricing"]["output"] == 30.0
    assert gpt4["max_tokens"] == 8192
    assert {
        "provider",
        "id",
        "name",
        "description",
        "max_tokens",
        "pricing",
        "capabilities",
    } <= set(gpt4)
    assert ("anthropic", "claude-3-opus") in by_key
    assert {m["provider"] for m in models} >= {"openai", "azure", "anthropic", "qwen"}


async def test_every_model_has_the_seeds_input_and_output_prices(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user(client)
    response = await client.get("/api/models/available", headers=user.headers)
    models = response.json()["models"]
    kinds = {m["kind"] for m in models}
    assert {"chat", "image", "video"} <= kinds
    for model in models:
        pricing = model["pricing"]
        assert isinstance(pricing["input"], float), model["id"]
        assert isinstance(pricing["output"], float), model["id"]
    dalle = next(m for m in models if m["id"] == "dall-e-3")
    assert (dalle["pricing"]["input"], dalle["pricing"]["output"]) == (0.0, 0.0)
    assert "per_image" in dalle["pricing"] or "per_image_by_size" in dalle["pricing"]


async def test_available_models_filtered_by_kind(client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    url = "/api/models/available"
    everything = (await client.get(url, headers=user.headers)).json()["models"]
    response = await client.get(url, params={"kind": "image"}, headers=user.headers)
    assert response.status_code == 200
    images = response.json()["models"]
    assert images == [m for m in everything if m["kind"] == "image"]
    assert images
    response = await client.get(
        url, params=[("kind", "chat"), ("kind", "video")], headers=user.headers
    )
    both = response.json()["models"]
    assert both == [m for m in everything if m["kind"] in ("chat", "video")]
    assert {m["kind"] for m in both} == {"chat", "video"}
    response = await client.get(url, params={"kind": "poem"}, headers=user.headers)
    assert response.status_code == 422
    assert response.json()["error_type"] == "validation_error"


async def test_available_models_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/models/available")
    assert response.status_code == 401


async def test_token_count_is_exact_for_openai_models(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user(client)
    response = await client.post(
        "/api/threads/token-count",
        json={"provider": "openai", "model": "gpt-4", "text": "hello world"},
        headers=user.headers,
    )
    assert response.status_code == 200
    assert response.json() == {"token_count": 2, "estimated": False}


async def test_token_count_is_an_estimate_for_other_providers(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user(client)
    response = await client.post(
        "/api/threads/token-count",
        json={
            "provider": "anthropic",
            "model": "claude-3-opus",
            "text": "Проанализируй текст Пушкина 'Евгений Онегин'",
        },
        headers=user.headers,
    )
    body = response.json()
    assert body["estimated"] is True
    assert body["token_count"] > 0


async def test_token_count_rejects_a_missing_text(client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    response = await client.post(
        "/api/threads/token-count",
        json={"provider": "openai", "model": "gpt-4o"},
        headers=user.headers,
    )
    assert response.status_code == 422


async def test_models_of_an_openai_compatible_server_are_listed(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    """An Ollama-like server's /models joins the catalog; a known model keeps
    its catalog price, an unknown one is listed without a price."""
    user = await make_user(client)
    fake_upstream.models = ["llama3.2:3b", "gpt-4o-mini"]
    response = await client.post(
        "/api/api-keys/",
        json={
            "provider": "openai_compatible",
            "api_key": "ollama-local-key",
            "name": "ollama",
            "base_url": fake_upstream.base_url("openai_compatible"),
        },
        headers=user.headers,
    )
    assert response.status_code == 201
    response = await client.get("/api/models/available", headers=user.headers)
    assert response.status_code == 200
    rows = {
        (m["provider"], m["id"]): m
        for m in response.json()["models"]
        if m["provider"] == "openai_compatible"
    }
    llama = rows[("openai_compatible", "llama3.2:3b")]
    assert llama["pricing"] == {"input": None, "output": None}
    assert llama["source"] == "discovered"
    # Another user does not see this user's server.
    other = await make_user(client)
    response = await client.get("/api/models/available", headers=other.headers)
    ids = {m["id"] for m in response.json()["models"]}
    assert "llama3.2:3b" not in ids


async def test_a_server_that_does_not_answer_is_left_out(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    user = await make_user(client)
    fake_upstream.script("broken-server-key", default=Reply(status=500))
    response = await client.post(
        "/api/api-keys/",
        json={
            "provider": "openai_compatible",
            "api_key": "broken-server-key",
            "base_url": fake_upstream.base_url("openai_compatible"),
        },
        headers=user.headers,
    )
    assert response.status_code == 201
    response = await client.get("/api/models/available", headers=user.headers)
    assert response.status_code == 200
    assert not [m for m in response.json()["models"] if m.get("source") == "discovered"]

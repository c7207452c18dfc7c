"""Presets for OpenAI-compatible services: listed for the key form, and a key
added by preset gets the service's base_url and its models discovered."""

from __future__ import annotations

import httpx

from tests.factories import admin_headers, make_user
from tests.fakes import FakeUpstream

EXPECTED = {
    "openrouter": "https://openrouter.ai/api/v1",
    "groq": "https://api.groq.com/openai/v1",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "together": "https://api.together.xyz/v1",
    "xai": "https://api.x.ai/v1",
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
}


async def test_presets_are_listed_for_signed_in_users(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/api/api-keys/presets")).status_code == 401
    user = await make_user(client)
    response = await client.get("/api/api-keys/presets", headers=user.headers)
    assert response.status_code == 200
    presets = response.json()
    assert {p["id"]: p["base_url"] for p in presets} == EXPECTED
    assert {p["provider"] for p in presets} == {"openai_compatible"}
    needs_none = {p["id"] for p in presets if not p["key_required"]}
    assert needs_none == {"ollama", "vllm"}


async def test_a_preset_fills_provider_base_url_and_name(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_headers(client)  # a global key: no address check on save
    response = await client.post(
        "/api/admin/api-keys/",
        json={"preset": "groq", "api_key": "gsk_abcdefghijklmnop"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    key = response.json()
    assert key["provider"] == "openai_compatible"
    assert key["base_url"] == "https://api.groq.com/openai/v1"
    assert key["name"] == "Groq"
    assert key["settings"] == {"preset": "groq"}
    assert "gsk_abcdefghijklmnop" not in response.text


async def test_a_local_preset_needs_no_key_and_its_models_are_discovered(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    user = await make_user(client)
    fake_upstream.models = ["llama3.2:3b", "qwen2.5-coder:7b"]
    response = await client.post(
        "/api/api-keys/",
        json={"preset": "ollama", "base_url": fake_upstream.base_url("openai")},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    key = response.json()
    assert key["provider"] == "openai_compatible"
    assert key["base_url"] == fake_upstream.base_url("openai")  # the given one wins
    assert key["settings"] == {"preset": "ollama"}
    listed = await client.get("/api/models/available", headers=user.headers)
    ids = {
        m["id"] for m in listed.json()["models"] if m["provider"] == "openai_compatible"
    }
    assert {"llama3.2:3b", "qwen2.5-coder:7b"} <= ids
    assert fake_upstream.last_request.path == "/v1/models"
    assert fake_upstream.last_request.key == "none"


async def test_bad_preset_bodies_are_422(client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    for body in (
        {"preset": "nope", "api_key": "k"},
        {"preset": "groq", "provider": "anthropic", "api_key": "k"},
        {"preset": "groq"},  # Groq needs a key
    ):
        response = await client.post("/api/api-keys/", json=body, headers=user.headers)
        assert response.status_code == 422, (body, response.text)

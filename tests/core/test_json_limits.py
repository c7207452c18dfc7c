"""Bounded input (issue 12, defect 8): integers beyond 64 bits and deep
nesting in free-form JSON are 422s in each door's error shape, never 500s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aihub.core.json_limits import MAX_JSON_DEPTH, json_problem
from tests.factories import admin_headers, make_user

HUGE = 2**64 + 1
DEEP = 300


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def _deep_list_json(levels: int) -> bytes:
    """A body Python parses but orjson refuses to write back (> 254 levels)."""
    return b"[" * levels + b"1" + b"]" * levels


BAD_SETTINGS = {
    "huge_integer": {"x": HUGE},
    "negative_huge_integer": {"x": [-HUGE]},
    "deep_nesting": _nested(DEEP),
}


def _assert_api_422(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == "validation_error"


def _assert_openai_422(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "validation_error"


class TestJsonProblem:
    def test_plain_values_pass(self) -> None:
        assert json_problem({"a": [1, -(2**63), 2**63 - 1, True, None, "x"]}) is None

    def test_the_depth_limit_is_exact(self) -> None:
        assert json_problem(_nested(MAX_JSON_DEPTH)) is None
        assert json_problem(_nested(MAX_JSON_DEPTH + 1)) is not None

    def test_an_integer_one_past_int64_is_refused(self) -> None:
        assert json_problem([2**63]) is not None
        assert json_problem([-(2**63) - 1]) is not None


class TestProviderKeySettings:
    @pytest.mark.parametrize("bad", BAD_SETTINGS.values(), ids=BAD_SETTINGS)
    async def test_create_and_update_refuse_them(
        self, client: httpx.AsyncClient, bad: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        body = {"provider": "openai", "api_key": "sk-bounded-1"}
        created = await client.post(
            "/api/api-keys/", json={**body, "settings": bad}, headers=user.headers
        )
        _assert_api_422(created)
        good = await client.post("/api/api-keys/", json=body, headers=user.headers)
        assert good.status_code == 201, good.text
        updated = await client.put(
            f"/api/api-keys/{good.json()['id']}",
            json={"settings": bad},
            headers=user.headers,
        )
        _assert_api_422(updated)

    @pytest.mark.parametrize("bad", BAD_SETTINGS.values(), ids=BAD_SETTINGS)
    async def test_admin_create_and_update_refuse_them(
        self, client: httpx.AsyncClient, bad: dict[str, Any]
    ) -> None:
        headers = await admin_headers(client)
        body = {"provider": "openai", "api_key": "sk-bounded-2"}
        created = await client.post(
            "/api/admin/api-keys/", json={**body, "settings": bad}, headers=headers
        )
        _assert_api_422(created)
        good = await client.post("/api/admin/api-keys/", json=body, headers=headers)
        assert good.status_code == 201, good.text
        updated = await client.put(
            f"/api/admin/api-keys/{good.json()['id']}",
            json={"settings": bad},
            headers=headers,
        )
        _assert_api_422(updated)


class TestThreadMetadata:
    @pytest.mark.parametrize("metadata", BAD_SETTINGS.values(), ids=BAD_SETTINGS)
    async def test_a_message_with_it_is_refused(
        self, client: httpx.AsyncClient, metadata: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        thread = await client.post(
            "/api/threads/", json={"title": "t"}, headers=user.headers
        )
        assert thread.status_code == 201, thread.text
        response = await client.post(
            f"/api/threads/{thread.json()['id']}/messages",
            json={"role": "user", "content": "hi", "metadata": metadata},
            headers=user.headers,
        )
        _assert_api_422(response)


class TestGatewayBodies:
    @pytest.mark.parametrize(
        "body",
        [
            {"model": "gpt-4o-mini", "messages": [_nested(DEEP)]},
            {"model": "gpt-4o-mini", "messages": [], "tools": [_nested(DEEP)]},
        ],
        ids=["deep_messages", "deep_tools"],
    )
    async def test_chat_completions_refuses_them_in_the_openai_shape(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/v1/chat/completions", json=body, headers=user.headers
        )
        _assert_openai_422(response)

    async def test_a_deeply_nested_raw_body_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        inner = _deep_list_json(DEEP).decode()
        raw = '{"model": "gpt-4o-mini", "messages": [], "metadata": ' + inner + "}"
        response = await client.post(
            "/v1/chat/completions",
            content=raw,
            headers={**user.headers, "Content-Type": "application/json"},
        )
        _assert_openai_422(response)

    async def test_messages_refuses_them_in_the_anthropic_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/v1/messages",
            json={"model": "claude-sonnet-4-5", "max_tokens": 5, "x": _nested(DEEP)},
            headers=user.headers,
        )
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == "invalid_request_error"

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Account, make_user
from tests.prompts.builders import assert_error, create_prompt

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app


async def _render(
    client: httpx.AsyncClient, user: Account, prompt_id: int, body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/prompts/{prompt_id}/render", json=body, headers=user.headers
    )


class TestRenderPrompt:
    async def test_fills_every_variable_and_ignores_extra_values(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        response = await _render(
            client,
            user,
            prompt["id"],
            {
                "variables": {
                    "название_продукта": "aihub",
                    "аудитория": "команд",
                    "лишняя": "ignored",
                }
            },
        )
        assert response.status_code == 200
        assert response.json() == {
            "text": "Проанализируй продукт aihub для команд.",
            "variables": ["название_продукта", "аудитория"],
        }

    async def test_names_every_missing_variable(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        response = await _render(
            client, user, prompt["id"], {"variables": {"лишняя": "x"}}
        )
        assert_error(response, 422, "validation_error")
        message = response.json()["error_message"]
        assert "название_продукта" in message
        assert "аудитория" in message

    async def test_names_only_the_missing_ones(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        response = await _render(
            client, user, prompt["id"], {"variables": {"название_продукта": "x"}}
        )
        assert_error(response, 422, "validation_error")
        assert "аудитория" in response.json()["error_message"]
        assert "название_продукта" not in response.json()["error_message"]

    async def test_repeated_variables_are_filled_everywhere(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(
            client, user.headers, content="{тема}, снова {тема}, {{тема}}"
        )
        response = await _render(
            client, user, prompt["id"], {"variables": {"тема": "ИИ"}}
        )
        assert response.json() == {
            "text": "ИИ, снова ИИ, {тема}",
            "variables": ["тема"],
        }

    async def test_a_prompt_without_variables_renders_with_no_body_values(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(
            client, user.headers, content='JSON: {{"a": 1}} and {not a var}'
        )
        response = await _render(client, user, prompt["id"], {})
        assert response.status_code == 200
        assert response.json() == {
            "text": 'JSON: {"a": 1} and {not a var}',
            "variables": [],
        }

    async def test_numbers_are_inserted_as_written(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers, content="{n} шт. по {p}")
        response = await _render(
            client, user, prompt["id"], {"variables": {"n": 5, "p": 2.5}}
        )
        assert response.json()["text"] == "5 шт. по 2.5"

    async def test_values_are_not_read_as_templates(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers, content="{a}")
        response = await _render(
            client, user, prompt["id"], {"variables": {"a": "{b} }} {{"}}
        )
        assert response.json()["text"] == "{b} }} {{"

    async def test_a_huge_result_is_refused(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers, content="{a}" * 30_000)
        response = await _render(
            client, user, prompt["id"], {"variables": {"a": "x" * 50_000}}
        )
        assert_error(response, 422, "validation_error")
        assert "1000000" in response.json()["error_message"]

    @pytest.mark.parametrize(
        "body",
        [
            {"variables": []},
            {"variables": "a=b"},
            {"variables": {"a": None}},
            {"variables": {"a": True}},
            {"variables": {"a": ["x"]}},
            {"variables": {"a": {"b": "c"}}},
            {"variables": {"a": "x" * 100_001}},
            {"variables": {"a": "nul\x00"}},
            {"variables": {"": "x"}},
            {"variables": {"k" * 201: "x"}},
            {"variables": {f"v{i}": "x" for i in range(201)}},
        ],
    )
    async def test_invalid_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, body: Any
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers, content="{a}")
        response = await _render(client, user, prompt["id"], body)
        assert_error(response, 422, "validation_error")

    async def test_a_lone_surrogate_is_a_validation_error(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers, content="{a}")
        response = await client.post(
            f"/api/prompts/{prompt['id']}/render",
            content=b'{"variables": {"a": "\\ud800"}}',
            headers={**user.headers, "content-type": "application/json"},
        )
        assert_error(response, 422, "validation_error")

    async def test_unknown_prompt_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await _render(client, user, 424242, {"variables": {}})
        assert_error(response, 404, "not_found")

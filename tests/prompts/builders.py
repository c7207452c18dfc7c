"""Prompts and categories made through the API for the prompt tests."""

from __future__ import annotations

from typing import Any

import httpx

BODY: dict[str, Any] = {
    "title": "План маркетингового исследования",
    "content": "Проанализируй продукт {название_продукта} для {аудитория}.",
    "description": "Промпт для маркетинга",
    "is_favorite": True,
}
PROMPT_KEYS = {
    "id",
    "user_id",
    "title",
    "content",
    "description",
    "category_id",
    "is_favorite",
    "created_at",
    "updated_at",
    "category",
    "variables",
}


async def create_prompt(
    client: httpx.AsyncClient, headers: dict[str, str], **kw: Any
) -> dict[str, Any]:
    response = await client.post("/api/prompts/", json={**BODY, **kw}, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def create_category(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "Аналитика"
) -> dict[str, Any]:
    response = await client.post(
        "/api/categories/",
        json={"name": name, "description": "Про данные", "color": "#0000FF"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == error_type
    assert isinstance(body["error_message"], str)

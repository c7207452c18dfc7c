"""Threads, messages and categories made for the thread tests."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from aihub.runtime import runtime_of
from aihub.threads.models import Message
from tests.factories import Account

MESSAGE_KEYS = {
    "id",
    "thread_id",
    "role",
    "content",
    "tokens",
    "model",
    "provider",
    "meta_data",
    "created_at",
}
THREAD_KEYS = {
    "id",
    "user_id",
    "title",
    "provider",
    "model",
    "category_id",
    "is_pinned",
    "is_archived",
    "created_at",
    "updated_at",
    "last_message_at",
    "category",
    "message_count",
}
CATEGORY_KEYS = {
    "id",
    "user_id",
    "name",
    "description",
    "color",
    "created_at",
    "updated_at",
}


async def new_thread(
    client: httpx.AsyncClient, account: Account, **body: Any
) -> dict[str, Any]:
    payload = {"title": "A thread", "provider": "openai", "model": "gpt-4o", **body}
    response = await client.post("/api/threads/", json=payload, headers=account.headers)
    assert response.status_code == 201, response.text
    thread: dict[str, Any] = response.json()
    return thread


async def new_message(
    client: httpx.AsyncClient, account: Account, thread_id: int, **body: Any
) -> dict[str, Any]:
    payload = {"role": "user", "content": "hello", **body}
    response = await client.post(
        f"/api/threads/{thread_id}/messages", json=payload, headers=account.headers
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


async def get_thread(
    client: httpx.AsyncClient, account: Account, thread_id: int
) -> dict[str, Any]:
    response = await client.get(f"/api/threads/{thread_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    thread: dict[str, Any] = response.json()
    return thread


async def list_threads(
    client: httpx.AsyncClient, account: Account, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/threads/", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    threads: list[dict[str, Any]] = response.json()
    return threads


async def new_category(
    client: httpx.AsyncClient, account: Account, name: str = "Work"
) -> dict[str, Any]:
    body = {"name": name, "description": "About " + name, "color": "#0000FF"}
    response = await client.post("/api/categories/", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    category: dict[str, Any] = response.json()
    return category


async def count_messages(app: FastAPI, thread_id: int) -> int:
    async with runtime_of(app).sessionmaker() as session:
        stmt = select(func.count()).where(Message.thread_id == thread_id)
        return int(await session.scalar(stmt) or 0)


def assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == error_type
    assert isinstance(body["error_message"], str)

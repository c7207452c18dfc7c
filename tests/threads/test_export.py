"""GET /api/threads/{id}/export: Markdown and JSON attachments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Account
from tests.threads.builders import (
    THREAD_KEYS,
    assert_error,
    get_thread,
    new_message,
    new_thread,
)
from tests.threads.trees import build_tree, set_message

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app


async def export(
    client: httpx.AsyncClient, account: Account, thread_id: int, **params: Any
) -> httpx.Response:
    return await client.get(
        f"/api/threads/{thread_id}/export", params=params, headers=account.headers
    )


def created_line(thread: dict[str, Any], prefix: str) -> str:
    created = datetime.fromisoformat(thread["created_at"])
    if created.tzinfo is not None:
        created = created.astimezone(UTC)
    return f"{prefix}Created: {created:%Y-%m-%d %H:%M} UTC"


class TestMarkdown:
    async def test_exports_the_active_branch(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        tree = await build_tree(client, alice, title="Maths", system_prompt="Be exact")
        await set_message(app, tree.a2, status="stopped")
        thread = await get_thread(client, alice, tree.thread_id)
        response = await export(client, alice, tree.thread_id, format="md")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/markdown; charset=utf-8"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="thread-{tree.thread_id}.md"'
        )
        expected = "\n\n".join(
            [
                "# Maths",
                created_line(thread, "Model: gpt-4o · Provider: openai · "),
                "## System",
                "Be exact",
                "## User",
                "What is 2+2?",
                "## Assistant · gpt-4o",
                "4",
                "## User",
                "And 3+3?",
                "## Assistant · gpt-4o (stopped)",
                "6",
            ]
        )
        assert response.text == expected + "\n"
        assert "\n5\n" not in response.text  # the inactive sibling

    async def test_is_the_default_format(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await export(client, alice, tree.thread_id)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/markdown; charset=utf-8"
        assert response.text.startswith("# A thread\n\n")

    async def test_keeps_content_verbatim(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, title="Code", provider=None)
        content = "## not a heading\n```py\nprint('привет')\n```\n\n  indented  "
        await new_message(client, alice, thread["id"], content=content)
        response = await export(client, alice, thread["id"])
        lines = response.text.split("\n\n", 2)
        assert lines[1] == created_line(thread, "Model: gpt-4o · ")
        assert response.text.endswith("## User\n\n" + content + "\n")

    async def test_follows_the_activated_branch(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        await client.post(
            f"/api/threads/{tree.thread_id}/messages/{tree.a1}/activate",
            headers=alice.headers,
        )
        text = (await export(client, alice, tree.thread_id)).text
        assert text.endswith("## User\n\nWhat is 2+2?\n\n## Assistant · gpt-4o\n\n5\n")
        assert "And 3+3?" not in text

    async def test_empty_thread_has_heading_only(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, title="Empty")
        text = (await export(client, alice, thread["id"])).text
        assert text.startswith("# Empty\n\nModel: gpt-4o · Provider: openai · ")
        assert "##" not in text

    async def test_branches_all_is_json_only(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await export(client, alice, tree.thread_id, branches="all")
        assert_error(response, 422, "validation_error")


class TestJson:
    async def test_exports_the_thread_detail(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        thread = await get_thread(client, alice, tree.thread_id)
        response = await export(client, alice, tree.thread_id, format="json")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="thread-{tree.thread_id}.json"'
        )
        body = json.loads(response.content)
        assert set(body) >= THREAD_KEYS
        assert body["format_version"] == 1
        assert body["active_message_id"] == tree.a2
        assert datetime.fromisoformat(body["exported_at"]).tzinfo is not None
        extra = {"format_version", "exported_at", "active_message_id"}
        assert {k: v for k, v in body.items() if k not in extra} == thread

    async def test_all_branches(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        tree_body = (
            await client.get(
                f"/api/threads/{tree.thread_id}/tree", headers=alice.headers
            )
        ).json()
        response = await export(
            client, alice, tree.thread_id, format="json", branches="all"
        )
        body = response.json()
        assert body["messages"] == tree_body["messages"]
        assert [m["content"] for m in body["messages"]] == [
            "What is 2+2?",
            "5",
            "4",
            "And 3+3?",
            "6",
        ]
        assert body["active_message_id"] == tree.a2


class TestExportErrors:
    @pytest.mark.parametrize(
        "params",
        [{"format": "pdf"}, {"format": ""}, {"format": "json", "branches": "some"}],
    )
    async def test_bad_options_are_validation_errors(
        self, client: httpx.AsyncClient, alice: Account, params: dict[str, str]
    ) -> None:
        tree = await build_tree(client, alice)
        response = await export(client, alice, tree.thread_id, **params)
        assert_error(response, 422, "validation_error")

    @pytest.mark.parametrize("export_format", ["md", "json"])
    async def test_other_users_thread_is_not_found(
        self,
        client: httpx.AsyncClient,
        alice: Account,
        bob: Account,
        export_format: str,
    ) -> None:
        tree = await build_tree(client, alice)
        response = await export(client, bob, tree.thread_id, format=export_format)
        assert_error(response, 404, "not_found")
        assert "What is 2+2?" not in response.text

    async def test_unknown_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        response = await export(client, alice, 2_147_483_647)
        assert_error(response, 404, "not_found")

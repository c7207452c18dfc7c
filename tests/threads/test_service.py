"""The service functions the chat core builds on: add_message, get_thread and
list_active_branch, called with sessions from the app's sessionmaker."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from aihub.runtime import runtime_of
from aihub.threads import service as threads_service
from aihub.threads.errors import ThreadNotFoundError
from aihub.threads.models import Thread
from aihub.users.models import User
from tests.factories import Account
from tests.threads.builders import get_thread, new_thread


async def _user(app: FastAPI, account: Account) -> User:
    async with runtime_of(app).sessionmaker() as session:
        user: User | None = await session.get(User, account.id)
        assert user is not None
        return user


async def _add(app: FastAPI, user: User, thread_id: int, content: str) -> int:
    async with runtime_of(app).sessionmaker() as session:
        thread = await threads_service.get_thread(
            session, user=user, thread_id=thread_id
        )
        message = await threads_service.add_message(
            session,
            thread=thread,
            role="assistant",
            content=content,
            parent_id=thread.active_message_id,
        )
        await session.commit()
        return message.id


class TestAddMessage:
    async def test_keeps_the_thread_counters_and_leaf(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        created = await new_thread(client, alice, initial_message="Q")
        user = await _user(app, alice)
        async with runtime_of(app).sessionmaker() as session:
            thread = await threads_service.get_thread(
                session, user=user, thread_id=created["id"]
            )
            message = await threads_service.add_message(
                session,
                thread=thread,
                role="assistant",
                content="partial",
                parent_id=thread.active_message_id,
                status="streaming",
                model="gpt-4o",
                provider="openai",
            )
            assert thread.message_count == 2
            assert thread.active_message_id == message.id
            assert thread.last_message_at == message.created_at
            await session.commit()
        shown = await get_thread(client, alice, created["id"])
        assert shown["message_count"] == 2
        last = shown["messages"][-1]
        assert (last["id"], last["status"]) == (message.id, "streaming")
        assert last["parent_id"] == created["messages"][0]["id"]

    async def test_concurrent_writers_are_both_counted(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        created = await new_thread(client, alice)
        user = await _user(app, alice)
        await asyncio.gather(
            _add(app, user, created["id"], "one"),
            _add(app, user, created["id"], "two"),
        )
        shown = await get_thread(client, alice, created["id"])
        assert shown["message_count"] == 2


class TestGetThread:
    async def test_other_users_thread_raises_not_found(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
    ) -> None:
        created = await new_thread(client, alice)
        user = await _user(app, bob)
        async with runtime_of(app).sessionmaker() as session:
            with pytest.raises(ThreadNotFoundError):
                await threads_service.get_thread(
                    session, user=user, thread_id=created["id"]
                )


class TestListActiveBranch:
    @pytest.mark.parametrize("leaf", [None, 987654])
    async def test_without_a_usable_leaf_lists_every_message(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account, leaf: int | None
    ) -> None:
        created = await new_thread(
            client, alice, system_prompt="S", initial_message="Q"
        )
        user = await _user(app, alice)
        await _add(app, user, created["id"], "A")
        async with runtime_of(app).sessionmaker() as session:
            stmt = (
                update(Thread)
                .where(Thread.id == created["id"])
                .values(active_message_id=leaf)
            )
            await session.execute(stmt)
            await session.commit()
        shown = await get_thread(client, alice, created["id"])
        assert [m["content"] for m in shown["messages"]] == ["S", "Q", "A"]

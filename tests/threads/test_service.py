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


def _exchange(
    user: User, question: str, answer: str, **where: object
) -> threads_service.NewExchange:
    return threads_service.NewExchange(
        user_id=user.id,
        question=threads_service.new_message(question, meta_data={"q": question}),
        answer=threads_service.new_message(
            answer, meta_data={"a": answer}, tokens=3, response_id=f"r-{answer}"
        ),
        **where,  # type: ignore[arg-type]  # thread= or thread_id= and parent_id=
    )


class TestAddExchanges:
    async def test_new_threads_and_continuations_in_one_batch(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        created = await new_thread(client, alice, initial_message="Q0")
        user = await _user(app, alice)
        parent = await _add(app, user, created["id"], "A0")
        new = threads_service.NewThread(title="fresh", source="gateway")
        batch = [
            _exchange(user, "Q1", "A1", thread=new),
            _exchange(user, "Q2", "A2", thread_id=created["id"], parent_id=parent),
            _exchange(user, "Q3", "A3", thread=new),
        ]
        async with runtime_of(app).sessionmaker() as session:
            ids = await threads_service.add_exchanges(session, batch)
            await session.commit()
        assert ids[1].thread_id == created["id"]
        assert len({ids[0].thread_id, ids[1].thread_id, ids[2].thread_id}) == 3
        for got, (question, answer) in zip(
            ids, [("Q1", "A1"), ("Q2", "A2"), ("Q3", "A3")], strict=True
        ):
            shown = await get_thread(client, alice, got.thread_id)
            last_two = shown["messages"][-2:]
            assert [(m["id"], m["content"]) for m in last_two] == [
                (got.question_id, question),
                (got.answer_id, answer),
            ]
            assert last_two[1]["parent_id"] == got.question_id
            assert last_two[1]["meta_data"] == {"a": answer}
            assert last_two[1]["tokens"] == 3
        continued = await get_thread(client, alice, created["id"])
        assert continued["message_count"] == 4
        assert [m["content"] for m in continued["messages"]] == [
            "Q0",
            "A0",
            "Q2",
            "A2",
        ]
        fresh = await get_thread(client, alice, ids[0].thread_id)
        assert (fresh["title"], fresh["message_count"]) == ("fresh", 2)
        async with runtime_of(app).sessionmaker() as session:
            found = await threads_service.find_response_answer(
                session, user_id=user.id, response_id="r-A3"
            )
        assert found is not None
        assert (found[0].id, found[1].id) == (ids[2].answer_id, ids[2].thread_id)

    async def test_a_response_id_is_found_for_its_owner_only(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
    ) -> None:
        user = await _user(app, alice)
        new = threads_service.NewThread(title="t", source="gateway")
        async with runtime_of(app).sessionmaker() as session:
            await threads_service.add_exchanges(
                session, [_exchange(user, "Q", "A", thread=new)]
            )
            await session.commit()
            other = await _user(app, bob)
            assert (
                await threads_service.find_response_answer(
                    session, user_id=other.id, response_id="r-A"
                )
                is None
            )

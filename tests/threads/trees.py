"""Branching conversations built through the API (siblings via parent_id), plus
the few row edits the API cannot make (status, content_parts, extra roots)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from aihub.runtime import runtime_of
from aihub.threads.models import Message, Thread
from tests.factories import Account
from tests.threads.builders import new_message, new_thread


@dataclass
class Tree:
    """q1 -> a1 (older answer) | a1b (regenerated, active) -> q2 -> a2."""

    thread_id: int
    q1: int
    a1: int
    a1b: int
    q2: int
    a2: int


async def build_tree(
    client: httpx.AsyncClient, account: Account, **thread: Any
) -> Tree:
    created = await new_thread(client, account, **thread)
    tid = created["id"]
    q1 = await new_message(client, account, tid, content="What is 2+2?")
    a1 = await new_message(
        client,
        account,
        tid,
        role="assistant",
        content="5",
        model="gpt-4o",
        provider="openai",
    )
    a1b = await new_message(
        client,
        account,
        tid,
        role="assistant",
        content="4",
        model="gpt-4o",
        provider="openai",
        parent_id=q1["id"],
    )
    q2 = await new_message(client, account, tid, content="And 3+3?")
    a2 = await new_message(
        client, account, tid, role="assistant", content="6", model="gpt-4o"
    )
    return Tree(tid, q1["id"], a1["id"], a1b["id"], q2["id"], a2["id"])


async def set_message(app: FastAPI, message_id: int, **values: Any) -> None:
    async with runtime_of(app).sessionmaker() as session:
        await session.execute(
            update(Message).where(Message.id == message_id).values(**values)
        )
        await session.commit()


async def add_root(app: FastAPI, thread_id: int, content: str) -> int:
    """A second root message (the API always attaches to the active leaf)."""
    async with runtime_of(app).sessionmaker() as session:
        message = Message(thread_id=thread_id, role="user", content=content)
        session.add(message)
        await session.commit()
        return message.id


async def thread_row(app: FastAPI, thread_id: int) -> Thread | None:
    async with runtime_of(app).sessionmaker() as session:
        thread: Thread | None = await session.get(Thread, thread_id)
        return thread


async def message_rows(app: FastAPI, thread_id: int) -> list[Message]:
    async with runtime_of(app).sessionmaker() as session:
        stmt = select(Message).where(Message.thread_id == thread_id)
        rows = await session.scalars(stmt.order_by(Message.id))
        return list(rows.all())

"""Chat management (the seed's /api/chats), key status and the model list.

A chat is an aihub thread with source ``chat``: the hub shows it among the
user's threads, while /api/chats lists, cleans and edits only these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.catalog import service as catalog_service
from aihub.catalog.schemas import AvailableModel
from aihub.chat.targets import resolve_target
from aihub.chat_proxy.errors import ChatNotFoundError
from aihub.chat_proxy.schemas import (
    ChatCreate,
    ChatDetail,
    ChatList,
    ChatSummary,
    CleanupRequest,
    CleanupResult,
    History,
    HistoryMessage,
    ModelEntry,
    ModelList,
    ProviderStatus,
    StatusRead,
)
from aihub.core.db import utcnow
from aihub.core.ids import MAX_ID
from aihub.core.pagination import PageParams
from aihub.provider_keys.schemas import PoolKeyStatus, PoolStatus
from aihub.threads import service as threads_service
from aihub.threads.models import Message, Thread
from aihub.users.models import User

log = structlog.get_logger(__name__)

DEFAULT_CHAT_NAME = "New chat"
CHAT_SOURCE = "chat"
"""A chat is a thread of this source."""


def parse_ref(text: str) -> int | None:
    """A chatId/parentId as a row id; None when it cannot name one of ours."""
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def get_chat(session: AsyncSession, *, user: User, chat_id: str) -> Thread:
    """The caller's chat, else ChatNotFoundError (another user's included)."""
    row_id = parse_ref(chat_id)
    thread = None
    if row_id is not None:
        thread = await threads_service.find_thread(
            session, user_id=user.id, thread_id=row_id, source=CHAT_SOURCE
        )
    if thread is None:
        raise ChatNotFoundError(chat_id)
    return thread


async def create_chat(session: AsyncSession, *, user: User, data: ChatCreate) -> Thread:
    """An empty chat; a model given now answers its messages by default."""
    provider = model = None
    if data.model:
        target = await resolve_target(session, user=user, model=data.model)
        provider, model = target.provider, target.model
    name = (data.name or "").strip() or DEFAULT_CHAT_NAME
    thread = await threads_service.add_thread(
        session,
        user_id=user.id,
        title=name,
        source=CHAT_SOURCE,
        provider=provider,
        model=model,
    )
    await session.commit()
    log.info("chat_created", thread_id=thread.id, user_id=user.id)
    return thread


async def list_chats(
    session: AsyncSession, *, user: User, page: PageParams
) -> ChatList:
    rows = await threads_service.list_threads_with_user_counts(
        session, user_id=user.id, source=CHAT_SOURCE, skip=page.skip, limit=page.limit
    )
    return ChatList(
        chats=[
            ChatSummary(
                id=str(thread.id),
                name=thread.title,
                created=_ms(thread.created_at),
                updated=_ms(thread.last_message_at),
                messageCount=thread.message_count,
                userMessageCount=user_messages,
                model=thread.model,
            )
            for thread, user_messages in rows
        ]
    )


def _seed_content(message: Message) -> str | list[dict[str, Any]]:
    """Text, or the parts in the seed's request format when there are images."""
    if not message.content_parts:
        return message.content
    parts: list[dict[str, Any]] = []
    for part in message.content_parts:
        if part.get("type") == "image_url":
            parts.append({"type": "image", "image": part["image_url"]["url"]})
        else:
            parts.append(part)
    return parts


def _history_message(message: Message) -> HistoryMessage:
    return HistoryMessage(
        id=str(message.id),
        parentId=str(message.parent_id) if message.parent_id is not None else None,
        role=message.role,
        content=_seed_content(message),
        timestamp=int(message.created_at.timestamp()),
        model=message.model,
        status=message.status,
    )


async def get_chat_detail(
    session: AsyncSession, *, user: User, chat_id: str
) -> ChatDetail:
    """The chat's current branch (root to the newest answer), oldest first."""
    thread = await get_chat(session, user=user, chat_id=chat_id)
    messages = await threads_service.list_active_branch(session, thread=thread)
    return ChatDetail(
        chatId=str(thread.id),
        history=History(
            id=str(thread.id),
            name=thread.title,
            created=_ms(thread.created_at),
            messages=[_history_message(m) for m in messages],
        ),
    )


async def rename_chat(
    session: AsyncSession, *, user: User, chat_id: str, name: str
) -> Thread:
    thread = await get_chat(session, user=user, chat_id=chat_id)
    threads_service.set_title(thread, name)
    await session.commit()
    return thread


async def delete_chat(session: AsyncSession, *, user: User, chat_id: str) -> None:
    thread = await get_chat(session, user=user, chat_id=chat_id)
    await threads_service.discard_threads(
        session, user_id=user.id, thread_ids=[thread.id], source=CHAT_SOURCE
    )
    await session.commit()
    log.info("chat_deleted", thread_id=thread.id, user_id=user.id)


async def cleanup_chats(
    session: AsyncSession, *, user: User, data: CleanupRequest
) -> CleanupResult:
    """Delete the chats matching every filter given, plus those beyond the
    ``maxChats`` newest. No filter at all deletes nothing."""
    created_before = None
    if data.olderThan is not None:
        created_before = utcnow() - timedelta(milliseconds=data.olderThan)
    doomed = await threads_service.find_thread_ids(
        session,
        user_id=user.id,
        source=CHAT_SOURCE,
        created_before=created_before,
        message_count_below=data.messageCountLessThan,
        user_message_count_below=data.userMessageCountLessThan,
        beyond_newest=data.maxChats,
    )
    ids = sorted(doomed)
    deleted = await threads_service.discard_threads(
        session, user_id=user.id, thread_ids=ids, source=CHAT_SOURCE
    )
    await session.commit()
    log.info("chats_cleaned_up", count=deleted, user_id=user.id)
    return CleanupResult(
        success=True, deletedCount=deleted, deletedChats=[str(i) for i in ids]
    )


# -- models and status --------------------------------------------------------------


def list_models(discovered: Sequence[tuple[str, str]]) -> ModelList:
    """Chat models of the catalog and the caller's discovering keys, one
    entry per model id (``providers`` names every provider serving it)."""
    entries: dict[str, ModelEntry] = {}
    rows: list[AvailableModel] = catalog_service.available_models(discovered).models
    for row in rows:
        if row.kind != "chat":
            continue
        entry = entries.get(row.id)
        if entry is None:
            entries[row.id] = ModelEntry(
                id=row.id,
                owned_by=row.provider,
                providers=[row.provider],
                name=row.name,
                max_tokens=row.max_tokens,
            )
        elif row.provider not in entry.providers:
            entry.providers.append(row.provider)
    return ModelList(data=list(entries.values()))


def _provider_status(keys: Sequence[PoolKeyStatus]) -> ProviderStatus:
    ok = sum(k.status == "OK" for k in keys)
    wait = sum(k.status == "WAIT" for k in keys)
    status: PoolStatus = "OK" if ok else "WAIT" if wait else "INVALID"
    until = None
    if status == "WAIT":
        until = min((k.until for k in keys if k.until is not None), default=None)
    return ProviderStatus(
        status=status, until=until, ok=ok, wait=wait, invalid=len(keys) - ok - wait
    )


def shape_status(accounts: Sequence[PoolKeyStatus]) -> StatusRead:
    by_provider: dict[str, list[PoolKeyStatus]] = {}
    for account in accounts:
        by_provider.setdefault(account.provider, []).append(account)
    return StatusRead(
        authenticated=any(a.status != "INVALID" for a in accounts),
        accounts=list(accounts),
        providers={p: _provider_status(keys) for p, keys in by_provider.items()},
    )

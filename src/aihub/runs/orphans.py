"""Answers whose process died: ``streaming`` messages nobody keeps alive any
more are marked ``interrupted`` (reason ``server_restart``), their usage
recorded once."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.catalog.tokens import acount_tokens
from aihub.core.db import utcnow
from aihub.infra.state import KeyValueStore
from aihub.providers.base import Usage
from aihub.runs.spec import run_key, usage_block
from aihub.threads import service as threads_service
from aihub.usage.recording import CallRecord, add_record, cost_of

log = structlog.get_logger(__name__)


async def recover_orphans(
    sessionmaker: async_sessionmaker[AsyncSession],
    state: KeyValueStore,
    *,
    quiet_for_s: float = 0.0,
    skip: set[int] | None = None,
) -> int:
    """Mark ``streaming`` messages of dead processes ``interrupted`` (reason
    server_restart), recording the usage of their partial text. Only messages
    unchanged for ``quiet_for_s``, not in ``skip`` (this process's own runs),
    without a heartbeat key. A message is claimed with a conditional UPDATE, so
    two processes sweeping at once record it once. A state store error stops
    the round (raised): a heartbeat that cannot be read is not a missing one."""
    cutoff = utcnow() - timedelta(seconds=quiet_for_s) if quiet_for_s > 0 else None
    async with sessionmaker() as session:
        candidates = await threads_service.list_streaming_answer_ids(
            session, unchanged_since=cutoff
        )
    orphans = []
    for message_id in candidates:
        if skip and message_id in skip:
            continue
        if await state.get_json(run_key(message_id)) is None:
            orphans.append(message_id)
    recovered = 0
    for message_id in orphans:
        if await recover_message(sessionmaker, message_id):
            recovered += 1
    if recovered:
        log.warning("generations_interrupted_by_restart", count=recovered)
    return recovered


async def recover_message(
    sessionmaker: async_sessionmaker[AsyncSession], message_id: int
) -> bool:
    async with sessionmaker() as session:
        claimed = await threads_service.claim_orphan(session, message_id=message_id)
        if claimed is None:
            await session.rollback()
            return False
        message, user_id = claimed
        meta = dict(message.meta_data or {})
        provider, model = message.provider or "", message.model or ""
        completion, _ = await acount_tokens(provider, model, message.content or "")
        prompt = int(meta.get("prompt_tokens_estimate") or 0)
        usage = Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            reported=False,
        )
        meta.update(
            tokens=usage_block(usage),
            cost=cost_of(provider, model, usage),
            usage_reported=False,
            reason="server_restart",
        )
        threads_service.set_message_meta(message, meta_data=meta, tokens=completion)
        add_record(
            session,
            CallRecord(
                user_id=user_id,
                kind="gateway" if meta.get("source") == "gateway" else "chat",
                provider=provider,
                model=model,
                usage=usage,
                thread_id=message.thread_id,
                message_id=message.id,
                status="interrupted",
            ),
        )
        await session.commit()
    return True

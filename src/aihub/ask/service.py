"""Ask a question (seed 002): one call through the key pool, kept in the log.

Only answered questions enter the history (a failed call is logged with its
error type but is not a question "asked" in the seed's sense)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.ask import repository
from aihub.ask.schemas import AskRequest
from aihub.chat.errors import as_hub_error
from aihub.chat.llm import LlmClient
from aihub.chat.targets import resolve_target
from aihub.core.errors import AihubError, NotFoundError
from aihub.providers.base import ChatMessage, ChatRequest, ProviderError
from aihub.usage.models import RequestLog
from aihub.usage.recording import CallRecord, add_record
from aihub.users.models import User


class QuestionNotFoundError(NotFoundError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"Question {request_id} not found")


async def ask(
    session: AsyncSession,
    *,
    llm: LlmClient,
    user: User,
    body: AskRequest,
    key_wait_s: float,
) -> RequestLog:
    target = await resolve_target(
        session, user=user, provider=body.provider, model=body.model
    )
    # No connection held across the upstream call (its key lookup may need one).
    await session.commit()
    request = ChatRequest(
        model=target.model,
        messages=[ChatMessage(role="user", content=body.question)],
    )
    call = llm.stream(
        user_id=user.id, target=target, request=request, wait_s=key_wait_s
    )
    record = CallRecord(
        user_id=user.id,
        kind=repository.KIND,
        provider=target.provider,
        model=target.model,
        question=body.question,
    )
    try:
        completion = await call.complete()
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        record.status, record.error_type = "error", error.error_type
        record.provider, record.model = call.target.provider, call.target.model
        record.provider_key_id, record.latency_ms = call.key_id, call.latency_ms
        add_record(session, record)
        await session.commit()
        raise error from exc
    record.provider, record.model = call.target.provider, call.target.model
    record.usage, record.answer = completion.usage, completion.text
    record.provider_key_id = call.key_id
    record.latency_ms = record.ttft_ms = call.latency_ms
    row = add_record(session, record)
    await session.commit()
    await session.refresh(row)
    return row


async def recent(
    session: AsyncSession, *, user: User, limit: int
) -> Sequence[RequestLog]:
    return await repository.list_recent(session, user_id=user.id, limit=limit)


async def list_questions(
    session: AsyncSession, *, user_id: int | None, skip: int, limit: int
) -> Sequence[RequestLog]:
    return await repository.list_all(session, user_id=user_id, skip=skip, limit=limit)


async def get_question(session: AsyncSession, *, request_id: int) -> RequestLog:
    row = await repository.get(session, request_id=request_id)
    if row is None:
        raise QuestionNotFoundError(request_id)
    return row

"""Chat in threads: store what the user typed, then start a generation.

Every entry point ends in ``_generate``: the user message (new, edited or the one
being answered again) is committed first; the context is built from its branch;
the assistant message is created as the newest leaf, status ``streaming``; a
``GenerationRun`` takes it from there (see runs.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.catalog.tokens import acount_tokens
from aihub.chat.context import build_context, system_prompt_of
from aihub.chat.llm import LlmClient, Target
from aihub.chat.schemas import (
    EditMessage,
    RegenerateOptions,
    SendMessage,
    ThreadStreamCreate,
)
from aihub.chat.targets import resolve_target
from aihub.core.error_handlers import BUSY_RETRY_AFTER_S
from aihub.core.errors import BadRequestError, ServiceUnavailableError
from aihub.files import service as files_service
from aihub.provider_keys.errors import NoProviderKeyError
from aihub.providers.base import ChatRequest
from aihub.runs.generation import GenerationRun
from aihub.runs.hub import RunHub
from aihub.runs.spec import RunSpec
from aihub.threads import service as threads_service
from aihub.threads.errors import MessageNotFoundError
from aihub.threads.models import Message, Thread
from aihub.users.models import User

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ChatDeps:
    llm: LlmClient
    runs: RunHub
    key_wait_s: float
    files: files_service.OwnFiles
    """Resolves the caller's own image links into data: URLs for the provider."""


@dataclass(frozen=True, slots=True)
class Options:
    """What shapes one answer, beyond the thread's own settings."""

    system_prompt: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    provider: str | None = None
    model: str | None = None
    use_context: bool = True
    timeout_s: float = 120.0


def _parts(content: str, images: list[str] | None) -> list[dict[str, Any]] | None:
    if not images:
        return None
    parts: list[dict[str, Any]] = [{"type": "text", "text": content}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
    return parts


async def send(
    session: AsyncSession,
    deps: ChatDeps,
    *,
    user: User,
    thread_id: int,
    body: SendMessage,
    use_context: bool,
    timeout_s: float,
) -> GenerationRun:
    async with _start_slot(session, deps):
        thread = await threads_service.get_thread(
            session, user=user, thread_id=thread_id
        )
        images = [_parts("", body.images)]
        await files_service.check_image_links(
            deps.files.outbound, images, deps.files.bases
        )
        own = files_service.own_image_urls(images, deps.files)
        await files_service.check_own_images(
            session, deps.files, user_id=user.id, urls=own
        )
        options = Options(
            system_prompt=body.system_prompt,
            max_tokens=body.max_tokens,
            temperature=body.temperature,
            provider=body.provider,
            model=body.model,
            use_context=use_context,
            timeout_s=timeout_s,
        )
        question = await _unanswered_same_question(session, thread, body)
        if question is None:
            question = await _add_user_message(
                session,
                thread=thread,
                content=body.content,
                parent_id=thread.active_message_id,
                images=body.images,
                meta_data=body.meta_data,
                provider=body.provider or thread.provider,
                model=body.model or thread.model,
            )
        return await _generate(
            session, deps, user=user, thread=thread, question=question, options=options
        )


async def _unanswered_same_question(
    session: AsyncSession, thread: Thread, body: SendMessage
) -> Message | None:
    """The thread's last question when it is the one being sent again and got no
    answer (its answer failed, or it has none): sending it again answers it anew,
    as a regenerate would, instead of putting the same question twice in a row
    into the context."""
    if thread.active_message_id is None:
        return None
    last = await _message(session, thread, thread.active_message_id)
    if last.role == "assistant":
        if last.status != "error" or last.parent_id is None:
            return None
        last = await _message(session, thread, last.parent_id)
    if last.role != "user" or last.content != body.content:
        return None
    if last.content_parts != _parts(body.content, body.images):
        return None
    return last


async def create_and_stream(
    session: AsyncSession,
    deps: ChatDeps,
    *,
    user: User,
    body: ThreadStreamCreate,
    timeout_s: float,
) -> tuple[Thread, GenerationRun]:
    async with _start_slot(session, deps):
        detail = await threads_service.create_thread(session, user=user, data=body)
        question = next(m for m in reversed(detail.messages) if m.role == "user")
        # Loaded now: after _generate's commit nothing may use this session again,
        # or its connection stays checked out for the whole stream.
        await session.refresh(detail.thread, ["category"])
        options = Options(timeout_s=timeout_s)
        run = await _generate(
            session,
            deps,
            user=user,
            thread=detail.thread,
            question=question,
            options=options,
        )
        return detail.thread, run


async def regenerate(
    session: AsyncSession,
    deps: ChatDeps,
    *,
    user: User,
    thread_id: int,
    message_id: int,
    body: RegenerateOptions,
    use_context: bool,
    timeout_s: float,
) -> GenerationRun:
    """A new answer beside ``message_id`` (an assistant message), or a new answer
    to ``message_id`` (a user message); older answers stay as branches."""
    async with _start_slot(session, deps):
        thread = await threads_service.get_thread(
            session, user=user, thread_id=thread_id
        )
        message = await _message(session, thread, message_id)
        if message.role == "assistant":
            if message.parent_id is None:
                raise BadRequestError("This answer has no question to answer again")
            question = await _message(session, thread, message.parent_id)
        elif message.role == "user":
            question = message
        else:
            raise BadRequestError(
                "Only a user or an assistant message can be regenerated"
            )
        options = Options(
            max_tokens=body.max_tokens,
            temperature=body.temperature,
            provider=body.provider,
            model=body.model,
            use_context=use_context,
            timeout_s=timeout_s,
        )
        return await _generate(
            session, deps, user=user, thread=thread, question=question, options=options
        )


async def edit(
    session: AsyncSession,
    deps: ChatDeps,
    *,
    user: User,
    thread_id: int,
    message_id: int,
    body: EditMessage,
    use_context: bool,
    timeout_s: float,
) -> GenerationRun:
    """A new version of a user message, as a sibling of the old one, answered."""
    async with _start_slot(session, deps):
        thread = await threads_service.get_thread(
            session, user=user, thread_id=thread_id
        )
        original = await _message(session, thread, message_id)
        if original.role != "user":
            raise BadRequestError("Only a user message can be edited")
        question = await _add_user_message(
            session,
            thread=thread,
            content=body.content,
            parent_id=original.parent_id,
            images=None,
            meta_data={**(original.meta_data or {}), "edited_from": original.id},
            provider=body.provider or thread.provider,
            model=body.model or thread.model,
            content_parts=_edited_parts(original, body.content),
        )
        options = Options(
            max_tokens=body.max_tokens,
            temperature=body.temperature,
            provider=body.provider,
            model=body.model,
            use_context=use_context,
            timeout_s=timeout_s,
        )
        return await _generate(
            session, deps, user=user, thread=thread, question=question, options=options
        )


@contextlib.asynccontextmanager
async def _start_slot(session: AsyncSession, deps: ChatDeps) -> AsyncIterator[None]:
    """Starting an answer takes a few database round trips; at most
    ``RunHub.start_slots`` run at once, so a burst of new answers queues here
    instead of filling the pool's queue ahead of every other request. The
    connection the auth lookup took is given back first: holding it while
    queueing is how a saturated pool deadlocks."""
    await session.commit()
    async with deps.runs.start_slots:
        yield


async def _check_keys(deps: ChatDeps, *, user: User, target: Target) -> None:
    """No key at all for the model (or its fallbacks) is the caller's error
    now, before an assistant message is made; other key trouble surfaces in
    the run (it may clear while waiting)."""
    for candidate in deps.llm.targets(target):
        if await deps.llm.pool.has_keys(candidate.provider, user_id=user.id):
            return
    raise NoProviderKeyError(target.provider)


def _edited_parts(original: Message, content: str) -> list[dict[str, Any]] | None:
    """The original's images kept with the new text."""
    if not original.content_parts:
        return None
    images = [p for p in original.content_parts if p.get("type") != "text"]
    return [{"type": "text", "text": content}, *images] if images else None


async def _message(session: AsyncSession, thread: Thread, message_id: int) -> Message:
    message = await threads_service.find_message(
        session, thread_id=thread.id, message_id=message_id
    )
    if message is None:
        raise MessageNotFoundError(message_id)
    return message


async def _add_user_message(
    session: AsyncSession,
    *,
    thread: Thread,
    content: str,
    parent_id: int | None,
    images: list[str] | None,
    meta_data: dict[str, Any] | None,
    provider: str | None,
    model: str | None,
    content_parts: list[dict[str, Any]] | None = None,
) -> Message:
    """Store and COMMIT the user's message before anything can fail upstream."""
    tokens = None
    if provider and model:
        tokens, _ = await acount_tokens(provider, model, content)
    message = await threads_service.add_message(
        session,
        thread=thread,
        role="user",
        content=content,
        parent_id=parent_id,
        tokens=tokens,
        meta_data=meta_data,
        content_parts=content_parts or _parts(content, images),
    )
    await session.commit()
    return message


async def _generate(
    session: AsyncSession,
    deps: ChatDeps,
    *,
    user: User,
    thread: Thread,
    question: Message,
    options: Options,
) -> GenerationRun:
    """Start answering ``question`` (already committed). When the database
    fails first (a saturated pool, a lost connection), the question gets an
    answer in status ``error`` (if it can still be written) and the caller a
    503: never a stored question that looks as if an answer were coming."""
    question_id = question.id
    try:
        return await _start(
            session,
            deps,
            user=user,
            thread=thread,
            question=question,
            options=options,
        )
    except SQLAlchemyError as exc:
        await _record_failed_start(session, thread=thread, question_id=question_id)
        raise ServiceUnavailableError(
            "The server is busy: the answer could not be started. Retry shortly.",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        ) from exc


async def _record_failed_start(
    session: AsyncSession, *, thread: Thread, question_id: int
) -> None:
    try:
        await session.rollback()
        await session.refresh(thread)  # the rollback expired it
        await threads_service.add_message(
            session,
            thread=thread,
            role="assistant",
            content="",
            parent_id=question_id,
            status="error",
            meta_data={
                "reason": "internal_error",
                "error": {
                    "error_type": ServiceUnavailableError.error_type,
                    "error_message": "The answer could not be started",
                },
            },
        )
        await session.commit()
    except SQLAlchemyError:
        log.warning("generation_start_failure_not_recorded", message_id=question_id)


async def _start(
    session: AsyncSession,
    deps: ChatDeps,
    *,
    user: User,
    thread: Thread,
    question: Message,
    options: Options,
) -> GenerationRun:
    target = await resolve_target(
        session,
        user=user,
        provider=options.provider,
        model=options.model,
        thread_provider=thread.provider,
        thread_model=thread.model,
    )
    # Give the connection back before the key lookup, which may open its own:
    # holding one while waiting for another deadlocks a saturated pool.
    await session.commit()
    await _check_keys(deps, user=user, target=target)
    branch = await threads_service.branch_turns(
        session, thread=thread, leaf_id=question.id
    )
    system = options.system_prompt or system_prompt_of(branch, thread.system_prompt)
    max_tokens = options.max_tokens or thread.max_tokens
    temperature = (
        options.temperature if options.temperature is not None else thread.temperature
    )
    context = await build_context(
        branch,
        target=target,
        system=system,
        use_context=options.use_context,
        max_tokens=max_tokens,
    )
    messages = await files_service.inline_own_images(
        session, deps.files, user_id=user.id, messages=context.messages
    )
    if thread.provider is None or thread.model is None:
        threads_service.set_thread_model(
            thread, provider=target.provider, model=target.model
        )
    answer = await threads_service.add_message(
        session,
        thread=thread,
        role="assistant",
        content="",
        parent_id=question.id,
        model=target.model,
        provider=target.provider,
        status="streaming",
        meta_data={
            "with_context": options.use_context,
            "prompt_tokens_estimate": context.prompt_tokens,
        },
    )
    await session.commit()
    request = ChatRequest(
        model=target.model,
        messages=messages,
        system=system,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    call = deps.llm.stream(
        user_id=user.id,
        target=target,
        request=request,
        wait_s=min(deps.key_wait_s, options.timeout_s),
    )
    spec = RunSpec(
        user_id=user.id,
        thread_id=thread.id,
        user_message_id=question.id,
        assistant_message_id=answer.id,
        target=target,
        prompt_tokens=context.prompt_tokens,
        with_context=options.use_context,
        timeout_s=options.timeout_s,
        meta={
            "context_messages": len(context.messages),
            "context_dropped": context.dropped,
        },
    )
    run = GenerationRun(deps.runs, spec, call)
    deps.runs.launch(run)
    return run

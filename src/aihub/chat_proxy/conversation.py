"""Answering POST /api/chat and /api/chat/completions in a chat (a thread).

A request becomes an ``Ask``: the system text, the turns to store and the
options. Without a chatId a new chat is made and every turn of ``messages`` is
stored (the OpenAI way: the request carries the history). With a chatId the
chat holds the history, so only the request's last user turn is stored, under
``parentId`` (default: the chat's newest message); a parentId that is not the
newest message starts a branch. A system text that differs from the one in
force on the branch is stored as a system message before the turn, so it
governs this answer and the ones that follow.

The stored turns are committed before anything is called; the chat core
(chat.service.regenerate on the new user message) then builds the context from
the branch, stores the answer as it streams and records usage. Images that
are aihub's own file links must be the caller's (checked before anything is
stored); they are stored as links and sent upstream as data: URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.chat import service as chat_service
from aihub.chat.context import system_prompt_of
from aihub.chat.llm import parse_target
from aihub.chat.schemas import DEFAULT_TIMEOUT_S, RegenerateOptions
from aihub.chat.service import ChatDeps
from aihub.chat_proxy import accounting
from aihub.chat_proxy.errors import ParentNotFoundError
from aihub.chat_proxy.schemas import (
    ChatRequest,
    CompletionRequest,
    ImagePart,
    MessageIn,
    Part,
    TextPart,
)
from aihub.chat_proxy.service import CHAT_SOURCE, get_chat, parse_ref
from aihub.core.errors import ValidationFailedError
from aihub.files import service as files_service
from aihub.gateway.caller import Caller
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.provider_keys.schemas import PROVIDERS
from aihub.runs.generation import GenerationRun
from aihub.threads import service as threads_service
from aihub.threads.models import Message, Thread
from aihub.threads.service import derive_title
from aihub.users.models import User

COMPLETIONS_CHAT_NAME = "OpenAI API Chat"
_GLOB = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str
    parts: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class Ask:
    system: str | None
    turns: list[Turn]
    """What to store, oldest first; the last is the user's question."""
    model: str | None
    chat_id: str | None
    parent_id: str | None
    max_tokens: int | None
    temperature: float | None
    name: str | None
    """A new chat's name; None derives it from the question."""


def _turn(role: str, content: str | Sequence[Part]) -> Turn:
    """Text as is; parts as the text joined plus OpenAI image_url parts."""
    if isinstance(content, str):
        return Turn(role, content, None)
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            texts.append(part.text)
            parts.append({"type": "text", "text": part.text})
        else:
            url = part.image if isinstance(part, ImagePart) else part.image_url.url
            parts.append({"type": "image_url", "image_url": {"url": url}})
    has_images = any(p["type"] == "image_url" for p in parts)
    return Turn(role, "\n".join(texts), parts if has_images else None)


def _system_text(messages: Sequence[MessageIn]) -> str | None:
    texts: list[str] = []
    for message in messages:
        if message.role not in ("system", "developer"):
            continue
        if isinstance(message.content, str):
            texts.append(message.content)
            continue
        for part in message.content:
            if not isinstance(part, TextPart):
                raise ValidationFailedError("A system message may hold text only")
            texts.append(part.text)
    joined = "\n\n".join(t for t in texts if t.strip())
    return joined or None


def _check_question(turn: Turn) -> Turn:
    if turn.role != "user":
        raise ValidationFailedError("The last message must be the user's")
    if not turn.content.strip() and not turn.parts:
        raise ValidationFailedError("The message must not be empty")
    return turn


def _turns(messages: Sequence[MessageIn], *, continuing: bool) -> list[Turn]:
    turns = [
        _turn(m.role, m.content) for m in messages if m.role in ("user", "assistant")
    ]
    if not turns:
        raise ValidationFailedError("messages hold no user message")
    question = _check_question(turns[-1])
    return [question] if continuing else [*turns[:-1], question]


def ask_of(body: ChatRequest | CompletionRequest) -> Ask:
    continuing = body.chatId is not None
    if isinstance(body, ChatRequest) and body.message is not None:
        system = None
        turns = [_check_question(_turn("user", body.message))]
        name = None
    else:
        messages = body.messages or []
        system = _system_text(messages)
        turns = _turns(messages, continuing=continuing)
        name = COMPLETIONS_CHAT_NAME if isinstance(body, CompletionRequest) else None
    return Ask(
        system=system,
        turns=turns,
        model=body.model,
        chat_id=body.chatId,
        parent_id=body.parentId,
        max_tokens=body.output_tokens,
        temperature=body.temperature,
        name=name,
    )


def _model(ask: Ask, caller: Caller) -> str | None:
    """The model asked for; with none, a key limited to some models uses the
    first it names exactly."""
    if ask.model is not None or caller.key is None or not caller.key.models:
        return ask.model
    for allowed in caller.key.models:
        if not _GLOB.intersection(allowed):
            return allowed
    raise ValidationFailedError("Name a model: this key allows only some models")


def _options(ask: Ask, model: str | None) -> RegenerateOptions:
    """ "provider/model" names the provider too."""
    provider = None
    target = parse_target(model) if model else None
    if target is not None and target.provider in PROVIDERS:
        provider, model = target.provider, target.model
    return RegenerateOptions(
        provider=provider,
        model=model,
        max_tokens=ask.max_tokens,
        temperature=ask.temperature,
    )


def _estimated_tokens(ask: Ask) -> int:
    """A cheap upper-bound guess for a key's tpm check: 4 characters a token."""
    chars = len(ask.system or "") + sum(len(t.content) for t in ask.turns)
    return chars // 4 + (ask.max_tokens or 0)


async def _parent(session: AsyncSession, thread: Thread, ask: Ask) -> int | None:
    if ask.parent_id is None:
        return thread.active_message_id
    row_id = parse_ref(ask.parent_id)
    message = None
    if row_id is not None:
        message = await threads_service.find_message(
            session, thread_id=thread.id, message_id=row_id
        )
    if message is None:
        raise ParentNotFoundError(ask.parent_id)
    return message.id


async def _system_in_force(
    session: AsyncSession, thread: Thread, parent_id: int | None
) -> str | None:
    if parent_id is None:
        return thread.system_prompt
    branch = await threads_service.list_branch(
        session, thread_id=thread.id, leaf_id=parent_id
    )
    return system_prompt_of(branch, thread.system_prompt)


async def _store_turns(session: AsyncSession, *, user: User, ask: Ask) -> Message:
    """Store (and commit) the system text and turns; the question is returned."""
    if ask.chat_id is not None:
        thread = await get_chat(session, user=user, chat_id=ask.chat_id)
        parent_id = await _parent(session, thread, ask)
    else:
        question = ask.turns[-1]
        thread = await threads_service.add_thread(
            session,
            user_id=user.id,
            title=ask.name or derive_title(None, question.content),
            source=CHAT_SOURCE,
        )
        parent_id = None
    if ask.system and ask.system != await _system_in_force(session, thread, parent_id):
        system = await threads_service.add_message(
            session,
            thread=thread,
            role="system",
            content=ask.system,
            parent_id=parent_id,
        )
        parent_id = system.id
    message: Message | None = None
    for turn in ask.turns:
        message = await threads_service.add_message(
            session,
            thread=thread,
            role=turn.role,
            content=turn.content,
            parent_id=parent_id,
            content_parts=turn.parts,
        )
        parent_id = message.id
    await session.commit()
    if message is None:  # ask_of always gives a question
        raise ValidationFailedError("The message must not be empty")
    return message


async def start_answer(
    session: AsyncSession,
    deps: ChatDeps,
    *,
    gateway: GatewayRuntime,
    user: User,
    caller: Caller,
    ask: Ask,
) -> tuple[GenerationRun, dict[str, str]]:
    """Check the caller's images and key, store the turns, then start the
    answer (the run stores it as it comes); the key's x-ratelimit-* headers
    come back too."""
    model = _model(ask, caller)
    files = deps.files
    parts = [t.parts for t in ask.turns]
    await files_service.check_image_links(files.outbound, parts, files.bases)
    own = files_service.own_image_urls(parts, deps.files)
    await files_service.check_own_images(session, deps.files, user_id=user.id, urls=own)
    headers = await accounting.admit(
        gateway, caller, model=model, estimated_tokens=_estimated_tokens(ask)
    )
    question = await _store_turns(session, user=user, ask=ask)
    run = await chat_service.regenerate(
        session,
        deps,
        user=user,
        thread_id=question.thread_id,
        message_id=question.id,
        body=_options(ask, model),
        use_context=True,
        timeout_s=DEFAULT_TIMEOUT_S,
    )
    return run, headers

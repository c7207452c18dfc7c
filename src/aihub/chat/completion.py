"""POST /api/threads/completion: one answer, no thread, with a cache.

A request is deterministic, and so cacheable, when its temperature is 0 or it
asks for the cache (``"cache": true``); ``"cache": false`` never uses it. The
cache key is a hash of everything that shapes the answer (provider, model,
system prompt, prompt, max_tokens, temperature) and of the user: one user's
prompts never answer another's. A hit is answered with ``from_cache: true`` and
cost 0, and is still one row of the request log (cached, cost 0).
"""

from __future__ import annotations

import hashlib
import time

import orjson
import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.chat.errors import as_hub_error
from aihub.chat.llm import LlmCall, LlmClient, Target
from aihub.chat.schemas import CompletionRead, CompletionRequest, TokenBlock
from aihub.chat.targets import resolve_target
from aihub.core.errors import AihubError
from aihub.infra.cache import Cache
from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    Completion,
    ProviderError,
    Usage,
)
from aihub.usage.recording import CallRecord, add_record, cost_of
from aihub.users.models import User

log = structlog.get_logger(__name__)

CACHE_PREFIX = "completion:v1:"


def is_cacheable(body: CompletionRequest) -> bool:
    if body.cache is not None:
        return body.cache
    return body.temperature == 0


def cache_key(user_id: int, provider: str, model: str, body: CompletionRequest) -> str:
    shape = {
        "user": user_id,
        "provider": provider,
        "model": model,
        "system": body.system_prompt,
        "prompt": body.prompt,
        "max_tokens": body.max_tokens,
        "temperature": body.temperature,
    }
    digest = hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS))
    return CACHE_PREFIX + digest.hexdigest()


def _tokens(usage: Usage | None) -> TokenBlock:
    usage = usage or Usage(reported=False)
    return TokenBlock(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens
        or usage.prompt_tokens + usage.completion_tokens,
    )


async def _cached(cache: Cache, key: str) -> CompletionRead | None:
    raw = await cache.get(key)
    if raw is None:
        return None
    try:
        return CompletionRead.model_validate_json(raw)
    except ValidationError:
        log.warning("completion_cache_entry_unreadable")
        return None


async def complete(
    session: AsyncSession,
    *,
    llm: LlmClient,
    cache: Cache,
    user: User,
    body: CompletionRequest,
    key_wait_s: float,
    cache_ttl_s: float,
) -> CompletionRead:
    target = await resolve_target(
        session, user=user, provider=body.provider, model=body.model
    )
    key = None
    if is_cacheable(body) and cache_ttl_s > 0:
        key = cache_key(user.id, target.provider, target.model, body)
        hit = await _cached(cache, key)
        if hit is not None:
            hit = hit.model_copy(update={"from_cache": True, "cost": 0.0})
            await _record_hit(session, user, hit)
            return hit
    request = ChatRequest(
        model=target.model,
        messages=[ChatMessage(role="user", content=body.prompt)],
        system=body.system_prompt,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
    )
    started = time.monotonic()
    completion, call = await _call(llm, session, user, target, request, key_wait_s)
    answer = CompletionRead(
        text=completion.text,
        model=call.target.model,
        provider=call.target.provider,
        tokens=_tokens(completion.usage),
        cost=cost_of(call.target.provider, call.target.model, completion.usage),
        from_cache=False,
    )
    add_record(
        session,
        CallRecord(
            user_id=user.id,
            kind="completion",
            provider=call.target.provider,
            model=call.target.model,
            usage=completion.usage,
            provider_key_id=call.key_id,
            latency_ms=int((time.monotonic() - started) * 1000),
            ttft_ms=call.ttft_ms,
        ),
    )
    await session.commit()
    if key is not None:
        await cache.set(key, answer.model_dump_json().encode(), cache_ttl_s)
    return answer


async def _call(
    llm: LlmClient,
    session: AsyncSession,
    user: User,
    target: Target,
    request: ChatRequest,
    key_wait_s: float,
) -> tuple[Completion, LlmCall]:
    """The call; a failure is logged in the request log, then raised as the
    hub's error."""
    call = llm.stream(
        user_id=user.id, target=target, request=request, wait_s=key_wait_s
    )
    try:
        return await call.complete(), call
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        add_record(
            session,
            CallRecord(
                user_id=user.id,
                kind="completion",
                provider=call.target.provider,
                model=call.target.model,
                provider_key_id=call.key_id,
                latency_ms=call.latency_ms,
                status="error",
                error_type=error.error_type,
            ),
        )
        await session.commit()
        raise error from exc


async def _record_hit(session: AsyncSession, user: User, hit: CompletionRead) -> None:
    usage = Usage(
        prompt_tokens=hit.tokens.prompt_tokens,
        completion_tokens=hit.tokens.completion_tokens,
        total_tokens=hit.tokens.total_tokens,
    )
    add_record(
        session,
        CallRecord(
            user_id=user.id,
            kind="completion",
            provider=hit.provider,
            model=hit.model,
            usage=usage,
            is_cached=True,
            latency_ms=0,
        ),
    )
    await session.commit()

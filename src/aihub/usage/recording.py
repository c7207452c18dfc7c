"""Write one row of the request log per upstream call, priced by the cost engine.

Every caller (thread chat, direct completion, seed 002's ask, the gateway) goes
through ``record_call`` so cost and token figures are computed one way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.db import utcnow
from aihub.providers.base import Usage
from aihub.usage.cost import compute_cost
from aihub.usage.models import RequestLog

COST_DECIMALS = 8


@dataclass(slots=True)
class CallRecord:
    """What one upstream call did; ``usage`` None means nothing was billed."""

    user_id: int
    kind: str
    provider: str
    model: str
    usage: Usage | None = None
    provider_key_id: int | None = None
    gateway_key_id: int | None = None
    thread_id: int | None = None
    message_id: int | None = None
    latency_ms: int | None = None
    ttft_ms: int | None = None
    status: str = "ok"
    error_type: str | None = None
    is_cached: bool = False
    question: str | None = None
    answer: str | None = None
    units: float = 0.0
    """Images or seconds of media."""
    cost: float | None = None
    """A cost priced elsewhere (media); None: priced from ``usage`` here."""
    created_at: datetime | None = None
    """When the call was made (a batched write comes later); None: now."""


def cost_of(provider: str, model: str, usage: Usage | None) -> float:
    if usage is None:
        return 0.0
    return round(compute_cost(provider, model, usage).total, COST_DECIMALS)


def _cost(record: CallRecord) -> float:
    if record.is_cached:
        return 0.0
    if record.cost is not None:
        return round(record.cost, COST_DECIMALS)
    return cost_of(record.provider, record.model, record.usage)


def row_values(record: CallRecord) -> dict[str, Any]:
    """The request-log row of a call, as column values."""
    usage = record.usage or Usage(reported=False)
    return {
        "user_id": record.user_id,
        "provider_key_id": record.provider_key_id,
        "gateway_key_id": record.gateway_key_id,
        "thread_id": record.thread_id,
        "message_id": record.message_id,
        "kind": record.kind,
        "provider": record.provider,
        "model": record.model,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "total_tokens": usage.total_tokens
        or usage.prompt_tokens + usage.completion_tokens,
        "cost": _cost(record),
        "units": record.units,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "status": record.status,
        "error_type": record.error_type,
        "is_cached": record.is_cached,
        "question": record.question,
        "answer": record.answer,
        "created_at": record.created_at or utcnow(),
    }


def add_record(session: AsyncSession, record: CallRecord) -> RequestLog:
    """Add the row to ``session`` (the caller commits, with its other writes)."""
    row = RequestLog(**row_values(record))
    session.add(row)
    return row

"""A gateway key's limits on the proxy, as on /v1: checked before the call
(allowed models, budget, rpm, tpm), charged with the answer's tokens and cost
once it ends. JWT callers have no key and nothing to check."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from aihub.gateway import limits
from aihub.gateway.caller import Caller
from aihub.runs.generation import GenerationRun
from aihub.runs.spec import RunResult

log = structlog.get_logger(__name__)

TASKS_ATTR = "proxy_charges"


async def admit(
    app_state: Any, caller: Caller, *, model: str | None, estimated_tokens: int
) -> dict[str, str]:
    """Raise when the key may not make this call; else x-ratelimit-* headers."""
    return await limits.check_request(app_state, caller, model or "", estimated_tokens)


async def charge(app_state: Any, caller: Caller, result: RunResult) -> None:
    if caller.key is None:
        return
    usage = result.usage
    tokens = 0
    if usage is not None:
        tokens = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
    await limits.record_usage(app_state, caller, tokens=tokens, cost=result.cost)


async def _charge_at_end(app_state: Any, caller: Caller, run: GenerationRun) -> None:
    try:
        await charge(app_state, caller, await run.wait())
    except Exception:  # accounting must not take a stream down with it
        log.exception("proxy_charge_failed", message_id=run.message_id)


def charge_when_done(app_state: Any, caller: Caller, run: GenerationRun) -> None:
    """Charge the key once the run ends, whether or not its client stays."""
    if caller.key is None:
        return
    tasks: set[asyncio.Task[None]] | None = getattr(app_state, TASKS_ATTR, None)
    if tasks is None:
        tasks = set()
        setattr(app_state, TASKS_ATTR, tasks)
    task = asyncio.create_task(_charge_at_end(app_state, caller, run))
    tasks.add(task)
    task.add_done_callback(tasks.discard)

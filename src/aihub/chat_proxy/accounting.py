"""A gateway key's limits on the proxy, as on /v1: checked before the call
(allowed models, budget, rpm, tpm), charged with the answer's tokens and cost
once it ends. JWT callers have no key and nothing to check."""

from __future__ import annotations

import structlog

from aihub.gateway import limits
from aihub.gateway.caller import Caller
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.runs.generation import GenerationRun
from aihub.runs.spec import RunResult

log = structlog.get_logger(__name__)


async def admit(
    gateway: GatewayRuntime, caller: Caller, *, model: str | None, estimated_tokens: int
) -> dict[str, str]:
    """Raise when the key may not make this call; else x-ratelimit-* headers."""
    return await limits.check_request(gateway, caller, model or "", estimated_tokens)


async def charge(gateway: GatewayRuntime, caller: Caller, result: RunResult) -> None:
    if caller.key is None:
        return
    usage = result.usage
    tokens = 0
    if usage is not None:
        tokens = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
    await limits.record_usage(gateway, caller, tokens=tokens, cost=result.cost)


async def _charge_at_end(
    gateway: GatewayRuntime, caller: Caller, run: GenerationRun
) -> None:
    try:
        await charge(gateway, caller, await run.wait())
    except Exception:  # accounting must not take a stream down with it
        log.exception("proxy_charge_failed", message_id=run.message_id)


def charge_when_done(
    gateway: GatewayRuntime, caller: Caller, run: GenerationRun
) -> None:
    """Charge the key once the run ends, whether or not its client stays (a
    task of the run's hub: shutdown waits for it)."""
    if caller.key is None:
        return
    run.hub.spawn(
        _charge_at_end(gateway, caller, run), name=f"proxy-charge-{run.message_id}"
    )

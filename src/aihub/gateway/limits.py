"""A gateway key's limits on the hot path: allowed models, budget, requests and
tokens per minute. JWT callers (no key) have none.

    headers = await check_request(runtime.gateway, caller, model, estimated_tokens)
    ... forward, then add ``headers`` (x-ratelimit-*) to the response ...
    await record_usage(runtime.gateway, caller, tokens=real_tokens, cost=cost_usd)

Windows live in ``infra.limiter`` (Redis when configured: shared by every
process). The budget compares the key's shared running spend (see spend.py).
If Redis does not answer, the rpm/tpm checks let the request through (logged):
an outage of the limiter should not take the gateway down with it.

A team key is held to its team's limits too: the team's models, rpm and tpm
(windows shared by every key of the team) and its monthly budget, admitted last
(team_budget.py: no call starts that the team's remaining budget cannot hold,
beyond one in flight per process).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from fnmatch import fnmatchcase

import structlog

from aihub.gateway.caller import Caller, KeyPolicy, TeamLimits
from aihub.gateway.keys.errors import (
    GatewayKeyBudgetExceededError,
    GatewayKeyRateLimitError,
    ModelNotAllowedError,
)
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.limiter import Limiter, LimitResult

log = structlog.get_logger(__name__)

_GLOB = frozenset("*?[")


def rpm_key(key_id: int) -> str:
    return f"gateway:{key_id}:rpm"


def tpm_key(key_id: int) -> str:
    return f"gateway:{key_id}:tpm"


def team_rpm_key(team_id: int) -> str:
    return f"gateway:team:{team_id}:rpm"


def team_tpm_key(team_id: int) -> str:
    return f"gateway:team:{team_id}:tpm"


def model_allowed(policy: KeyPolicy | TeamLimits, model: str) -> bool:
    """Empty ``models``: every model. Entries match exactly, or as a glob when
    they hold ``*``, ``?`` or ``[`` (``gpt-4o*``). A team key's model must be
    allowed by its team as well."""
    if not _listed(policy.models, model):
        return False
    team = policy.team if isinstance(policy, KeyPolicy) else None
    return team is None or _listed(team.models, model)


def _listed(models: tuple[str, ...], model: str) -> bool:
    if not models or model in models:
        return True
    return any(
        not _GLOB.isdisjoint(allowed) and fnmatchcase(model, allowed)
        for allowed in models
    )


async def check_request(
    gateway: GatewayRuntime,
    caller: Caller,
    model: str,
    estimated_tokens: int,
    *,
    admit: bool = True,
) -> dict[str, str]:
    """Raise when the key may not make this call now; else the x-ratelimit-*
    headers for the response. Consumes one request of the rpm window; tokens
    are charged afterwards by ``record_usage``. ``admit`` False: a check only
    (no call follows), so no place is taken in the team's budget."""
    policy = caller.key
    if policy is None:
        return {}
    if not _listed(policy.models, model):
        raise ModelNotAllowedError(f"Model {model!r} is not allowed for this key")
    team = policy.team
    if team is not None and model and not _listed(team.models, model):
        raise ModelNotAllowedError(f"Model {model!r} is not allowed for this team")
    if policy.budget_usd is not None:
        spent = await gateway.spend.total(policy.id, fallback=0.0)
        if spent >= policy.budget_usd:
            raise GatewayKeyBudgetExceededError(
                f"Budget of this key exhausted: spent {spent:.6g} of "
                f"{policy.budget_usd:.6g} USD"
            )
    headers: dict[str, str] = {}
    limiter = gateway.infra.limiter
    await _windows(
        limiter,
        headers,
        estimated_tokens,
        policy.tpm,
        policy.rpm,
        tpm_key(policy.id),
        rpm_key(policy.id),
        "this key",
    )
    if team is not None:
        await _windows(
            limiter,
            headers,
            estimated_tokens,
            team.tpm,
            team.rpm,
            team_tpm_key(team.id),
            team_rpm_key(team.id),
            "this team",
        )
        if admit:
            await gateway.teams.admit(team)
    return headers


async def _windows(
    limiter: Limiter,
    headers: dict[str, str],
    estimated_tokens: int,
    tpm: int | None,
    rpm: int | None,
    tpm_name: str,
    rpm_name: str,
    whose: str,
) -> None:
    """The tpm window (peeked: tokens are charged after the call) and the rpm
    window (one request used); raise 429 when either is full."""
    if tpm is not None:
        # An estimate above the whole limit could never fit: ask for the limit
        # (an empty window lets it through; its real usage then fills it).
        wanted = min(max(estimated_tokens, 0), tpm)
        tokens = await _limit(limiter.peek(tpm_name, limit_per_minute=tpm, cost=wanted))
        if tokens is not None:
            _put(headers, "tokens", tokens)
            if not tokens.allowed:
                raise _limited(headers, tokens, "tokens", whose)
    if rpm is not None:
        requests = await _limit(limiter.hit(rpm_name, limit_per_minute=rpm))
        if requests is not None:
            _put(headers, "requests", requests)
            if not requests.allowed:
                raise _limited(headers, requests, "requests", whose)


async def record_usage(
    gateway: GatewayRuntime, caller: Caller, tokens: int, cost: float
) -> None:
    """After the call: charge its tokens to the tpm window and its cost to the
    key's spend (shared at once, written to the database by the flusher)."""
    policy = caller.key
    if policy is None:
        return
    limiter = gateway.infra.limiter
    if policy.tpm is not None and tokens > 0:
        await _limit(
            limiter.charge(tpm_key(policy.id), limit_per_minute=policy.tpm, cost=tokens)
        )
    team = policy.team
    if team is not None and team.tpm is not None and tokens > 0:
        await _limit(
            limiter.charge(
                team_tpm_key(team.id), limit_per_minute=team.tpm, cost=tokens
            )
        )
    if cost > 0 and math.isfinite(cost):
        spend = gateway.spend
        await spend.add(policy.id, cost, seed=spend.live(policy.id) or 0.0)
    if team is not None:  # settles the call's place in the team budget too
        await gateway.teams.charge(team.id, cost)


async def _limit(call: Awaitable[LimitResult]) -> LimitResult | None:
    """Await a limiter call; None when its backend is away (fail open)."""
    try:
        result: LimitResult = await call
    except BackendUnavailableError:
        log.warning("gateway_limiter_unavailable")
        return None
    return result


def _put(headers: dict[str, str], kind: str, result: LimitResult) -> None:
    headers[f"x-ratelimit-limit-{kind}"] = str(result.limit)
    headers[f"x-ratelimit-remaining-{kind}"] = str(result.remaining)
    headers[f"x-ratelimit-reset-{kind}"] = duration(result.reset_after_s)


def _limited(
    headers: dict[str, str], result: LimitResult, kind: str, whose: str
) -> GatewayKeyRateLimitError:
    retry_after = max(1, math.ceil(result.reset_after_s))
    return GatewayKeyRateLimitError(
        f"Rate limit reached for {whose}: {result.limit} {kind} per minute",
        headers={"Retry-After": str(retry_after), **headers},
    )


def duration(seconds: float) -> str:
    """OpenAI's reset format: "20ms", "1.5s", "6m0s"."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m" + (f"{rest:.3f}".rstrip("0").rstrip(".") or "0") + "s"

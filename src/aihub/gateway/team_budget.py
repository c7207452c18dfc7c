"""Team budgets, held before the provider is called, across processes.

A team's monthly spend (calendar month, UTC) is one running total every process
sees: in Redis (when configured) ``aihub:team:{<id>}:spend:<YYYY-MM>``, seeded
(SET NX) from the request log when a process loads a team key, moved by
INCRBYFLOAT as calls are charged; in-process otherwise.

Checking "spent < budget" before each call is not enough: every call that
starts before the first one is charged would pass. So a call is admitted in
one of two ways:

- with a reservation: the team's largest call cost seen so far in this process
  (``estimate``), reserved atomically in Redis only while
  ``spent + reserved + estimate <= budget`` (a Lua script over the spend
  counter and a sorted set of reservations, each with an expiry so a process
  that dies does not hold budget for ever);
- as this process's one unreserved call: only when the process has no other
  call of the team in flight and ``spent + reserved < budget`` (the
  reservations of every process count: a process running unreserved calls one
  after another while another process's reserved calls are in flight would
  otherwise spend past the budget by as many calls as it ran).

Otherwise the call waits (up to ``wait_s``) for a call of the team to end (in
this process, or another's reservation: looked at again every ``POLL_S``),
then tries again; after that it is refused (429, retry).
When calls cost at most the estimate, the team's spend ends at most one call
per process beyond its budget. The first call of a team in a process has no
estimate, so calls of a team run one at a time per process until one has been
charged.

A ticket is settled by the charge of its call (``limits.record_usage``) and
released in any case when its request ends (``TeamTicketsMiddleware``), so a
call that fails before it is charged frees its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from aihub.core.errors import BillingError, RateLimitError
from aihub.gateway.caller import TeamLimits
from aihub.infra.errors import redis_errors

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

log = structlog.get_logger(__name__)

TEAM_KEY = "aihub:team:{{{team_id}}}"
"""One hash tag per team: the scripts' two keys live in one Redis Cluster slot."""
SPEND_TTL_S = 40 * 24 * 3600
RESERVATION_TTL_S = 900.0
"""A reservation whose call never ended (its process died) lapses after this."""
POLL_S = 0.1
"""A waiting call looks again this often (other processes' calls end unseen)."""

# KEYS[1] spend counter, KEYS[2] reservations (zset member "<id>|<amount>",
# score = expiry). ARGV: now, member, amount, expiry, budget, seed.
RESERVE_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local spent = tonumber(redis.call('GET', KEYS[1]) or ARGV[6])
local reserved = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  reserved = reserved + tonumber(string.match(m, '|(.*)$'))
end
if spent + reserved + tonumber(ARGV[3]) <= tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
  redis.call('EXPIRE', KEYS[2], 3600)
  return 1
end
return 0
"""

# KEYS[1] spend counter, KEYS[2] reservations. ARGV: now, seed. Returns the
# spend and the sum of live reservations, as text (Lua numbers would come back
# as integers).
HELD_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local spent = redis.call('GET', KEYS[1]) or ARGV[2]
local reserved = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  reserved = reserved + tonumber(string.match(m, '|(.*)$'))
end
return {spent, tostring(reserved)}
"""

# KEYS[1] spend counter, KEYS[2] reservations. ARGV: cost, seed, ttl, member.
# Charges first, then drops the reservation: the budget never sees neither.
SETTLE_SCRIPT = """
local total = redis.call('GET', KEYS[1])
if tonumber(ARGV[1]) > 0 then
  if not total then redis.call('SET', KEYS[1], ARGV[2]) end
  total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[2], ARGV[4]) end
return total
"""


class TeamBudgetExceededError(BillingError):
    default_message = "The team's monthly budget is exhausted"


class TeamBudgetBusyError(RateLimitError):
    default_message = (
        "The team's remaining budget is held by calls in flight; retry shortly"
    )


@dataclass(slots=True)
class Ticket:
    team_id: int
    member: str = ""
    """The reservation's zset member ("" for the unreserved call)."""
    amount: float = 0.0
    done: bool = False
    owner: TeamBudgets | None = None


@dataclass(slots=True)
class _TeamState:
    in_flight: int = 0
    estimate: float | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


_TICKETS: contextvars.ContextVar[list[Ticket] | None] = contextvars.ContextVar(
    "aihub_team_tickets", default=None
)


def _check_left(spent: float, budget: float) -> None:
    if spent >= budget:
        raise TeamBudgetExceededError(
            f"The team's monthly budget is exhausted: spent {spent:.6g} "
            f"of {budget:.6g} USD"
        )


def month_tag(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now.year:04d}-{now.month:02d}"


class TeamBudgets:
    def __init__(self, *, redis: RedisClient | None, wait_s: float) -> None:
        self._redis = redis
        self._reserve = redis.register_script(RESERVE_SCRIPT) if redis else None
        self._settle = redis.register_script(SETTLE_SCRIPT) if redis else None
        self._held_script = redis.register_script(HELD_SCRIPT) if redis else None
        self._wait_s = wait_s
        self._totals: dict[tuple[int, str], float] = {}
        """Running totals (no Redis) or the last figure seen (Redis)."""
        self._reserved: dict[int, dict[str, float]] = {}
        """Reservations (no Redis only)."""
        self._teams: dict[int, _TeamState] = {}

    def _keys(self, team_id: int) -> list[str]:
        team = TEAM_KEY.format(team_id=team_id)
        return [f"{team}:spend:{month_tag()}", f"{team}:reserved"]

    def _state(self, team_id: int) -> _TeamState:
        return self._teams.setdefault(team_id, _TeamState())

    async def seed(self, team_id: int, stored: float) -> None:
        """Start this month's total at the request log's figure unless it runs."""
        key = (team_id, month_tag())
        if self._redis is None:
            self._totals.setdefault(key, stored)
            return
        self._totals[key] = max(self._totals.get(key, 0.0), stored)
        try:
            await self._redis.set(
                self._keys(team_id)[0], repr(stored), nx=True, ex=SPEND_TTL_S
            )
        except redis_errors() as exc:
            log.warning("team_spend_seed_failed", team_id=team_id, error=str(exc))

    async def total(self, team_id: int) -> float:
        """This month's spend of the team, across processes."""
        key = (team_id, month_tag())
        if self._redis is None:
            return self._totals.get(key, 0.0)
        try:
            value = await self._redis.get(self._keys(team_id)[0])
        except redis_errors() as exc:
            log.warning("team_spend_read_failed", team_id=team_id, error=str(exc))
            value = None
        if value is None:
            return self._totals.get(key, 0.0)
        self._totals[key] = float(value)
        return self._totals[key]

    async def admit(self, team: TeamLimits) -> Ticket | None:
        """A ticket for one call of the team, or raise (402 spent, 429 busy).
        None when the team has no budget (nothing to hold)."""
        budget = team.budget_usd
        if budget is None:
            return None
        state = self._state(team.id)
        deadline = time.monotonic() + self._wait_s
        while True:
            spent = await self.total(team.id)
            _check_left(spent, budget)
            ticket = await self._try_reserve(team.id, state, spent, budget)
            if ticket is not None:
                state.in_flight += 1
            elif state.in_flight == 0:
                # This process's one unreserved call: claim the place before
                # reading the total again, so no call of ours settles unseen.
                state.in_flight += 1
                try:
                    spent, reserved = await self._held(team.id)
                    _check_left(spent, budget)
                except BaseException:
                    state.in_flight -= 1
                    state.changed.set()
                    raise
                if spent + reserved < budget:
                    ticket = Ticket(team.id)
                else:  # the rest is held by calls in flight elsewhere
                    state.in_flight -= 1
            if ticket is not None:
                ticket.owner = self
                tickets = _TICKETS.get()
                if tickets is not None:
                    tickets.append(ticket)
                return ticket
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TeamBudgetBusyError(headers={"Retry-After": "1"})
            state.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.changed.wait(), min(remaining, POLL_S))

    async def _held(self, team_id: int) -> tuple[float, float]:
        """The team's spend this month and the sum of its live reservations
        (every process's), read together."""
        key = (team_id, month_tag())
        if self._redis is None or self._held_script is None:
            held = self._reserved.get(team_id, {})
            return self._totals.get(key, 0.0), sum(held.values())
        try:
            spent, reserved = await self._held_script(
                keys=self._keys(team_id),
                args=[repr(time.time()), repr(self._totals.get(key, 0.0))],
            )
        except redis_errors() as exc:
            log.warning("team_spend_read_failed", team_id=team_id, error=str(exc))
            return self._totals.get(key, 0.0), 0.0
        self._totals[key] = float(spent)
        return self._totals[key], float(reserved)

    async def _try_reserve(
        self, team_id: int, state: _TeamState, spent: float, budget: float
    ) -> Ticket | None:
        estimate = state.estimate
        if estimate is None:
            return None
        member = f"{uuid.uuid4().hex}|{estimate!r}"
        if self._redis is None or self._reserve is None:
            held = self._reserved.setdefault(team_id, {})
            if spent + sum(held.values()) + estimate > budget:
                return None
            held[member] = estimate
            return Ticket(team_id, member, estimate)
        now = time.time()
        try:
            ok = await self._reserve(
                keys=self._keys(team_id),
                args=[
                    repr(now),
                    member,
                    repr(estimate),
                    repr(now + RESERVATION_TTL_S),
                    repr(budget),
                    repr(spent),
                ],
            )
        except redis_errors() as exc:
            log.warning("team_reserve_failed", team_id=team_id, error=str(exc))
            return None
        return Ticket(team_id, member, estimate) if ok else None

    async def charge(self, team_id: int, cost: float) -> None:
        """The call of this context's oldest open ticket of the team cost
        ``cost``: add it to the team's total and end the ticket (a charge with
        no open ticket, e.g. after its request ended, is added all the same)."""
        tickets = _TICKETS.get() or []
        ticket = next((t for t in tickets if t.team_id == team_id and not t.done), None)
        if cost > 0 and math.isfinite(cost):
            state = self._state(team_id)
            state.estimate = max(state.estimate or 0.0, cost)
        else:
            cost = 0.0
        await self._settle_one(team_id, cost, ticket)

    async def release(self, ticket: Ticket) -> None:
        """End a ticket whose call was never charged."""
        if not ticket.done:
            await self._settle_one(ticket.team_id, 0.0, ticket)

    async def _settle_one(
        self, team_id: int, cost: float, ticket: Ticket | None
    ) -> None:
        member = ""
        if ticket is not None:
            ticket.done = True
            member = ticket.member
        key = (team_id, month_tag())
        try:
            if self._redis is None or self._settle is None:
                self._totals[key] = self._totals.get(key, 0.0) + cost
                if member:
                    self._reserved.get(team_id, {}).pop(member, None)
                return
            if cost <= 0 and not member:
                return
            try:
                total = await self._settle(
                    keys=self._keys(team_id),
                    args=[
                        repr(cost),
                        repr(self._totals.get(key, 0.0)),
                        SPEND_TTL_S,
                        member,
                    ],
                )
            except redis_errors() as exc:
                log.warning("team_charge_failed", team_id=team_id, error=str(exc))
                self._totals[key] = self._totals.get(key, 0.0) + cost
                return
            if total is not None:
                self._totals[key] = float(total)
        finally:
            if ticket is not None:
                state = self._state(team_id)
                state.in_flight = max(0, state.in_flight - 1)
                state.changed.set()


class TeamTicketsMiddleware:
    """Gives each request a list for its team tickets and releases, when the
    request ends (its streamed body and background tasks included), every
    ticket its calls did not settle."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        tickets: list[Ticket] = []
        token = _TICKETS.set(tickets)
        try:
            await self.app(scope, receive, send)
        finally:
            _TICKETS.reset(token)
            for ticket in tickets:
                if not ticket.done and ticket.owner is not None:
                    await ticket.owner.release(ticket)

"""A provider key's health, shared by every process through the infra state store.

Two entries per key, both absent while the key is healthy:

- ``pkey:cool:<id>``: the cooldown deadline (epoch seconds), written with
  ``set_max_deadline`` so a re-cooled key keeps the LATER deadline; it expires on
  its own at that deadline.
- ``pkey:bad:<id>``: ``{"reason": "auth" | "billing", "error": "..."}`` for a key
  the provider rejected (401/403) or refused for credit/quota (402); it stays
  until the probe (or an edit of the key) clears it.

The provider_keys row mirrors this for people and for restarts (status,
cooldown_until, last_error ``"<reason>: <message>"``). Changes are announced on
``HEALTH_CHANNEL``; edits of keys (CRUD) on ``CHANGED_CHANNEL``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from aihub.infra.state import KeyValueStore

COOL_PREFIX = "pkey:cool:"
BAD_PREFIX = "pkey:bad:"
PROBED_PREFIX = "pkey:probed:"
CHANGED_CHANNEL = "provider_keys.changed"
HEALTH_CHANNEL = "provider_keys.health"

REASON_AUTH = "auth"
REASON_BILLING = "billing"
REASON_RATE_LIMITED = "rate_limited"
MAX_ERROR_CHARS = 500

Status = Literal["ok", "cooldown", "invalid"]


@dataclass(slots=True)
class Health:
    cool_until: float | None = None
    """Epoch seconds until which the key rests (429), None when it does not."""
    invalid: str | None = None
    """REASON_AUTH or REASON_BILLING while the key is out of rotation."""
    error: str | None = None

    def is_cooling(self, now: float) -> bool:
        return self.cool_until is not None and self.cool_until > now

    def is_usable(self, now: float) -> bool:
        return self.invalid is None and not self.is_cooling(now)

    def status(self, now: float) -> Status:
        if self.invalid is not None:
            return "invalid"
        return "cooldown" if self.is_cooling(now) else "ok"

    def message(self, now: float) -> dict[str, Any]:
        """The HEALTH_CHANNEL payload (without the key id)."""
        return {
            "status": self.status(now),
            "until": self.cool_until if self.is_cooling(now) else None,
            "reason": self.invalid,
            "error": self.error,
        }


def describe(reason: str, message: str | None) -> str:
    """The last_error text: ``"<reason>: <message>"``, bounded."""
    text = f"{reason}: {message}" if message else reason
    return text[:MAX_ERROR_CHARS]


def reason_of(last_error: str | None) -> str:
    """The reason a persisted invalid key was put aside (auth unless billing)."""
    if last_error and last_error.split(":", 1)[0].strip() == REASON_BILLING:
        return REASON_BILLING
    return REASON_AUTH


def from_row(
    status: str, cooldown_until: datetime | None, last_error: str | None
) -> Health:
    """The health a provider_keys row records (what survives a restart)."""
    if status == "invalid":
        return Health(invalid=reason_of(last_error), error=last_error)
    if status == "cooldown" and cooldown_until is not None:
        return Health(cool_until=cooldown_until.timestamp(), error=last_error)
    return Health()


def from_message(message: dict[str, Any]) -> Health:
    until = message.get("until")
    reason = message.get("reason")
    error = message.get("error")
    return Health(
        cool_until=float(until) if isinstance(until, int | float) else None,
        invalid=reason if message.get("status") == "invalid" and reason else None,
        error=error if isinstance(error, str) else None,
    )


def merge(shared: Health, row: Health) -> Health:
    """The shared health, completed by the row's where the shared store has
    nothing (an in-process store after a restart, a flushed Redis)."""
    until = max(
        (t for t in (shared.cool_until, row.cool_until) if t is not None),
        default=None,
    )
    if shared.invalid is not None:
        return Health(cool_until=until, invalid=shared.invalid, error=shared.error)
    return Health(
        cool_until=until, invalid=row.invalid, error=shared.error or row.error
    )


def now() -> float:
    """Wall-clock epoch seconds: deadlines are shared between processes."""
    return time.time()


def to_datetime(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)


async def read(state: KeyValueStore, key_id: int) -> Health:
    """The shared health of one key (two reads; not for the hot path)."""
    until = await state.get_json(f"{COOL_PREFIX}{key_id}")
    bad = await state.get_json(f"{BAD_PREFIX}{key_id}")
    health = Health(cool_until=float(until) if isinstance(until, int | float) else None)
    if isinstance(bad, dict) and isinstance(bad.get("reason"), str):
        health.invalid = bad["reason"]
        health.error = bad.get("error") if isinstance(bad.get("error"), str) else None
    return health


async def cool(state: KeyValueStore, key_id: int, deadline: float) -> float:
    """Rest the key until ``deadline``; returns the deadline in force (the later)."""
    return await state.set_max_deadline(f"{COOL_PREFIX}{key_id}", deadline)


async def mark_invalid(
    state: KeyValueStore, key_id: int, reason: str, error: str | None
) -> None:
    await state.set_json(f"{BAD_PREFIX}{key_id}", {"reason": reason, "error": error})


async def clear(state: KeyValueStore, key_id: int) -> None:
    await state.delete(f"{COOL_PREFIX}{key_id}")
    await state.delete(f"{BAD_PREFIX}{key_id}")

"""What a generation run is: its spec, its result, its frames, and the names
under which its liveness is kept in the shared state store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aihub.calls.client import Target
from aihub.core.errors import AihubError
from aihub.providers.base import Usage

HEARTBEAT_TTL_S = 30.0
RETAIN_S = 60.0
"""How long a finished run's frames stay replayable in its process."""

Frame = tuple[str, dict[str, Any]]

# Why a run did not complete -> the status its message keeps.
REASON_STATUS = {
    "stopped_by_user": "stopped",
    "client_disconnected": "interrupted",
    "timeout": "interrupted",
    "shutdown": "interrupted",
    "server_restart": "interrupted",
    "upstream_error": "error",
    "internal_error": "error",
}


def run_key(message_id: int) -> str:
    return f"chat:run:{message_id}"


def thread_key(thread_id: int) -> str:
    return f"chat:thread:{thread_id}"


# Pauses between tries of an answer's final write (then it is logged as lost
# to the database; the sweep marks the answer interrupted with its stored text).
STORE_RETRY_PAUSES_S = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(slots=True)
class RunSpec:
    user_id: int
    thread_id: int
    user_message_id: int
    assistant_message_id: int
    target: Target
    prompt_tokens: int
    with_context: bool
    timeout_s: float
    kind: str = "chat"
    question: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    """Kept in the answer's meta_data (what the context held)."""
    extra_start: dict[str, Any] = field(default_factory=dict)
    stoppable: bool = True
    """A hub generation: stop requests for its thread find it."""


@dataclass(slots=True)
class RunResult:
    status: str
    reason: str | None
    error: AihubError | None
    usage: Usage | None
    cost: float
    text: str


def usage_block(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage(reported=False)
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens
        or usage.prompt_tokens + usage.completion_tokens,
    }

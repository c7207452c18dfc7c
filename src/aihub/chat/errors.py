"""Errors of the hub's chat; a provider's failure as an aihub error comes from
the call layer (``aihub.calls.errors``)."""

from __future__ import annotations

from aihub.calls.errors import (
    UpstreamRejectedError,
    UpstreamTimedOutError,
    as_hub_error,
)
from aihub.runs.errors import GenerationTimeoutError

__all__ = [
    "GenerationTimeoutError",
    "UpstreamRejectedError",
    "UpstreamTimedOutError",
    "as_hub_error",
]

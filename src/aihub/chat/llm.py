"""The chat model client now lives in the call layer (``aihub.calls.client``);
these names stay importable from here for the hub's own modules."""

from __future__ import annotations

from aihub.calls.client import (
    KEY_POOL_ERRORS,
    LlmCall,
    LlmClient,
    Target,
    parse_target,
)

__all__ = ["KEY_POOL_ERRORS", "LlmCall", "LlmClient", "Target", "parse_target"]

"""Errors of a generation run."""

from __future__ import annotations

from aihub.core.errors import AihubError


class GenerationTimeoutError(AihubError):
    status_code = 504
    error_type = "timeout"
    default_message = "Generation took longer than its timeout"

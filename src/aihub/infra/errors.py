"""Errors the infra raises; callers decide whether to fail open or closed.

ServiceUnavailableError (core, 503 unavailable)
 └── BackendUnavailableError   the shared backend (Redis) did not answer
"""

from __future__ import annotations

from aihub.core.errors import ServiceUnavailableError


class BackendUnavailableError(ServiceUnavailableError):
    default_message = "A shared backend (Redis) is unavailable"

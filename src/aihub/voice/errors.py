"""Voice errors (all AihubError, rendered in the seed's shape under /api, in
OpenAI's under /v1, and as an ``error`` event plus a close code on the socket).

VoiceSessionNotFoundError   404 not_found     unknown or another user's session
VoiceSessionExpiredError    410 session_expired  past its 24 h, or ended
VoiceTokenInvalidError      401 unauthorized  bad or expired WebSocket token
VoiceTurnNotFoundError      404 not_found
VoiceEngineUnavailableError 422 validation_error  engine not installed / language
VoiceRateLimitError         429 rate_limit
"""

from __future__ import annotations

from aihub.core.errors import (
    AihubError,
    NotFoundError,
    RateLimitError,
    UnauthorizedError,
    ValidationFailedError,
)


class VoiceSessionNotFoundError(NotFoundError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"Voice session {session_id} not found")


class VoiceSessionExpiredError(AihubError):
    status_code = 410
    error_type = "session_expired"
    default_message = "The voice session has expired or ended"


class VoiceTokenInvalidError(UnauthorizedError):
    default_message = "Invalid or expired voice session token"


class VoiceTurnNotFoundError(NotFoundError):
    def __init__(self, turn_id: str) -> None:
        super().__init__(f"Turn {turn_id} not found in this session")


class VoiceEngineUnavailableError(ValidationFailedError):
    pass


class VoiceRateLimitError(RateLimitError):
    pass


# WebSocket close codes (4000-4999 are the application's).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TIMEOUT = 4408
CLOSE_REPLACED = 4409
CLOSE_EXPIRED = 4410
CLOSE_RATE_LIMIT = 4429


def close_code_of(exc: AihubError) -> int:
    return {
        401: CLOSE_UNAUTHORIZED,
        404: CLOSE_NOT_FOUND,
        410: CLOSE_EXPIRED,
        429: CLOSE_RATE_LIMIT,
    }.get(exc.status_code, CLOSE_POLICY)

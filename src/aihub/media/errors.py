"""Errors of the media domain.

AihubError
 ├── MediaJobNotFoundError      404 not_found
 ├── MediaJobFinishedError      409 conflict (cancel of a finished job)
 ├── MediaModelForbiddenError   403 forbidden (gateway key without the model)
 └── MediaJobTimeoutError       504 api_error (a synchronous wait ran out)
"""

from __future__ import annotations

from aihub.core.errors import AihubError, ConflictError, ForbiddenError, NotFoundError


class MediaJobNotFoundError(NotFoundError):
    default_message = "Media job not found"


class MediaJobFinishedError(ConflictError):
    default_message = "The job has already finished"


class MediaModelForbiddenError(ForbiddenError):
    default_message = "This API key may not use that model"


class MediaJobTimeoutError(AihubError):
    status_code = 504
    error_type = "api_error"
    default_message = "The media job did not finish in time"

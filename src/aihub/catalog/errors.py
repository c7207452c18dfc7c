"""Catalog errors.

ModelNotFoundError(NotFoundError)              404 not_found
MediaRequestInvalidError(ValidationFailedError) 422 validation_error
"""

from __future__ import annotations

from aihub.core.errors import NotFoundError, ValidationFailedError


class ModelNotFoundError(NotFoundError):
    default_message = "Model not found"


class MediaRequestInvalidError(ValidationFailedError):
    default_message = "The model does not accept these media parameters"

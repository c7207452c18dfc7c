"""Errors of the files domain (all render in the seed's error shape)."""

from __future__ import annotations

from aihub.core.errors import (
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationFailedError,
)


class StoredFileNotFoundError(NotFoundError):
    default_message = "File not found"


class UnsupportedFileError(ValidationFailedError):
    default_message = "Unsupported file: send a jpg, jpeg, png, gif or webp image"


class FileTooLargeError(PayloadTooLargeError):
    default_message = "File too large"


class ImageUrlRefusedError(ForbiddenError):
    """An image link in a message names an address the outbound policy refuses."""

    default_message = "The image URL is refused by the outbound policy"

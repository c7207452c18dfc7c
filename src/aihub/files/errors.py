"""Errors of the files domain (all render in the seed's error shape)."""

from __future__ import annotations

from aihub.core.errors import NotFoundError, PayloadTooLargeError, ValidationFailedError


class StoredFileNotFoundError(NotFoundError):
    default_message = "File not found"


class UnsupportedFileError(ValidationFailedError):
    default_message = "Unsupported file: send a jpg, jpeg, png, gif or webp image"


class FileTooLargeError(PayloadTooLargeError):
    default_message = "File too large"

"""Errors of the statistics endpoints."""

from __future__ import annotations

from aihub.core.errors import ValidationFailedError


class InvalidDateRangeError(ValidationFailedError):
    default_message = "start_date must not be after end_date"

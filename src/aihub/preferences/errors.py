from __future__ import annotations

from aihub.core.errors import NotFoundError


class PreferenceNotFoundError(NotFoundError):
    default_message = "Model preference not found"

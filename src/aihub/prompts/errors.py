from __future__ import annotations

from aihub.core.errors import NotFoundError, ValidationFailedError


class PromptNotFoundError(NotFoundError):
    default_message = "Prompt not found"


class PromptVariablesMissingError(ValidationFailedError):
    default_message = "Prompt variables left unfilled"


class PromptRenderTooLongError(ValidationFailedError):
    default_message = "The rendered prompt would be too long"

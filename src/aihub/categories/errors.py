from __future__ import annotations

from aihub.core.errors import ConflictError, NotFoundError


class CategoryNotFoundError(NotFoundError):
    default_message = "Category not found"


class CategoryNameTakenError(ConflictError):
    default_message = "You already have a category with this name"

"""Prompt templates.

`{name}` is a variable: one or more Unicode letters, digits or underscores, so the
seed's `{тема}` and `{название_продукта}` work as well as `{topic}` or `{item_2}`.
`{{` and `}}` are literal braces. Anything else in braces (`{}`, `{a b}`,
`{x-y}`) and a lone `{` or `}` is plain text. A value is inserted as is: braces
in it are never read as variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"\{\{|\}\}|\{(\w+)\}")


class RenderedTooLongError(ValueError):
    """The filled template would exceed the length the caller allowed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"rendered text would exceed {limit} characters")


def variables(template: str) -> list[str]:
    """The distinct variable names in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(template):
        if match.group(1):
            seen.setdefault(match.group(1))
    return list(seen)


def render(
    template: str, values: Mapping[str, str], *, max_length: int | None = None
) -> tuple[str, list[str]]:
    """The rendered text and the variables left unfilled, in order of first
    appearance (empty when complete; an unfilled variable stays as written).

    Raises RenderedTooLongError as soon as the text would pass `max_length`, so
    a short template repeating a long value cannot build a huge string."""
    pieces: list[str] = []
    missing: dict[str, None] = {}
    size = 0
    position = 0
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        name = match.group(1)
        if name is None:
            piece = token[0]  # "{{" -> "{", "}}" -> "}"
        elif name in values:
            piece = values[name]
        else:
            missing.setdefault(name)
            piece = token
        literal = template[position : match.start()]
        size += len(literal) + len(piece)
        if max_length is not None and size > max_length:
            raise RenderedTooLongError(max_length)
        pieces += (literal, piece)
        position = match.end()
    tail = template[position:]
    if max_length is not None and size + len(tail) > max_length:
        raise RenderedTooLongError(max_length)
    pieces.append(tail)
    return "".join(pieces), list(missing)

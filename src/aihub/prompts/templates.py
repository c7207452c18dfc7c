"""Prompt templates: `{name}` is a variable (Unicode letters, digits, underscore,
as in the seed's `{тема}`); `{{` and `}}` are literal braces."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def variables(template: str) -> list[str]:
    """The distinct variable names in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(template):
        if match.group(1):
            seen.setdefault(match.group(1))
    return list(seen)


def render(template: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """The rendered text and the variables left unfilled (empty when complete)."""
    missing: dict[str, None] = {}

    def substitute(match: re.Match[str]) -> str:
        piece = match.group(0)
        if piece == "{{":
            return "{"
        if piece == "}}":
            return "}"
        name = match.group(1)
        if name in values:
            return values[name]
        missing.setdefault(name)
        return piece

    return _TOKEN.sub(substitute, template), list(missing)

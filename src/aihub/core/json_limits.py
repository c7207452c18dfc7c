"""Bounds on free-form JSON taken from requests (issue 12, defect 8).

Python parses integers of any size and nests as deep as its parser allows, but
orjson (our encoder: database JSON, forwarded bodies, responses) stops at 64-bit
integers and 254 levels, and PostgreSQL's and SQLite's JSON have their own
limits. Free-form values (a key's ``settings``, ``metadata``, a /v1 body) are
therefore checked when they come in: at most ``MAX_JSON_DEPTH`` levels and
integers within the signed 64-bit range, else a 422 ``validation_error``.
"""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def json_problem(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """What is wrong with ``value`` (parsed JSON), or None. Iterative, so a
    deep value cannot exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= max_depth:
                return f"nests deeper than {max_depth} levels"
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
        elif (
            isinstance(node, int)
            and not isinstance(node, bool)
            and not INT64_MIN <= node <= INT64_MAX
        ):
            return "contains an integer outside the 64-bit range"
    return None


def check_json(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` unchanged, or ValueError (a Pydantic validator's 422)."""
    problem = json_problem(value, max_depth=max_depth)
    if problem is not None:
        raise ValueError(problem)
    return value

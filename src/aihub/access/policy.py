"""Roles, and the one rule every route is held to before its own checks.

Global roles (``users.role``):

- ``admin``: everything, in every team;
- ``user``: their own data; in a team, what their team role allows;
- ``viewer``: reads only: every call that is not GET, HEAD or OPTIONS is a 403,
  except signing in and out (``/api/auth/...``); gateway keys of a viewer are
  refused (a viewer makes no model call).

Team roles (``team_members.role``), checked by the teams domain on top:
``owner`` manages the team's members, limits and keys; ``member`` reads the
team and uses its keys. Routes that need the administrator role declare it
(``AdminUser``); the route table test (tests/access) lists every route with the
roles that may and may not call it.
"""

from __future__ import annotations

from aihub.users.models import ROLE_ADMIN, ROLE_USER, ROLE_VIEWER

ROLES = (ROLE_ADMIN, ROLE_USER, ROLE_VIEWER)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VIEWER_WRITABLE_PREFIXES = ("/api/auth/",)
"""A viewer still signs in, refreshes and signs out."""


def may_call(role: str, method: str, path: str) -> bool:
    """May a signed-in user of ``role`` make a ``method`` call to ``path``
    (before the route's own checks: admin-only routes, ownership, teams)."""
    if role != ROLE_VIEWER:
        return True
    return method.upper() in READ_METHODS or path.startswith(VIEWER_WRITABLE_PREFIXES)


def may_use_gateway_keys(role: str) -> bool:
    """A viewer's keys are refused: a model call is not a read."""
    return role != ROLE_VIEWER

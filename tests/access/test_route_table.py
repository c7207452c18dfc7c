"""Every route of the app, with the roles that may and may not call it, checked
exhaustively: admin, team owner, team member, viewer (a member of the same
team, read-only) and anonymous.

A route added to the app without an entry in ROUTES fails
``test_every_route_has_an_entry``. "May call" means the answer is not 401/403
(404 or 422 for the made-up ids and bodies is fine: the role got through); a
refusal is 401 for anonymous and 403 for a signed-in role.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount

from tests.factories import admin_headers, make_user
from tests.teams.support import make_team

ROLES = ("admin", "owner", "member", "viewer", "anonymous")
READS = {"GET", "HEAD", "OPTIONS"}

PUBLIC = "public"  # anyone, signed in or not
USER = "user"  # any signed-in role (a viewer: reads only)
ADMIN = "admin"  # administrators
TEAM_READ = "team:read"  # administrators and the team's people
TEAM_MANAGE = "team:manage"  # administrators and the team's owners
TEAM_ADMIN = "team:admin"  # administrators (a team's owner is refused)
SOCKET = "socket"  # authenticated by a token from a route in this table
REFRESH = "refresh"  # authenticated by a refresh token (tests/auth/test_sessions.py)

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("HEAD", "/openapi.json"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/docs/assets"): PUBLIC,
    ("GET", "/assets"): PUBLIC,
    ("POST", "/api/auth/token"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/refresh"): REFRESH,
    ("POST", "/api/auth/logout"): USER,
    ("GET", "/api/auth/sessions"): USER,
    ("DELETE", "/api/auth/sessions/{session_id}"): USER,
    ("GET", "/api/auth/providers"): PUBLIC,
    ("GET", "/api/auth/oauth/{name}/login"): PUBLIC,
    ("GET", "/api/auth/oauth/{name}/callback"): PUBLIC,
    ("GET", "/api/admin/audit"): ADMIN,
    ("GET", "/api/admin/audit/"): ADMIN,
    ("GET", "/api/api-keys/presets"): USER,
    ("POST", "/api/users/"): PUBLIC,
    ("GET", "/api/users/me"): USER,
    ("PUT", "/api/users/me"): USER,
    ("DELETE", "/api/users/me"): USER,
    ("GET", "/api/admin/users"): ADMIN,
    ("GET", "/api/admin/users/{user_id}"): ADMIN,
    ("PATCH", "/api/admin/users/{user_id}"): ADMIN,
    ("GET", "/api/categories/"): USER,
    ("POST", "/api/categories/"): USER,
    ("GET", "/api/categories/{category_id}"): USER,
    ("PUT", "/api/categories/{category_id}"): USER,
    ("DELETE", "/api/categories/{category_id}"): USER,
    ("POST", "/api/threads/token-count"): USER,
    ("POST", "/api/threads/stream"): USER,
    ("POST", "/api/threads/{thread_id}/send"): USER,
    ("POST", "/api/threads/{thread_id}/stream"): USER,
    ("GET", "/api/threads/{thread_id}/stream"): USER,
    ("POST", "/api/threads/{thread_id}/stream/stop"): USER,
    ("POST", "/api/threads/{thread_id}/messages/{message_id}/regenerate"): USER,
    ("POST", "/api/threads/{thread_id}/messages/{message_id}/edit"): USER,
    ("POST", "/api/threads/completion"): USER,
    ("POST", "/api/ask"): USER,
    ("GET", "/api/requests/recent"): USER,
    ("GET", "/api/admin/requests"): ADMIN,
    ("GET", "/api/admin/requests/{request_id}"): ADMIN,
    ("GET", "/api/threads/"): USER,
    ("POST", "/api/threads/"): USER,
    ("POST", "/api/threads/bulk-delete"): USER,
    ("POST", "/api/threads/bulk-archive"): USER,
    ("GET", "/api/threads/{thread_id}"): USER,
    ("PUT", "/api/threads/{thread_id}"): USER,
    ("DELETE", "/api/threads/{thread_id}"): USER,
    ("POST", "/api/threads/{thread_id}/messages"): USER,
    ("GET", "/api/threads/{thread_id}/messages/{message_id}/branches"): USER,
    ("POST", "/api/threads/{thread_id}/messages/{message_id}/activate"): USER,
    ("GET", "/api/threads/{thread_id}/tree"): USER,
    ("POST", "/api/threads/{thread_id}/fork"): USER,
    ("GET", "/api/threads/{thread_id}/export"): USER,
    ("GET", "/api/prompts/"): USER,
    ("POST", "/api/prompts/"): USER,
    ("GET", "/api/prompts/{prompt_id}"): USER,
    ("PUT", "/api/prompts/{prompt_id}"): USER,
    ("DELETE", "/api/prompts/{prompt_id}"): USER,
    ("POST", "/api/prompts/{prompt_id}/render"): USER,
    ("GET", "/api/models/preferences"): USER,
    ("GET", "/api/models/preferences/default"): USER,
    ("POST", "/api/models/preferences"): USER,
    ("GET", "/api/models/preferences/{preferences_id}"): USER,
    ("PUT", "/api/models/preferences/{preferences_id}"): USER,
    ("DELETE", "/api/models/preferences/{preferences_id}"): USER,
    ("POST", "/api/chat/"): USER,
    ("POST", "/api/chat"): USER,
    ("POST", "/api/chat/completions"): USER,
    ("GET", "/api/models"): USER,
    ("GET", "/api/status"): USER,
    ("POST", "/api/chats"): USER,
    ("GET", "/api/chats"): USER,
    ("POST", "/api/chats/cleanup"): USER,
    ("GET", "/api/chats/{chatId}"): USER,
    ("DELETE", "/api/chats/{chatId}"): USER,
    ("PUT", "/api/chats/{chatId}/rename"): USER,
    ("GET", "/api/models/available"): USER,
    ("GET", "/api/api-keys/"): USER,
    ("POST", "/api/api-keys/"): USER,
    ("GET", "/api/api-keys/{key_id}"): USER,
    ("PUT", "/api/api-keys/{key_id}"): USER,
    ("DELETE", "/api/api-keys/{key_id}"): USER,
    ("GET", "/api/admin/api-keys/"): ADMIN,
    ("POST", "/api/admin/api-keys/"): ADMIN,
    ("GET", "/api/admin/api-keys/{key_id}"): ADMIN,
    ("PUT", "/api/admin/api-keys/{key_id}"): ADMIN,
    ("DELETE", "/api/admin/api-keys/{key_id}"): ADMIN,
    ("GET", "/api/statistics/usage"): USER,
    ("GET", "/api/statistics/summary"): USER,
    ("GET", "/api/gateway-keys/"): USER,
    ("POST", "/api/gateway-keys/"): USER,
    ("GET", "/api/gateway-keys/{key_id}"): USER,
    ("PATCH", "/api/gateway-keys/{key_id}"): USER,
    ("DELETE", "/api/gateway-keys/{key_id}"): USER,
    ("GET", "/api/teams/"): USER,
    ("POST", "/api/teams/"): TEAM_ADMIN,
    ("GET", "/api/teams/{team_id}"): TEAM_READ,
    ("PUT", "/api/teams/{team_id}"): TEAM_MANAGE,
    ("DELETE", "/api/teams/{team_id}"): TEAM_ADMIN,
    ("GET", "/api/teams/{team_id}/members"): TEAM_READ,
    ("POST", "/api/teams/{team_id}/members"): TEAM_MANAGE,
    ("PUT", "/api/teams/{team_id}/members/{user_id}"): TEAM_MANAGE,
    ("DELETE", "/api/teams/{team_id}/members/{user_id}"): TEAM_MANAGE,
    ("POST", "/api/teams/{team_id}/invitations"): TEAM_MANAGE,
    ("POST", "/api/invitations/{token}/accept"): USER,
    ("POST", "/v1/chat/completions"): USER,
    ("POST", "/v1/embeddings"): USER,
    ("GET", "/v1/models"): USER,
    ("POST", "/v1/messages"): USER,
    ("POST", "/v1/responses"): USER,
    ("GET", "/v1/responses/{response_id}"): USER,
    ("DELETE", "/v1/responses/{response_id}"): USER,
    ("POST", "/v1/responses/{response_id}/cancel"): USER,
    ("GET", "/v1/responses/{response_id}/input_items"): USER,
    ("POST", "/v1/messages/count_tokens"): USER,
    ("POST", "/v1/images/generations"): USER,
    ("POST", "/v1/audio/transcriptions"): USER,
    ("POST", "/v1/audio/speech"): USER,
    ("POST", "/api/files/upload"): USER,
    ("GET", "/api/files/"): USER,
    ("GET", "/api/files/{token}"): USER,
    ("POST", "/api/media/jobs/"): USER,
    ("POST", "/api/media/jobs"): USER,
    ("GET", "/api/media/jobs/"): USER,
    ("GET", "/api/media/jobs"): USER,
    ("GET", "/api/media/jobs/{job_id}"): USER,
    ("DELETE", "/api/media/jobs/{job_id}"): USER,
    ("GET", "/api/media/jobs/{job_id}/events"): USER,
    ("POST", "/api/v1/session"): USER,
    ("GET", "/api/v1/session/{session_id}"): USER,
    ("POST", "/api/v1/session/{session_id}/token"): USER,
    ("DELETE", "/api/v1/session/{session_id}"): USER,
    ("GET", "/api/v1/status"): USER,
    ("POST", "/api/v1/feedback"): USER,
    ("GET", "/api/v1/feedback"): ADMIN,
    ("WS", "/ws/audio"): SOCKET,
}

DESTRUCTIVE = {
    ("DELETE", "/api/users/me"),
    ("DELETE", "/api/teams/{team_id}"),
    ("POST", "/api/auth/logout"),
}
"""Run with callers made for them alone (they end the caller or the team)."""

_names = itertools.count(1)


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers too."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIWebSocketRoute):
            found.add(("WS", context.path or ""))
        elif isinstance(route, Mount):
            found.add(("GET", route.path))
        else:
            for method in context.methods or ():
                found.add((method, context.path or ""))
    return found


def may(kind: str, role: str, method: str, path: str) -> bool:
    viewer_writes = method in READS or path.startswith("/api/auth/")
    allowed = {
        PUBLIC: set(ROLES),
        USER: {"admin", "owner", "member", "viewer"},
        TEAM_READ: {"admin", "owner", "member", "viewer"},
        TEAM_MANAGE: {"admin", "owner"},
        TEAM_ADMIN: {"admin"},
        ADMIN: {"admin"},
    }[kind]
    if role == "viewer" and not viewer_writes:
        return False
    return role in allowed


@dataclass
class Callers:
    headers: dict[str, dict[str, str]]
    team_id: int
    target_id: int
    """A plain member of the team, the target of member routes."""


async def make_callers(client: httpx.AsyncClient) -> Callers:
    admin = await admin_headers(client)
    owner, member, viewer, target = [await make_user(client) for _ in range(4)]
    team = await make_team(client, owner=owner, members=(member, viewer, target))
    made = await client.patch(
        f"/api/admin/users/{viewer.id}", json={"role": "viewer"}, headers=admin
    )
    assert made.status_code == 200, made.text
    return Callers(
        headers={
            "admin": admin,
            "owner": owner.headers,
            "member": member.headers,
            "viewer": viewer.headers,
            "anonymous": {},
        },
        team_id=team["id"],
        target_id=target.id,
    )


def _url(path: str, callers: Callers) -> str:
    path = path.replace("{team_id}", str(callers.team_id))
    if path.startswith("/api/teams/"):
        path = path.replace("{user_id}", str(callers.target_id))
    return re.sub(r"\{[^}]+\}", "2000000000", path)


def _body(method: str, path: str, callers: Callers) -> Any:
    """A valid body where the team's rules (checked after validation) decide."""
    if path == "/api/teams/" and method == "POST":
        return {"name": f"table team {next(_names)}"}
    if path == "/api/teams/{team_id}/members" and method == "POST":
        return {"user_id": callers.target_id, "role": "member"}
    if path == "/api/teams/{team_id}/members/{user_id}" and method == "PUT":
        return {"role": "member"}
    if path == "/api/teams/{team_id}/invitations":
        return {"email": "invited@example.com"}
    return {} if method not in READS else None


async def _check(
    client: httpx.AsyncClient, callers: Callers, method: str, path: str, kind: str
) -> list[str]:
    problems = []
    for role in ROLES:
        response = await client.request(
            method,
            _url(path, callers),
            json=_body(method, path, callers),
            headers=callers.headers[role],
        )
        status = response.status_code
        if may(kind, role, method, path):
            team_read = kind == TEAM_READ and method == "GET"
            if status in (401, 403) or (team_read and status != 200):
                problems.append(f"{method} {path}: {role} refused ({status})")
        else:
            expected = 401 if role == "anonymous" else 403
            if status != expected:
                problems.append(
                    f"{method} {path}: {role} got {status}, expected {expected}"
                )
    return problems


def test_every_route_has_an_entry(app: FastAPI) -> None:
    served = app_routes(app)
    missing = sorted(served - ROUTES.keys())
    assert not missing, f"routes without an entry in ROUTES: {missing}"
    gone = sorted(ROUTES.keys() - served)
    assert not gone, f"entries for routes the app does not serve: {gone}"


async def test_each_role_may_call_exactly_its_routes(
    client: httpx.AsyncClient,
) -> None:
    callers = await make_callers(client)
    problems: list[str] = []
    for (method, path), kind in sorted(ROUTES.items()):
        if kind in (SOCKET, REFRESH) or (method, path) in DESTRUCTIVE:
            continue
        if path in ("/docs/assets", "/assets"):
            continue  # static files: nothing to authorise (no index page)
        problems += await _check(client, callers, method, path, kind)
    for method, path in sorted(DESTRUCTIVE):
        for role in ROLES:  # fresh callers: the call may end them
            fresh = await make_callers(client)
            one = Callers({role: fresh.headers[role]}, fresh.team_id, fresh.target_id)
            problems += await _check_one(client, one, method, path, role)
    assert not problems, "\n".join(problems)


async def _check_one(
    client: httpx.AsyncClient, callers: Callers, method: str, path: str, role: str
) -> list[str]:
    kind = ROUTES[(method, path)]
    response = await client.request(
        method, _url(path, callers), headers=callers.headers[role]
    )
    status = response.status_code
    if may(kind, role, method, path):
        return [] if status not in (401, 403) else [f"{method} {path}: {role} {status}"]
    expected = 401 if role == "anonymous" else 403
    return [] if status == expected else [f"{method} {path}: {role} got {status}"]


async def test_the_voice_socket_needs_a_session_token(
    client: httpx.AsyncClient,
) -> None:
    """The socket takes a token only POST /api/v1/session/{id}/token makes,
    which a viewer and anonymous callers are refused (the table checks it)."""
    assert ROUTES[("POST", "/api/v1/session/{session_id}/token")] == USER
    assert not may(USER, "viewer", "POST", "/api/v1/session/{session_id}/token")

"""A sweep over every /api route in the OpenAPI document with malformed input:
nothing may answer 500, and every error has the seed 003 shape."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import admin_headers, make_user

HOSTILE_IDS = ["abc", "-1", "0", "99999999999999999999", "1%27%20OR%20%271%27=%271"]
HOSTILE_VALUES: list[Any] = [
    None,
    12345,
    -1,
    True,
    [],
    {},
    "x" * 20000,
    "'; DROP TABLE users; --",
    "\u0000\ud7ff",
    1e308,
]
SKIPPED = {("delete", "/api/users/me")}  # would end the sweep's own account


def _schema_properties(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return list(schema.get("properties", {}))


def _fill_path(path: str, value: str) -> str:
    parts = []
    for part in path.split("/"):
        parts.append(value if part.startswith("{") else part)
    return "/".join(parts)


def _bodies(properties: list[str]) -> list[bytes | dict[str, Any] | list[Any]]:
    bodies: list[bytes | dict[str, Any] | list[Any]] = [b"{not json", b"", []]
    for value in HOSTILE_VALUES:
        bodies.append(dict.fromkeys(properties, value))
    return bodies


def _assert_clean(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code}"
    if response.status_code >= 400:
        body = response.json()
        assert body["error"] is True, what
        assert isinstance(body["error_message"], str), what
        assert isinstance(body["error_type"], str), what


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: bytes | dict[str, Any] | list[Any],
    headers: dict[str, str],
) -> httpx.Response:
    if isinstance(body, bytes):
        return await client.request(
            method,
            url,
            content=body,
            headers={**headers, "content-type": "application/json"},
        )
    return await client.request(method, url, json=body, headers=headers)


async def test_no_api_route_answers_500_to_malformed_input(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user(client)
    spec = (await client.get("/openapi.json")).json()
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if (method, path) in SKIPPED:
                continue
            properties = _schema_properties(spec, operation)
            ids = HOSTILE_IDS if "{" in path else ["-"]
            for raw_id in ids:
                url = _fill_path(path, raw_id)
                if method in ("get", "delete"):
                    response = await client.request(
                        method,
                        url + "?skip=-5&limit=abc&search=%00",
                        headers=user.headers,
                    )
                    _assert_clean(response, f"{method} {url}")
                    checked += 1
                    continue
                for body in _bodies(properties):
                    response = await _send(client, method, url, body, user.headers)
                    _assert_clean(response, f"{method} {url} {str(body)[:60]}")
                    checked += 1
    assert checked > 100


async def test_admin_routes_answer_cleanly_to_malformed_input(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_headers(client)
    for raw_id in HOSTILE_IDS:
        response = await client.patch(
            f"/api/admin/users/{raw_id}", json={"role": "king"}, headers=headers
        )
        _assert_clean(response, f"patch admin user {raw_id}")


async def test_requests_without_a_token_are_unauthorized_everywhere(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/") or path in (
            "/api/users/",
            "/api/auth/token",
            "/api/auth/login",
            # Public by design: the sign-in buttons and the SSO flow itself.
            "/api/auth/providers",
            "/api/auth/oauth/{name}/login",
            "/api/auth/oauth/{name}/callback",
        ):
            continue
        for method in operations:
            response = await client.request(method, _fill_path(path, "1"), json={})
            assert response.status_code == 401, f"{method} {path}"
            assert response.json()["error_type"] == "unauthorized"

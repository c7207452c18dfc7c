"""A bounded schemathesis run over the whole OpenAPI document: a few generated
requests per operation against a real server (uvicorn on 127.0.0.1), as a
normal user and, for /api/admin, as an administrator. No answer may be a 5xx.
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

EXAMPLES = 3
SKIPPED = {
    ("DELETE", "/api/users/me"),  # would end the run's own account
    ("POST", "/api/auth/logout"),  # would end the run's own sessions
    ("DELETE", "/api/auth/sessions/{session_id}"),  # likewise
}


def _token(http: httpx.Client, email: str, password: str) -> str:
    response = http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _headers(live: LiveServer) -> tuple[dict[str, str], dict[str, str]]:
    with httpx.Client(base_url=live.url, timeout=30) as http:
        body = {
            "email": "fuzz@example.com",
            "username": "fuzzer",
            "password": "correct-horse-battery",
        }
        assert http.post("/api/users/", json=body).status_code == 201
        user = _token(http, body["email"], body["password"])
        admin = _token(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    return {"Authorization": f"Bearer {user}"}, {"Authorization": f"Bearer {admin}"}


def _fuzz(
    operation: Any, url: str, headers: dict[str, str], failures: list[str]
) -> int:
    """Send EXAMPLES generated requests of one operation; the 5xx are noted."""
    calls = 0

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        case.headers = {**(case.headers or {}), **headers}
        response = case.call(base_url=url, timeout=30)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"body={case.body!r} query={case.query!r} "
                f"answer={response.text[:300]!r}"
            )

    check()
    return calls


def test_no_operation_answers_5xx(live_server: LiveServer) -> None:
    spec = httpx.get(f"{live_server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    user, admin = _headers(live_server)
    failures: list[str] = []
    calls = operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        headers = admin if operation.path.startswith("/api/admin") else user
        calls += _fuzz(operation, live_server.url, headers, failures)
        operations += 1
    assert operations > 50
    assert calls >= operations
    assert not failures, "\n".join(failures)

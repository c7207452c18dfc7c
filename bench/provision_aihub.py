#!/usr/bin/env python3
"""Provision a fresh aihub for the shared bench harness (stdlib only).

Run by ../shared/bench/compare.py as the aihub target's `setup` step, with
BENCH_BASE_URL (aihub's /v1 URL) and BENCH_MOCK_URL (the mock upstream's /v1) in
the environment: registers a user, logs in, adds an OpenAI provider key whose
base_url is the mock, creates a gateway key (no limits), and prints
"Bearer <gateway key>" as its last line (the harness's Authorization header).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request


def call(method: str, url: str, body: dict | None = None, token: str = "") -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        raise RuntimeError(f"{method} {url}: {exc.code} {detail}") from exc


def main() -> None:
    root = os.environ["BENCH_BASE_URL"].removesuffix("/").removesuffix("/v1")
    mock = os.environ["BENCH_MOCK_URL"]
    name = f"bench{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    call("POST", f"{root}/api/users/", {
        "email": f"{name}@example.com", "username": name, "password": password,
    })
    token = call("POST", f"{root}/api/auth/login", {
        "email": f"{name}@example.com", "password": password,
    })["access_token"]
    call("POST", f"{root}/api/api-keys/", {
        "provider": "openai", "api_key": "sk-bench-mock", "name": "mock",
        "base_url": mock,
    }, token)
    key = call("POST", f"{root}/api/gateway-keys/", {"name": "bench"}, token)["key"]
    print(f"Bearer {key}")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # the harness shows stderr when setup fails
        print(f"provisioning failed: {exc}", file=sys.stderr)
        raise

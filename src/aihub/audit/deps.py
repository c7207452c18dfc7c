"""The request's audit context (peer address and User-Agent) as a dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aihub.audit.service import AuditContext


def _audit_context(conn: HTTPConnection) -> AuditContext:
    # uvicorn puts a trusted proxy's X-Forwarded-For into conn.client.
    ip = conn.client.host if conn.client is not None else None
    return AuditContext(ip=ip, user_agent=conn.headers.get("user-agent"))


Audit = Annotated[AuditContext, Depends(_audit_context)]

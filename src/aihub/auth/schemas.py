from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class LoginRequest(BaseModel):
    """Seed 003's JSON login; `username` may stand in for `email`."""

    email: str | None = Field(default=None, max_length=320)
    username: str | None = Field(default=None, max_length=320)
    password: str = Field(max_length=1024)

    @model_validator(mode="after")
    def _needs_a_login(self) -> LoginRequest:
        if not (self.email or self.username):
            raise ValueError("email or username is required")
        return self

    @property
    def login(self) -> str:
        return self.email or self.username or ""


class Token(BaseModel):
    """Seed 003's token answer; the refresh token travels in the
    ``aihub_refresh`` cookie (HttpOnly, path /api/auth)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  OAuth2 token type


class RefreshRequest(BaseModel):
    """Omit the body (or the field) to use the ``aihub_refresh`` cookie."""

    refresh_token: str | None = Field(default=None, max_length=256)


class RefreshedToken(Token):
    refresh_token: str | None = Field(
        default=None,
        description="The next refresh token, when the spent one came in the body "
        "(with the cookie, the cookie carries it).",
    )


class SessionRead(BaseModel):
    id: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    method: str = Field(description="password, or the SSO provider's name")
    current: bool = Field(description="The session of the token that asked")


class ProviderRead(BaseModel):
    name: str
    label: str
    kind: Literal["oidc", "github", "discord"]

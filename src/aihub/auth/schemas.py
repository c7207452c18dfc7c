from __future__ import annotations

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
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  OAuth2 token type

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,64}$"
Password = Field(min_length=8, max_length=128)


class UserCreate(BaseModel):
    email: EmailStr = Field(max_length=320)
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Password


class UserUpdate(BaseModel):
    email: EmailStr | None = Field(default=None, max_length=320)
    username: str | None = Field(default=None, pattern=USERNAME_PATTERN)
    password: str | None = Field(default=None, min_length=8, max_length=128)


class UserRead(BaseModel):
    """Seed 003's user object; never the password or its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    username: str
    is_active: bool
    role: str
    created_at: datetime


class UserAdminUpdate(BaseModel):
    role: Literal["user", "admin", "viewer"] | None = None
    is_active: bool | None = None

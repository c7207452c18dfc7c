"""Provider keys on the wire: seed 003's fields plus base_url, settings and health.

The key itself is accepted in clear and only ever returned masked (``api_key`` is
read from the ``masked_key`` column)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import orjson
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from aihub.core.db import utcnow
from aihub.core.json_limits import check_json
from aihub.provider_keys.presets import BY_ID as PRESETS_BY_ID
from aihub.provider_keys.presets import NO_KEY, PresetId

Provider = Literal[
    "openai",
    "azure",
    "anthropic",
    "qwen",
    "openai_compatible",
    "superduperai",
    "gemini",
    "bedrock",
]
PROVIDERS: tuple[str, ...] = get_args(Provider)
NEEDS_BASE_URL = frozenset({"azure", "openai_compatible"})
KeyStatus = Literal["ok", "cooldown", "invalid"]
PoolStatus = Literal["OK", "WAIT", "INVALID"]
"""Seed 004's account statuses: in rotation, rate limited until, rejected."""

MAX_SETTINGS_BYTES = 16 * 1024
MAX_SETTINGS_DEPTH = 6
# Printable ASCII without spaces: anything else cannot travel in an HTTP header.
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")


def check_base_url(value: str | None) -> str | None:
    """An http(s) URL with a host and no credentials, without a trailing slash."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("base_url must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port out of range
    except ValueError as exc:
        raise ValueError("base_url is not a valid URL") from exc
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("base_url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("base_url must not carry credentials: use api_key")
    return value.rstrip("/")


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def check_settings(value: dict[str, Any] | None) -> dict[str, Any]:
    """A small JSON object; Azure's api_version and deployments, when given, typed."""
    if value is None:
        return {}
    check_json(value, max_depth=MAX_SETTINGS_DEPTH)  # before orjson can choke
    if len(orjson.dumps(value)) > MAX_SETTINGS_BYTES:
        raise ValueError(f"settings must be at most {MAX_SETTINGS_BYTES} bytes")
    if _depth(value) > MAX_SETTINGS_DEPTH:
        raise ValueError(f"settings may nest at most {MAX_SETTINGS_DEPTH} levels")
    version = value.get("api_version")
    if version is not None and (not isinstance(version, str) or len(version) > 64):
        raise ValueError("settings.api_version must be a string")
    deployments = value.get("deployments")
    if deployments is not None and not (
        isinstance(deployments, dict)
        and all(isinstance(v, str) and v for v in deployments.values())
    ):
        raise ValueError("settings.deployments must map model names to deployments")
    return value


def check_api_key(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not _KEY_CHARS.fullmatch(value):
        raise ValueError("api_key must be printable ASCII without spaces")
    return value


def require_base_url(provider: str, base_url: str | None) -> None:
    if provider in NEEDS_BASE_URL and not base_url:
        raise ValueError(f"base_url is required for provider {provider}")


_AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d")


def check_bedrock(api_key: str | None, settings: dict[str, Any] | None) -> None:
    """A Bedrock key is ``ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]``; its
    region (``settings.region``), when given, an AWS region name."""
    if api_key is not None:
        parts = api_key.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(
                "a bedrock api_key is ACCESS_KEY_ID:SECRET_ACCESS_KEY"
                " or ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN"
            )
    region = (settings or {}).get("region")
    if region is not None and not (
        isinstance(region, str) and _AWS_REGION.fullmatch(region)
    ):
        raise ValueError("settings.region must be an AWS region such as us-east-1")


def apply_preset(data: Any) -> Any:
    """A body naming a ``preset``: provider openai_compatible, the preset's
    base_url unless one is given, ``none`` as the key of a service needing none,
    ``settings.preset`` set. Another provider beside a preset is an error."""
    if not isinstance(data, dict) or data.get("preset") is None:
        return data
    preset = PRESETS_BY_ID.get(str(data["preset"]))
    if preset is None:
        return data  # the Literal reports it
    provider = data.get("provider")
    if provider not in (None, preset.provider):
        raise ValueError(f"preset {preset.id} is a {preset.provider} key")
    out = {**data, "provider": preset.provider}
    if not out.get("base_url"):
        out["base_url"] = preset.base_url
    if not out.get("api_key") and not preset.key_required:
        out["api_key"] = NO_KEY
    if not out.get("name"):
        out["name"] = preset.name
    settings = out.get("settings")
    if settings is None or isinstance(settings, dict):
        out["settings"] = {**(settings or {}), "preset": preset.id}
    return out


class ProviderKeyCreate(BaseModel):
    """``preset`` (see GET /api/api-keys/presets) fills provider, base_url and,
    for a service that needs none, the key."""

    provider: Provider
    api_key: str = Field(min_length=1, max_length=4096)
    preset: PresetId | None = None
    name: str | None = Field(default=None, max_length=200)
    is_active: bool = True
    base_url: str | None = Field(default=None, max_length=1000)
    settings: dict[str, Any] | None = None

    valid_api_key = field_validator("api_key")(check_api_key)
    valid_base_url = field_validator("base_url")(check_base_url)
    valid_settings = field_validator("settings")(check_settings)

    @model_validator(mode="before")
    @classmethod
    def _from_preset(cls, data: Any) -> Any:
        return apply_preset(data)

    @model_validator(mode="after")
    def _base_url_where_needed(self) -> ProviderKeyCreate:
        require_base_url(self.provider, self.base_url)
        if self.provider == "bedrock":
            check_bedrock(self.api_key, self.settings)
        return self


class ProviderKeyUpdate(BaseModel):
    """All optional; an explicit null clears name, base_url and settings."""

    provider: Provider | None = None
    api_key: str | None = Field(default=None, min_length=1, max_length=4096)
    name: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None
    base_url: str | None = Field(default=None, max_length=1000)
    settings: dict[str, Any] | None = None

    valid_api_key = field_validator("api_key")(check_api_key)
    valid_base_url = field_validator("base_url")(check_base_url)
    valid_settings = field_validator("settings")(check_settings)

    @model_validator(mode="after")
    def _bedrock_shape(self) -> ProviderKeyUpdate:
        if self.provider == "bedrock":
            check_bedrock(self.api_key, self.settings)
        return self


class ProviderKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    provider: str
    api_key: str = Field(validation_alias=AliasChoices("masked_key", "api_key"))
    name: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    base_url: str | None
    settings: dict[str, Any]
    is_global: bool
    status: KeyStatus
    cooldown_until: datetime | None
    last_error: str | None
    last_used_at: datetime | None

    @model_validator(mode="after")
    def _expired_cooldown_is_ok(self) -> ProviderKeyRead:
        """A cooldown whose deadline has passed is over, whatever the row says."""
        if self.status == "cooldown" and (
            self.cooldown_until is None or self.cooldown_until <= utcnow()
        ):
            self.status = "ok"
            self.cooldown_until = None
        return self


class PoolKeyStatus(BaseModel):
    """One key in a caller's pools, as seed 004's /api/status shows accounts."""

    provider: str
    id: int
    name: str | None
    is_global: bool
    status: PoolStatus
    until: datetime | None = None
    last_error: str | None = None

"""Settings from the environment (prefix AIHUB_) and an optional .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AIHUB_", env_file=".env", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    admin_username: str = "admin"
    open_registration: bool = True
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_minutes: int = Field(default=60 * 24, ge=1)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    key_wait_s: float = Field(default=30.0, ge=0)
    key_cooldown_s: float = Field(default=30.0, ge=1)
    key_probe_interval_s: float = Field(default=60.0, gt=0)
    upstream_connect_timeout_s: float = Field(default=10.0, gt=0)
    upstream_idle_timeout_s: float = Field(default=120.0, gt=0)
    upstream_retries: int = Field(default=2, ge=0, le=10)
    # "provider/model" -> ["provider/model", ...] tried when its keys cannot serve.
    model_fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    chat_flush_interval_s: float = Field(default=0.5, gt=0)
    completion_cache_ttl_s: int = Field(default=3600, ge=0)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    sentry_dsn: str | None = Field(
        default=None, validation_alias=AliasChoices("AIHUB_SENTRY_DSN", "SENTRY_DSN")
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'aihub.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Settings from the environment (prefix AIHUB_) and an optional .env file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_OIDC_ENV = re.compile(
    r"^AIHUB_OIDC_([A-Z0-9]+)_(ISSUER|CLIENT_ID|CLIENT_SECRET|SCOPES|GROUPS_CLAIM|LABEL)$"
)


class OidcProviderSettings(BaseModel):
    """One OpenID Connect provider, from ``AIHUB_OIDC_<NAME>_*``."""

    issuer: str
    """Discovery at ``<issuer>/.well-known/openid-configuration``."""
    client_id: str
    client_secret: SecretStr
    scopes: str = "openid email profile"
    groups_claim: str | None = None
    label: str | None = None


def _oidc_from_environment() -> dict[str, dict[str, str]]:
    """``AIHUB_OIDC_<NAME>_<FIELD>`` from .env, then the environment (which wins),
    grouped by provider name (lower-case letters and digits)."""
    found: dict[str, dict[str, str]] = {}
    sources: list[Mapping[str, str | None]] = [
        dotenv_values(".env") if Path(".env").is_file() else {},
        os.environ,
    ]
    for source in sources:
        for key, value in source.items():
            match = _OIDC_ENV.match(key)
            if match and value is not None:
                name, field = match.group(1).lower(), match.group(2).lower()
                found.setdefault(name, {})[field] = value
    return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AIHUB_", env_file=".env", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    """How long a request waits for a pooled connection before a 503."""
    secret_key: SecretStr | None = None
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    admin_username: str = "admin"
    open_registration: bool = True
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_minutes: int = Field(default=60 * 24, ge=1)
    # Sessions and single sign-on (see aihub.auth.sessions, aihub.auth.sso).
    refresh_token_days: int = Field(default=30, ge=1, le=3650)
    """A session ends when not refreshed for this long."""
    password_login: bool = True
    """False: password sign-in and self-registration answer 403 (SSO only)."""
    signup_email_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Domains whose people may get a new account through SSO; empty: any."""
    sso_admin_groups: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Groups (from a provider's groups claim) whose members are admins."""
    oidc_providers: dict[str, OidcProviderSettings] = Field(default_factory=dict)
    """Built from ``AIHUB_OIDC_<NAME>_*`` variables; several at once."""
    oauth_github_client_id: str | None = None
    oauth_github_client_secret: SecretStr | None = None
    oauth_github_base_url: str | None = None
    """GitHub Enterprise Server (or a stand-in): ``<base>/login/oauth/*`` and
    the API at ``<base>/api/v3``; None: github.com."""
    oauth_github_groups: bool = False
    """True: asks scope read:org, and the person's organizations (``org``) and
    teams (``org/team``), lower-case, are their SSO groups (for teams)."""
    oauth_discord_client_id: str | None = None
    oauth_discord_client_secret: SecretStr | None = None
    oauth_discord_base_url: str | None = None
    """None: https://discord.com (``/oauth2/authorize``, ``/api/...``)."""
    # Argon2id cost of new password hashes (defaults: argon2-cffi's, RFC 9106's
    # low-memory profile). Verifying reads the cost from the stored hash.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1, le=255)
    # Login protection (see aihub.auth.throttle).
    login_failures_per_minute_ip: int = Field(default=30, ge=1)
    login_failures_per_minute_account: int = Field(default=10, ge=1)
    login_free_failures: int = Field(default=5, ge=1)
    """Wrong passwords in a row before each further one locks the account."""
    login_lockout_base_s: float = Field(default=2.0, gt=0)
    """The first lock; it doubles with every further failure."""
    login_lockout_max_s: float = Field(default=900.0, gt=0)
    login_failure_memory_s: float = Field(default=3600.0, gt=0)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    key_wait_s: float = Field(default=30.0, ge=0)
    key_cooldown_s: float = Field(default=30.0, ge=1)
    key_probe_interval_s: float = Field(default=60.0, gt=0)
    upstream_connect_timeout_s: float = Field(default=10.0, gt=0)
    upstream_idle_timeout_s: float = Field(default=120.0, gt=0)
    upstream_retries: int = Field(default=2, ge=0, le=10)
    # CIDRs and host names users may reach though internal (aihub.infra.outbound).
    outbound_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # "provider/model" -> ["provider/model", ...] tried when its keys cannot serve.
    model_fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    price_overrides: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Prices that win over the database and the catalog, per "provider/model":
    any pricing key of the catalog (input, output per 1M tokens, per_image...)."""
    superduperai_usd_per_credit: float = Field(default=0.01, ge=0)
    cache_dir: Path | None = None
    """Where derived files are cached (the price database's extract);
    default ``$XDG_CACHE_HOME/aihub`` (``~/.cache/aihub``)."""
    chat_flush_interval_s: float = Field(default=0.5, gt=0)
    responses_flush_interval_s: float = Field(default=0.1, ge=0, le=60)
    """Stored /v1/responses are written behind the request, at most one batch
    per this interval under load (see aihub.gateway.responses_writer)."""
    # Liveness of streaming answers across processes (see aihub.runs): a
    # running answer's heartbeat lives this long; an answer whose owner is gone
    # is marked interrupted within ttl + sweep interval (+ the same after Redis
    # comes back, so owners can publish again first).
    chat_heartbeat_ttl_s: float = Field(default=30.0, gt=0)
    chat_heartbeat_interval_s: float = Field(default=10.0, gt=0)
    chat_sweep_interval_s: float = Field(default=10.0, gt=0)
    completion_cache_ttl_s: int = Field(default=3600, ge=0)
    # Files and media generation (see aihub.files, aihub.media).
    files_dir: Path | None = None
    """Where the local blob store keeps files; default ``data_dir / "files"``."""
    blob_store: Literal["local", "s3"] = "local"
    """Where files live: local disk, or an S3-compatible bucket (extra ``s3``)."""
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    """For MinIO, Cloudflare R2 and other S3-compatible services; None: AWS."""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    """None: botocore's usual credential chain (environment, profile, IAM role)."""
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = ""
    """Put in front of every key, e.g. ``aihub/``."""
    public_url: str | None = None
    """Base URL put in front of file links made outside a request (the worker)."""
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    media_embedded_worker: bool | None = None
    """Run media jobs inside the API process; None: yes without Redis, no with it
    (then run ``aihub worker``)."""
    media_worker_concurrency: int = Field(default=4, ge=1, le=256)
    media_user_concurrency: int = Field(default=2, ge=1, le=256)
    media_max_attempts: int = Field(default=3, ge=1, le=20)
    media_retry_delay_s: float = Field(default=2.0, ge=0)
    media_poll_interval_s: float = Field(default=2.0, gt=0)
    media_heartbeat_s: float = Field(default=5.0, gt=0)
    media_stale_after_s: float = Field(default=30.0, gt=0)
    media_sweep_interval_s: float = Field(default=10.0, gt=0)
    media_requeue_after_s: float = Field(default=60.0, gt=0)
    media_job_timeout_s: float = Field(default=1800.0, gt=0)
    media_wait_timeout_s: float = Field(default=300.0, gt=0)
    media_max_artifact_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    media_worker_heartbeat_s: float = Field(default=10.0, gt=0)
    """How often a media worker says it is alive (shared state, with a TTL)."""
    media_worker_seen_ttl_s: float = Field(default=60.0, gt=0)
    """No worker heartbeat for this long: ``no media worker`` warnings."""
    # Realtime voice (see aihub.voice).
    voice_session_ttl_s: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    voice_token_ttl_s: int = Field(default=300, ge=10)
    """Lifetime of the signed token in a session's WebSocket URL."""
    voice_sessions_per_minute: int = Field(default=20, ge=1)
    voice_turns_per_minute: int = Field(default=60, ge=1)
    voice_heartbeat_s: float = Field(default=15.0, gt=0)
    voice_idle_timeout_s: float = Field(default=60.0, gt=0)
    voice_eos_ms: int = Field(default=500, ge=100, le=5000)
    """End-of-speech silence to start with; it adapts between min and max."""
    voice_eos_min_ms: int = Field(default=250, ge=60)
    voice_eos_max_ms: int = Field(default=1200, ge=100)
    voice_audio_lead_ms: int = Field(default=400, ge=0)
    """How far ahead of real-time playback answer audio is sent (0: no pacing)."""
    voice_partial_interval_ms: int = Field(default=1000, ge=0)
    """How often a partial transcript is made while the user speaks (0: never)."""
    voice_max_utterance_s: float = Field(default=30.0, gt=1)
    voice_tts_cache_ttl_s: int = Field(default=7 * 24 * 3600, ge=0)
    voice_tts_cache_max_chars: int = Field(default=160, ge=0)
    voice_preload_local: bool = False
    """Load the local STT/TTS models at startup instead of on first use."""
    # Freeze the objects alive after start-up out of the collector's reach and
    # collect young objects less often: no full-collection pauses under load.
    # `aihub serve` turns it on; embedded apps (tests) keep Python's defaults.
    gc_tuning: bool = False
    web_dist_dir: Path | None = None
    """The web app's build served at ``/``; None: ``aihub/web/dist`` in the package."""
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    sentry_dsn: str | None = Field(
        default=None, validation_alias=AliasChoices("AIHUB_SENTRY_DSN", "SENTRY_DSN")
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("signup_email_domains", "sso_admin_groups", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("signup_email_domains", mode="after")
    @classmethod
    def _lower_domains(cls, value: list[str]) -> list[str]:
        return [domain.lower().lstrip("@") for domain in value]

    @model_validator(mode="before")
    @classmethod
    def _read_oidc_providers(cls, data: Any) -> Any:
        if isinstance(data, dict) and "oidc_providers" not in data:
            found = _oidc_from_environment()
            if found:
                return {**data, "oidc_providers": found}
        return data

    @field_validator("oidc_providers", mode="after")
    @classmethod
    def _check_provider_names(
        cls, value: dict[str, OidcProviderSettings]
    ) -> dict[str, OidcProviderSettings]:
        for name in value:
            if not re.fullmatch(r"[a-z0-9]+", name) or name in ("github", "discord"):
                raise ValueError(
                    f"OIDC provider name {name!r}: lower-case letters and digits, "
                    "not github or discord"
                )
        return value

    @field_validator("outbound_allow", mode="before")
    @classmethod
    def _split_outbound_allow(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _check_password_hash_memory(self) -> Settings:
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError(
                "AIHUB_PASSWORD_HASH_MEMORY_KIB must be at least 8 times "
                "AIHUB_PASSWORD_HASH_PARALLELISM"
            )
        return self

    @model_validator(mode="after")
    def _check_blob_store(self) -> Settings:
        if self.blob_store == "s3" and not self.s3_bucket:
            raise ValueError("AIHUB_BLOB_STORE=s3 needs AIHUB_S3_BUCKET")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'aihub.db').resolve()}"

    @property
    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "aihub"

    @property
    def resolved_files_dir(self) -> Path:
        return self.files_dir or self.data_dir / "files"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Passwords (argon2), access tokens (JWT), secrets at rest (Fernet), key hashes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from aihub.core.settings import Settings

JWT_ALGORITHM = "HS256"
T = TypeVar("T")
HASH_THREADS = 2
# Password hashing (argon2: ~64 MB and tens of ms each at the default cost) runs
# on these threads only, so a login flood queues here instead of taking every
# default worker thread, the event loop's time or unbounded memory.
_HASH_POOL = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="argon2")


async def _on_hash_pool(function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_HASH_POOL, function, *args)


@lru_cache(maxsize=8)
def _argon2(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
    )


def password_hasher(settings: Settings) -> PasswordHasher:
    """The argon2id hasher with the configured cost (one per cost, reused)."""
    return _argon2(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )


@lru_cache(maxsize=8)
def _decoy(time_cost: int, memory_kib: int, parallelism: int) -> str:
    hasher = _argon2(time_cost, memory_kib, parallelism)
    return hasher.hash(secrets.token_urlsafe(32))


async def decoy_password_hash(settings: Settings) -> str:
    """The hash of a random, forgotten password at the configured cost: verifying
    against it costs what verifying a real password costs (made once per cost)."""
    return await _on_hash_pool(
        _decoy,
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )


async def hash_password(password: str, settings: Settings) -> str:
    return await _on_hash_pool(password_hasher(settings).hash, password)


async def verify_password(password: str, password_hash: str) -> bool:
    """Checks against the cost stored in the hash, whatever the settings say."""

    def _verify() -> bool:
        try:
            return PasswordHasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await _on_hash_pool(_verify)


def resolve_secret_key(settings: Settings) -> str:
    """The configured key, or one generated once into the data dir and reused."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(settings.data_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def create_access_token(
    *,
    secret: str,
    user_id: int,
    token_version: int,
    minutes: int,
    session_id: int | None = None,
) -> str:
    """``sid`` names the sign-in session: the token ends when it is revoked."""
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "ver": token_version,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "typ": "access",
    }
    if session_id is not None:
        payload["sid"] = session_id
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> dict[str, Any] | None:
    """The token's claims, or None when it is malformed, forged or expired."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp"]}
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    return claims


def sign_token(secret: str, purpose: str, payload: dict[str, Any], seconds: int) -> str:
    """A short-lived signed token for one purpose (voice sessions, file links)."""
    now = datetime.now(UTC)
    body = {
        **payload,
        "typ": purpose,
        "iat": now,
        "exp": now + timedelta(seconds=seconds),
    }
    return jwt.encode(body, secret, algorithm=JWT_ALGORITHM)


def verify_signed_token(secret: str, purpose: str, token: str) -> dict[str, Any] | None:
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM])
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == purpose else None


class SecretBox:
    """Encrypts provider keys at rest with a Fernet key derived from the secret."""

    def __init__(self, secret: str) -> None:
        digest = hashlib.sha256(b"aihub-fernet:" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:  # secret key changed since it was stored
            raise ValueError("cannot decrypt: the secret key has changed") from exc


def hash_api_key(key: str) -> str:
    """Gateway keys are random and long, so one SHA-256 is enough to store them."""
    return hashlib.sha256(key.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def mask_secret(value: str) -> str:
    """Seed 003's mask: first 10 characters, ****, last 3."""
    if len(value) <= 13:
        return value[:2] + "****" + value[-1:] if len(value) > 3 else "****"
    return f"{value[:10]}****{value[-3:]}"

"""Typed upstream errors, and how an HTTP reply or an SSE error event maps to one.

ProviderError (status, message, code, retryable, error_type)
 ├── UpstreamRateLimited     429 (not quota); retry_after seconds or None   transient
 ├── UpstreamAuthFailed      401, 403: the key is rejected
 ├── UpstreamQuotaExceeded   402, or a quota/billing/credit body (OpenAI's 429
 │                           insufficient_quota, Anthropic's 400 credit balance)
 ├── UpstreamUnavailable     5xx, 529 overloaded, connection errors, drops,
 │                           malformed replies                             transient
 ├── UpstreamTimeout         connect timeout, idle timeout between chunks,
 │                           408/504                                       transient
 ├── UpstreamBadRequest      400, 404, 422 and other 4xx; is_context_error when
 │                           the body says the prompt/context is too long
 └── UpstreamRefused         the outbound URL policy refused the address (no
                             connection was made)

`retryable` means the same request may succeed later (after a backoff, or on
another key); the key pool acts on the class. `error_type` is the seed 003 error
type a caller reports. Messages are aihub's own, per status, with at most the
upstream's error code: an upstream's body never reaches users (it may come from
a server a user pointed aihub at), nor the API key.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, ParamSpec, TypeVar

import orjson

MAX_MESSAGE_CHARS = 300

_QUOTA_MARKERS = (
    b"insufficient_quota",
    b"exceeded your current quota",
    b"billing",
    b"credit balance",
    b"out of credits",
    b"payment required",
    b"arrearage",
)
_CONTEXT_MARKERS = (
    b"context_length_exceeded",
    b"maximum context length",
    b"context length",
    b"context window",
    b"prompt is too long",
    b"input is too long",
    b"too many tokens",
    b"reduce the length",
    b"request_too_large",
)
P = ParamSpec("P")
R = TypeVar("R")
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)
_SECRET = re.compile(r"(sk-|sk_|key-)[A-Za-z0-9_\-*.]{4,}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ProviderError(Exception):
    """Root of every error an adapter raises."""

    default_message: ClassVar[str] = "Provider error"
    default_retryable: ClassVar[bool] = False
    seed_error_type: ClassVar[str] = "api_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = (message or self.default_message)[:MAX_MESSAGE_CHARS]
        self.status = status
        self.code = code
        self.retryable = self.default_retryable if retryable is None else retryable
        super().__init__(self.message)

    @property
    def error_type(self) -> str:
        return self.seed_error_type

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class UpstreamRateLimited(ProviderError):
    default_message = "Upstream rate limit reached"
    default_retryable = True
    seed_error_type = "rate_limit"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class UpstreamAuthFailed(ProviderError):
    default_message = "Upstream rejected the API key"
    seed_error_type = "api_key_not_found"


class UpstreamQuotaExceeded(ProviderError):
    default_message = "Upstream quota or credit exhausted"
    seed_error_type = "billing"


class UpstreamUnavailable(ProviderError):
    default_message = "Upstream unavailable"
    default_retryable = True


class UpstreamTimeout(ProviderError):
    default_message = "Upstream timed out"
    default_retryable = True


class UpstreamBadRequest(ProviderError):
    default_message = "Upstream rejected the request"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = 400,
        code: str | None = None,
        is_context_error: bool = False,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.is_context_error = is_context_error

    @property
    def error_type(self) -> str:
        return "invalid_context" if self.is_context_error else "api_error"


class UpstreamRefused(ProviderError):
    default_message = "The provider's address is refused by the outbound policy"
    seed_error_type = "forbidden"


def redact(text: str, secret: str | None = None) -> str:
    """The text without the key (exact) nor anything that looks like one."""
    if secret:
        text = text.replace(secret, "***")
    return _SECRET.sub(r"\1***", text)


def _error_fields(body: bytes) -> tuple[str | None, str | None, str | None]:
    """(message, code, type) from an OpenAI/Anthropic/DashScope error body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text or None), None, None
    return _payload_fields(data)


def _payload_fields(data: Any) -> tuple[str | None, str | None, str | None]:
    if not isinstance(data, Mapping):
        return None, None, None
    error = data.get("error", data)
    if isinstance(error, str):
        return error, _str(data.get("code")), _str(data.get("type"))
    if not isinstance(error, Mapping):
        return None, None, None
    message = _str(error.get("message")) or _str(data.get("message"))
    code = _str(error.get("code")) or _str(data.get("code"))
    kind = _str(error.get("type"))
    return message, code, kind


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _has(lowered: bytes, markers: tuple[bytes, ...]) -> bool:
    return any(marker in lowered for marker in markers)


_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
_STATUS_TEXT = {
    400: "the provider rejected the request",
    401: "the provider rejected the API key",
    402: "the provider's quota or credit is exhausted",
    403: "the provider refused access",
    404: "the provider does not know this model or endpoint",
    408: "the provider timed out",
    413: "the request is too large for the provider",
    422: "the provider rejected the request",
    429: "the provider's rate limit was reached",
}


def safe_code(value: str | None) -> str | None:
    """An upstream error code or type when it is a plain identifier
    (``context_length_exceeded``), else None: nothing else of a body is shown."""
    if value is None or _TOKEN.fullmatch(value) is None or _SECRET.search(value):
        return None
    return value


def safe_message(status: int | None, code: str | None, kind: str | None) -> str:
    """aihub's own message for an upstream failure: the status and the
    upstream's error code/type, never its text."""
    if status is None:
        text = "the provider reported an error"
    elif status in _STATUS_TEXT:
        text = _STATUS_TEXT[status]
    elif status >= 500:
        text = "the provider failed"
    else:
        text = "the provider rejected the request"
    detail = ", ".join(
        dict.fromkeys(c for c in (safe_code(code), safe_code(kind)) if c)
    )
    where = f"HTTP {status}" if status is not None else "in the stream"
    text = f"{text[0].upper()}{text[1:]} ({where}"
    return f"{text}: {detail})" if detail else f"{text})"


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str | None = None,
) -> ProviderError:
    """The typed error for a non-2xx upstream reply (the body is read only to
    classify it and take its error code)."""
    _message, code, kind = _error_fields(body[:65536])
    message = redact(safe_message(status, code, kind), secret)
    code = safe_code(code)
    lowered = body[:65536].lower()
    if status == 402 or (status in (400, 403, 429) and _has(lowered, _QUOTA_MARKERS)):
        return UpstreamQuotaExceeded(message, status=status, code=code)
    if status == 429:
        return UpstreamRateLimited(
            message, retry_after=retry_after_from(headers), status=status, code=code
        )
    if status in (401, 403):
        return UpstreamAuthFailed(message, status=status, code=code)
    if status in (408, 504):
        return UpstreamTimeout(message, status=status, code=code)
    if status >= 500 or status in (409, 425):
        return UpstreamUnavailable(message, status=status, code=code)
    is_context = status == 413 or _has(lowered, _CONTEXT_MARKERS)
    return UpstreamBadRequest(
        message, status=status, code=code, is_context_error=is_context
    )


def error_from_event(data: Any, *, secret: str | None = None) -> ProviderError:
    """The typed error for an `error` object sent inside a 200 stream."""
    text, code, kind = _payload_fields(data)
    message = redact(safe_message(None, code, kind), secret)
    words = f"{kind or ''} {code or ''} {text or ''}".lower()
    code = safe_code(code)
    raw = words.encode()
    if _has(raw, _QUOTA_MARKERS):
        return UpstreamQuotaExceeded(message, status=None, code=code)
    if "rate_limit" in words or "rate limit" in words:
        return UpstreamRateLimited(message, status=None, code=code)
    if "authentication" in words or "permission" in words:
        return UpstreamAuthFailed(message, status=None, code=code)
    if "invalid_request" in words or "not_found" in words:
        is_context = _has(raw, _CONTEXT_MARKERS)
        return UpstreamBadRequest(
            message, status=None, code=code, is_context_error=is_context
        )
    if "timeout" in words:
        return UpstreamTimeout(message, status=None, code=code)
    return UpstreamUnavailable(message, status=None, code=code)


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait: Retry-After (seconds or HTTP date), retry-after-ms, else
    the x-ratelimit-reset-* hints (`1s`, `6m0s`, `20ms`) of the exhausted limit."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is not None:
        parsed = parse_retry_after(value)
        if parsed is not None:
            return parsed
    hints: list[float] = []
    for kind in ("requests", "tokens"):
        reset = headers.get(f"x-ratelimit-reset-{kind}")
        remaining = headers.get(f"x-ratelimit-remaining-{kind}")
        if reset is None or remaining not in (None, "0"):
            continue
        seconds = parse_duration(reset)
        if seconds is not None:
            hints.append(seconds)
    return max(hints) if hints else None


def parse_retry_after(value: str) -> float | None:
    """A Retry-After value, delay-seconds or HTTP-date, as seconds from now."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def parse_duration(value: str) -> float | None:
    """OpenAI's reset hints: `1s`, `6m0s`, `1h2m3.5s`, `20ms` (or bare seconds)."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def reads_upstream_json(fn: Callable[P, R]) -> Callable[P, R]:
    """For functions reading upstream JSON: a reply of an unexpected shape (a
    list where an object was due...) raises UpstreamUnavailable, not a crash."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except _SHAPE_ERRORS as exc:
            raise UpstreamUnavailable(
                "Upstream sent a reply of unexpected shape"
            ) from exc

    return guarded

"""structlog set up once: JSON lines with a request id, secrets redacted.

AIHUB_LOG_FORMAT is ``auto`` (the default: human-readable lines on a terminal,
JSON lines otherwise, e.g. under systemd, Docker or a log shipper), ``json`` or
``console``."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

REDACTED_KEYS = frozenset(
    {"authorization", "api_key", "password", "secret", "token", "key", "password_hash"}
)

QUIET_LIBRARIES = ("aiosqlite", "asyncpg", "sqlalchemy", "aiohttp", "redis", "asyncio")


def _redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for name in list(event_dict):
        lowered = name.lower()
        if lowered in REDACTED_KEYS or lowered.endswith(("_token", "_secret", "_key")):
            event_dict[name] = "[redacted]"
    return event_dict


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (a logger made before
    stderr was swapped, by a test's capture or a daemon, must not write to the
    old, maybe closed, stream)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def resolve_format(fmt: str, stream: TextIO | None = None) -> str:
    """``json`` or ``console``: ``auto`` picks console only on a terminal."""
    if fmt != "auto":
        return fmt
    stream = stream or sys.stderr
    try:
        return "console" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty(), or a closed stream
        return "json"


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    fmt = resolve_format(fmt)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(
            file=cast(TextIO, _CurrentStderr())
        ),
        cache_logger_on_first_use=False,
    )
    # uvicorn's and other libraries' stdlib records go through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer, foreign_pre_chain=[*shared]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Drivers log SQL with its parameters (password hashes, encrypted keys) at
    # DEBUG: keep them at WARNING whatever our own level is.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))

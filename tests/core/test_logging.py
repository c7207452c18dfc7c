"""AIHUB_LOG_FORMAT: human-readable on a terminal, JSON lines otherwise."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys

import pytest

from aihub.core.logging import resolve_format

SCRIPT = (
    "import structlog; from aihub.core.logging import configure_logging; "
    "configure_logging('INFO', {fmt!r}); "
    "structlog.get_logger('t').info('hello', api_key='sk-secret', n=1)"
)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("fmt", "stream", "expected"),
    [
        ("auto", _Tty(), "console"),
        ("auto", io.StringIO(), "json"),
        ("json", _Tty(), "json"),
        ("console", io.StringIO(), "console"),
    ],
)
def test_resolve_format(fmt: str, stream: io.StringIO, expected: str) -> None:
    assert resolve_format(fmt, stream) == expected


def test_a_closed_stream_means_json() -> None:
    stream = io.StringIO()
    stream.close()
    assert resolve_format("auto", stream) == "json"


def _run(fmt: str, *, tty: bool) -> str:
    code = SCRIPT.format(fmt=fmt)
    if not tty:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return done.stderr
    leader, follower = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-c", code], stderr=follower, stdout=follower, check=True
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(leader)


def test_auto_writes_json_lines_when_not_a_terminal() -> None:
    line = json.loads(_run("auto", tty=False).strip().splitlines()[-1])
    assert line["event"] == "hello"
    assert line["api_key"] == "[redacted]"


def test_auto_writes_readable_lines_on_a_terminal() -> None:
    out = _run("auto", tty=True)
    assert "hello" in out
    assert "[redacted]" in out
    assert "sk-secret" not in out
    assert not out.lstrip().startswith("{")

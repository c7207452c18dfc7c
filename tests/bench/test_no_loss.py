"""The hub benchmark's no-loss checker (bench/no_loss.py) at a small scale: 50
answers streamed at once through a real `aihub serve` on the session's database
(and Redis when set), every one complete and whole in the database afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.no_loss import (
    COMPLETE,
    NoLossReport,
    StreamResult,
    check,
    provision,
    run_and_check,
)

from tests.conftest import CHEAP_PASSWORD_HASH, _empty_tables
from tests.fakes.replies import Reply
from tests.fakes.upstream import FakeUpstream
from tests.ops.test_serve import AIHUB, _free_port, _wait_healthy

STREAMS = 50
ANSWER = " ".join(f"word{n}" for n in range(120))


@pytest.fixture
def hub(tmp_path: Path, database_url: str, redis_url: str | None) -> Iterator[str]:
    """One `aihub serve` process; text stored every 0.1 s so every answer is
    written several times while it streams."""
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "SENTRY"))
    }
    env.update(
        AIHUB_HOST="127.0.0.1",
        AIHUB_PORT=str(port),
        AIHUB_DATA_DIR=str(tmp_path / "data"),
        AIHUB_DATABASE_URL=database_url,
        AIHUB_SECRET_KEY="no-loss-test-secret-key-long-enough-for-hs256",
        AIHUB_CHAT_FLUSH_INTERVAL_S="0.1",
        AIHUB_OUTBOUND_ALLOW="127.0.0.1",  # the stand-in provider is on loopback
        AIHUB_LOG_LEVEL="WARNING",
        **CHEAP_PASSWORD_HASH,
    )
    if redis_url:
        env["AIHUB_REDIS_URL"] = redis_url
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [AIHUB, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_healthy(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
    asyncio.run(_empty_tables(database_url))


@pytest.mark.timeout(300)
def test_fifty_concurrent_streams_are_stored_whole(
    hub: str, database_url: str, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(
        "sk-no-loss-mock", default=Reply(text=ANSWER, chunks=60, chunk_delay=0.02)
    )

    async def scenario() -> tuple[NoLossReport, list[StreamResult], list[int]]:
        headers, ids = await provision(hub, fake_upstream.base_url("openai"), STREAMS)
        report, results = await run_and_check(
            hub, database_url, [(i, headers) for i in ids], ANSWER
        )
        return report, results, ids

    report, results, ids = asyncio.run(scenario())
    assert report.summary() == {
        "streams": STREAMS,
        "complete": STREAMS,
        "lost": 0,
        "refused": 0,
        "truncated": 0,
        "wrong": 0,
        "not_complete": 0,
        "client_errors": 0,
        "error_samples": [],
    }
    assert len(fake_upstream.requests_for("sk-no-loss-mock")) == STREAMS
    assert {r.thread_id for r in results} == set(ids)
    assert all(r.status == COMPLETE and r.text == ANSWER for r in results)
    assert all(len(r.arrivals) > 1 for r in results)  # streamed, not in one piece


def _result(thread_id: int, error: str | None = None) -> StreamResult:
    return StreamResult(thread_id=thread_id, sent_at=0.0, error=error)


def test_the_checker_tells_lost_truncated_wrong_and_unfinished_answers() -> None:
    stored = {
        1: [(10, COMPLETE, "a b c")],
        2: [],
        3: [(30, "interrupted", "a b")],
        4: [(40, COMPLETE, "a x c")],
        5: [(50, "error", "a b c")],
        6: [(60, COMPLETE, "old"), (61, COMPLETE, "a b c")],
        7: [],
    }
    results = [_result(n) for n in range(1, 7)] + [_result(7, "HTTP 503: busy")]
    report = check(results, stored, "a b c")
    assert (report.complete, report.lost, report.truncated) == (2, [2], [3])
    assert report.refused == [7]
    assert (report.wrong, report.not_complete) == ([4], [5])
    assert not report.ok

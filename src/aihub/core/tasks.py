"""Background loops that stop when asked, whatever the libraries under them do.

A task's ``cancel()`` raises CancelledError at its current await; some client
libraries swallow it mid-command (redis-py can, see redis/redis-py#2028 and
#2551), and a ``while True`` loop then runs for ever and its owner's shutdown
hangs. The task still counts the request (``Task.cancelling()``), so loops
check it on every turn: ``while not cancel_requested(): ...``.
"""

from __future__ import annotations

import asyncio


def cancel_requested() -> bool:
    """True once the running task was asked to stop."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0

"""Thread errors.

ThreadNotFoundError(NotFoundError)    404 not_found
MessageNotFoundError(NotFoundError)   404 not_found
"""

from __future__ import annotations

from aihub.core.errors import NotFoundError


class ThreadNotFoundError(NotFoundError):
    default_message = "Thread not found"

    def __init__(self, thread_id: int) -> None:
        super().__init__(f"Thread {thread_id} not found")


class MessageNotFoundError(NotFoundError):
    default_message = "Message not found"

    def __init__(self, message_id: int) -> None:
        super().__init__(f"Message {message_id} not found")

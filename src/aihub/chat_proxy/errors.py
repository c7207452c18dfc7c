"""Proxy errors.

ChatNotFoundError(NotFoundError)       404 not_found
ParentNotFoundError(NotFoundError)     404 not_found
"""

from __future__ import annotations

from aihub.core.errors import NotFoundError


class ChatNotFoundError(NotFoundError):
    default_message = "Chat not found"

    def __init__(self, chat_id: str) -> None:
        super().__init__(f"Chat {chat_id} not found")


class ParentNotFoundError(NotFoundError):
    default_message = "Message not found"

    def __init__(self, parent_id: str) -> None:
        super().__init__(f"Message {parent_id} (parentId) not found in this chat")

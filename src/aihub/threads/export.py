"""Export a thread as a Markdown or JSON attachment.

Markdown holds the active branch, readable as is. JSON is ThreadDetailRead plus
`active_message_id`, `exported_at` and `format_version`; with branches=all its
`messages` are every message of the thread (each with its parent_id), so the
tree can be rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.db import utcnow
from aihub.core.errors import ValidationFailedError
from aihub.threads import repository
from aihub.threads import service as threads_service
from aihub.threads.models import Message, Thread
from aihub.threads.schemas import ThreadDetailRead, ThreadExportRead
from aihub.users.models import User

ExportFormat = Literal["md", "json"]
ExportBranches = Literal["active", "all"]

FORMAT_VERSION = 1
MARKDOWN_TYPE = "text/markdown; charset=utf-8"
JSON_TYPE = "application/json"
_ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class ExportFile:
    """An attachment ready to send."""

    filename: str
    media_type: str
    body: bytes

    @property
    def content_disposition(self) -> str:
        return f'attachment; filename="{self.filename}"'


async def export_thread(
    session: AsyncSession,
    *,
    user: User,
    thread_id: int,
    export_format: ExportFormat = "md",
    branches: ExportBranches = "active",
) -> ExportFile:
    if export_format == "md" and branches == "all":
        raise ValidationFailedError("branches=all is only available with format=json")
    thread = await threads_service.get_thread(session, user=user, thread_id=thread_id)
    if branches == "all":
        messages = await repository.list_messages(session, thread_id=thread.id)
    else:
        messages = await threads_service.list_active_branch(session, thread=thread)
    filename = f"thread-{thread.id}.{export_format}"
    if export_format == "md":
        body = render_markdown(thread, messages).encode("utf-8")
        return ExportFile(filename, MARKDOWN_TYPE, body)
    document = build_json(thread, messages, exported_at=utcnow())
    return ExportFile(filename, JSON_TYPE, document.model_dump_json().encode("utf-8"))


def build_json(
    thread: Thread, messages: Sequence[Message], *, exported_at: datetime
) -> ThreadExportRead:
    detail = ThreadDetailRead.build(thread, messages)
    return ThreadExportRead.model_validate(
        {
            **dict(detail),
            "active_message_id": thread.active_message_id,
            "exported_at": exported_at,
            "format_version": FORMAT_VERSION,
        }
    )


def render_markdown(thread: Thread, messages: Sequence[Message]) -> str:
    """A "# title" heading, a model/provider/date line, then one "## Role"
    section per message with its content verbatim."""
    title = " ".join(thread.title.split()) or "Untitled"
    parts = [f"# {title}", _summary_line(thread)]
    for message in messages:
        parts.append(_message_heading(message))
        parts.append(message.content)
    return "\n\n".join(parts) + "\n"


def _summary_line(thread: Thread) -> str:
    fields = []
    if thread.model:
        fields.append(f"Model: {thread.model}")
    if thread.provider:
        fields.append(f"Provider: {thread.provider}")
    created = thread.created_at
    if created.tzinfo is not None:
        created = created.astimezone(UTC)
    fields.append(f"Created: {created:%Y-%m-%d %H:%M} UTC")
    return " · ".join(fields)


def _message_heading(message: Message) -> str:
    """ "## Assistant · gpt-4o (stopped)": model for answers, status unless
    complete."""
    heading = "## " + _ROLE_HEADINGS.get(message.role, message.role.capitalize())
    if message.role == "assistant" and message.model:
        heading += f" · {message.model}"
    if message.status != "complete":
        heading += f" ({message.status})"
    return heading

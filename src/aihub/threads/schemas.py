"""Wire shapes of /api/threads (seed 003, section "Треды и сообщения")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from aihub.categories.schemas import CategoryRead
from aihub.core.json_limits import check_json

DB_INT_MAX = 2**31 - 1  # PostgreSQL integer: larger ids can match nothing
TITLE_MAX = 500
PROVIDER_MAX = 64
MODEL_MAX = 200
CONTENT_MAX = 1_000_000
METADATA_MAX_BYTES = 64 * 1024
SEARCH_MAX = 200
BULK_MAX = 1000
MAX_TOKENS_MAX = 10_000_000

MessageRole = Literal["system", "user", "assistant"]


def check_text(value: str) -> str:
    """Reject what no database stores: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    check_json(value)
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise ValueError("must be a JSON object of valid Unicode text") from None
    if b"\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    if len(encoded) > METADATA_MAX_BYTES:
        raise ValueError(f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    return value


Text = Annotated[str, AfterValidator(check_text)]
DbId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]
Title = Annotated[Text, Field(max_length=TITLE_MAX)]
Provider = Annotated[Text, Field(min_length=1, max_length=PROVIDER_MAX)]
ModelName = Annotated[Text, Field(min_length=1, max_length=MODEL_MAX)]
Content = Annotated[Text, Field(max_length=CONTENT_MAX)]
MaxTokens = Annotated[int, Field(ge=1, le=MAX_TOKENS_MAX)]
Temperature = Annotated[float, Field(ge=0, le=2)]


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    thread_id: int
    role: str
    content: str
    tokens: int | None
    model: str | None
    provider: str | None
    meta_data: dict[str, Any]
    created_at: datetime
    parent_id: int | None
    status: str


class MessageCreate(BaseModel):
    """A message stored as is, nothing generated. `metadata` (seed) or
    `meta_data` carry free-form data; parent_id defaults to the active leaf."""

    role: MessageRole
    content: Content
    tokens: Annotated[int, Field(ge=0, le=DB_INT_MAX)] | None = None
    model: ModelName | None = None
    provider: Provider | None = None
    meta_data: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("metadata", "meta_data")
    )
    parent_id: DbId | None = None

    @field_validator("meta_data")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any]:
        return _check_metadata(value)


class ThreadCreate(BaseModel):
    title: Title | None = None
    provider: Provider | None = None
    model: ModelName | None = None
    category_id: DbId | None = None
    is_pinned: bool = False
    is_archived: bool = False
    initial_message: Content | None = None
    system_prompt: Content | None = None
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None


class ThreadUpdate(BaseModel):
    """Every field optional; an explicit null clears the nullable ones
    (category_id, provider, model, system_prompt, max_tokens, temperature)."""

    title: Title | None = None
    category_id: DbId | None = None
    is_pinned: bool | None = None
    is_archived: bool | None = None
    provider: Provider | None = None
    model: ModelName | None = None
    system_prompt: Content | None = None
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> ThreadUpdate:
        for name in ("title", "is_pinned", "is_archived"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        if self.title is not None and not self.title.strip():
            raise ValueError("title cannot be blank")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class ThreadIds(BaseModel):
    """Body of bulk-delete and bulk-archive. Ids that are not the caller's
    threads (unknown or another user's) are ignored."""

    thread_ids: list[DbId] = Field(max_length=BULK_MAX)


class ThreadFilters(BaseModel):
    category_id: int | None = None
    is_archived: bool | None = None
    is_pinned: bool | None = None
    search: str | None = None


class ThreadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    title: str
    provider: str | None
    model: str | None
    category_id: int | None
    is_pinned: bool
    is_archived: bool
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime
    category: CategoryRead | None
    message_count: int
    system_prompt: str | None
    max_tokens: int | None
    temperature: float | None


class ThreadDetailRead(ThreadRead):
    """A thread with the messages of its active branch, root first."""

    messages: list[MessageRead]

    @classmethod
    def build(cls, thread: Any, messages: Sequence[Any]) -> ThreadDetailRead:
        """From a Thread row and its branch (Thread.messages holds every branch)."""
        base = ThreadRead.model_validate(thread)
        items = [MessageRead.model_validate(message) for message in messages]
        return cls.model_validate({**dict(base), "messages": items})


class MessageBranchesRead(BaseModel):
    """The siblings of a message (same parent, by id) for a "< 2/3 >" switcher;
    active_index points at the sibling on the active branch, if any."""

    message_id: int
    parent_id: int | None
    active_index: int | None
    siblings: list[MessageRead]


class ThreadTreeRead(BaseModel):
    """Every message of a thread, all branches, by id."""

    active_message_id: int | None
    messages: list[MessageRead]


class ThreadFork(BaseModel):
    """Body of POST /api/threads/{id}/fork; a blank title means the default."""

    message_id: DbId
    title: Title | None = None


class ThreadExportRead(ThreadDetailRead):
    """The JSON export: the thread with its active branch (or every message,
    with branches=all) and the leaf of the active branch."""

    active_message_id: int | None
    exported_at: datetime
    format_version: Literal[1] = 1

"""Wire shapes of seed 004's proxy API. Field names are the seed's (``chatId``,
``parentId``, ``olderThan``...); ids travel as strings, as the seed's do."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from aihub.provider_keys.schemas import PoolKeyStatus, PoolStatus
from aihub.threads.schemas import Content, MaxTokens, ModelName, Temperature, Title

MAX_MESSAGES = 1000
MAX_PARTS = 64
IMAGE_URL_MAX = 20_000_000
OWN_FILES_PREFIX = "/api/files/"  # files.service.URL_PREFIX
# 100 years: olderThan beyond this is an error, not a date before year 1.
OLDER_THAN_MAX_MS = 100 * 365 * 24 * 3600 * 1000


def _id_text(value: object) -> object:
    """chatId/parentId: a string as the seed sends it; a JSON number is taken too."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _check_image_url(value: str) -> str:
    """An http(s) URL with a host, a data: URL, or the root-relative link of a
    file uploaded here (``/api/files/{token}``)."""
    if value.startswith("data:"):
        if "," not in value:
            raise ValueError("a data: URL needs a comma before its data")
        return value
    if value.startswith(OWN_FILES_PREFIX) and not any(c.isspace() for c in value):
        return value
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError("image must be an http(s) or data: URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("image must be an http(s) or data: URL")
    if any(ch.isspace() for ch in value):
        raise ValueError("image URL must not contain spaces")
    return value


Ref = Annotated[
    str,
    BeforeValidator(_id_text),
    Field(min_length=1, max_length=64, description="An id from an earlier answer"),
]
ImageUrl = Annotated[
    str,
    Field(min_length=1, max_length=IMAGE_URL_MAX),
    AfterValidator(_check_image_url),
]


# -- requests ---------------------------------------------------------------------


class TextPart(BaseModel):
    type: Literal["text"]
    text: Content


class ImagePart(BaseModel):
    """The seed's image part: {"type": "image", "image": url}."""

    type: Literal["image"]
    image: ImageUrl


class ImageRef(BaseModel):
    url: ImageUrl
    detail: str | None = Field(default=None, max_length=16)


class ImageUrlPart(BaseModel):
    """OpenAI's image part, accepted as well."""

    type: Literal["image_url"]
    image_url: ImageRef


Part = Annotated[TextPart | ImagePart | ImageUrlPart, Field(discriminator="type")]
Parts = Annotated[list[Part], Field(min_length=1, max_length=MAX_PARTS)]


class MessageIn(BaseModel):
    """One OpenAI-format message; ``developer`` is taken as ``system``."""

    role: Literal["system", "developer", "user", "assistant"]
    content: Content | Parts
    name: str | None = Field(default=None, max_length=200)


Messages = Annotated[list[MessageIn], Field(min_length=1, max_length=MAX_MESSAGES)]


class StreamOptions(BaseModel):
    include_usage: bool = False


class _AskFields(BaseModel):
    model: ModelName | None = None
    chatId: Ref | None = None
    parentId: Ref | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    temperature: Temperature | None = None

    @model_validator(mode="after")
    def _parent_needs_chat(self) -> _AskFields:
        if self.parentId is not None and self.chatId is None:
            raise ValueError("parentId continues a chat: give its chatId too")
        return self

    @property
    def output_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class ChatRequest(_AskFields):
    """POST /api/chat: ``message`` (text or parts) or ``messages``."""

    message: Content | Parts | None = None
    messages: Messages | None = None

    @model_validator(mode="after")
    def _one_of_message_or_messages(self) -> ChatRequest:
        if (self.message is None) == (self.messages is None):
            raise ValueError("give either message or messages")
        return self


class CompletionRequest(_AskFields):
    """POST /api/chat/completions: OpenAI's request, plus chatId/parentId."""

    messages: Messages


class ChatCreate(BaseModel):
    name: Title | None = None
    model: ModelName | None = None


class ChatRename(BaseModel):
    name: Title

    @model_validator(mode="after")
    def _not_blank(self) -> ChatRename:
        if not self.name.strip():
            raise ValueError("name must not be blank")
        self.name = self.name.strip()
        return self


class CleanupRequest(BaseModel):
    """POST /api/chats/cleanup; every filter optional. A chat goes when it
    matches ALL the filters given, or is beyond the ``maxChats`` newest."""

    model_config = ConfigDict(extra="forbid")

    olderThan: StrictInt | None = Field(default=None, gt=0, le=OLDER_THAN_MAX_MS)
    userMessageCountLessThan: StrictInt | None = Field(default=None, ge=0)
    messageCountLessThan: StrictInt | None = Field(default=None, ge=0)
    maxChats: StrictInt | None = Field(default=None, gt=0)


# -- responses --------------------------------------------------------------------


class AnswerMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AnswerMessage
    finish_reason: str | None


class UsageBlock(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Completion(BaseModel):
    """OpenAI's chat.completion with the seed's chatId and parentId (the
    answer's id: send it as parentId to continue from this answer)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    provider: str
    choices: list[Choice]
    usage: UsageBlock
    chatId: str
    parentId: str


class ModelEntry(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str
    providers: list[str]
    name: str
    max_tokens: int | None


class ModelList(BaseModel):
    """OpenAI's list shape, so an SDK with base_url .../api lists models."""

    object: Literal["list"] = "list"
    data: list[ModelEntry]


class ProviderStatus(BaseModel):
    """A provider's pool: OK when a key serves now, WAIT (until the first key
    is back) when all usable keys rest, INVALID when every key was rejected."""

    status: PoolStatus
    until: datetime | None = None
    ok: int
    wait: int
    invalid: int


class MediaWorkerStatus(BaseModel):
    status: Literal["ok", "none_seen", "unknown"]
    """``none_seen``: no media worker heartbeat lately, media jobs wait in the
    queue; ``unknown``: Redis does not answer."""
    last_seen_s: float | None
    warning: str | None


class StatusRead(BaseModel):
    """GET /api/status: ``accounts`` as the seed lists them (one per key the
    caller's calls may use) and the summary per provider; ``media_worker`` is
    aihub's addition."""

    authenticated: bool
    accounts: list[PoolKeyStatus]
    providers: dict[str, ProviderStatus]
    media_worker: MediaWorkerStatus | None = None


class ChatCreated(BaseModel):
    chatId: str


class ChatSummary(BaseModel):
    id: str
    name: str
    created: int
    """Milliseconds since the epoch (the unit of cleanup's olderThan)."""
    updated: int
    messageCount: int
    userMessageCount: int
    model: str | None


class ChatList(BaseModel):
    chats: list[ChatSummary]


class HistoryMessage(BaseModel):
    id: str
    parentId: str | None
    role: str
    content: str | list[dict[str, Any]]
    timestamp: int
    """Seconds since the epoch."""
    model: str | None
    status: str


class History(BaseModel):
    id: str
    name: str
    created: int
    messages: list[HistoryMessage]


class ChatDetail(BaseModel):
    chatId: str
    history: History


class DeleteResult(BaseModel):
    success: bool


class RenameResult(BaseModel):
    success: bool
    chatId: str
    name: str


class CleanupResult(BaseModel):
    success: bool
    deletedCount: int
    deletedChats: list[str]

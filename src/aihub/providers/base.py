"""The normalized vocabulary every adapter speaks.

A caller builds one ``ChatRequest`` (messages in OpenAI's shape: content is a
string or a list of ``{"type": "text", "text"}`` / ``{"type": "image_url",
"image_url": {"url"}}`` parts; the system prompt kept apart), picks an adapter
from ``registry`` and either awaits ``complete()`` or iterates ``stream()``:

    async for event in adapter.stream(http, creds, request):
        match event:
            case TextDelta(text=t): ...
            case ToolCallDelta(): ...      # index, id/name on the first part
            case Finish(reason=r): ...     # stop | length | tool_calls | content_filter
            case UsageReport(usage=u): ... # after Finish, when the provider sent it

Failures raise a ``ProviderError`` (tree in ``errors.py``); inside a stream the
error comes after the events already yielded, so the partial text is kept.

Usage follows OpenAI's convention: ``prompt_tokens`` counts every input token
including ``cached_tokens`` (read from the prompt cache) and
``cache_write_tokens``; ``completion_tokens`` includes ``reasoning_tokens``.
Plain slotted dataclasses, not Pydantic: one is built per streamed chunk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from aihub.providers.errors import (
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamQuotaExceeded,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

if TYPE_CHECKING:
    import aiohttp

    from aihub.providers.forward import ForwardResponse
    from aihub.providers.http import Timeouts

__all__ = [
    "Adapter",
    "ChatMessage",
    "ChatRequest",
    "Completion",
    "CompletionBuilder",
    "Credentials",
    "EmbeddingAdapter",
    "Embeddings",
    "Finish",
    "FinishReason",
    "ForwardingAdapter",
    "ProviderError",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "UpstreamAuthFailed",
    "UpstreamBadRequest",
    "UpstreamQuotaExceeded",
    "UpstreamRateLimited",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "Usage",
    "UsageReport",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]
Role = Literal["system", "user", "assistant", "tool"]
Content = str | list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class Credentials:
    """One provider key as plain values; ``repr`` never shows the key.

    settings: azure ``api_version`` and ``deployments`` (model -> deployment),
    anthropic ``anthropic_version`` / ``anthropic_beta``, any provider
    ``headers`` (extra request headers) and ``stream_usage`` (False for an
    OpenAI-compatible server that rejects ``stream_options``)."""

    api_key: str = field(repr=False)
    base_url: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    http: aiohttp.ClientSession | None = field(default=None, repr=False, compare=False)
    """The session every call with this key must use (a user's key: the one
    guarded by the outbound URL policy); None: the caller's. See
    ``http.session_for``."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call; ``arguments`` is the JSON text of the arguments."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class ChatMessage:
    role: Role
    content: Content = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(slots=True)
class ChatRequest:
    """One chat call. ``tools`` are OpenAI function tools
    (``{"type": "function", "function": {"name", "description", "parameters"}}``),
    ``tool_choice`` OpenAI's (``"auto"``, ``"none"``, ``"required"`` or
    ``{"type": "function", "function": {"name"}}``). ``extra`` is merged into
    the body of OpenAI-wire providers (frequency_penalty, logit_bias,
    reasoning_effort...); Anthropic takes only the keys it knows."""

    model: str
    messages: list[ChatMessage]
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    reported: bool = True
    """True when the figures came from the provider, False when counted locally."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of tool call ``index``: id and name on its first piece, then
    fragments of the JSON arguments to concatenate."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class UsageReport:
    usage: Usage


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


StreamEvent = TextDelta | ToolCallDelta | UsageReport | Finish


@dataclass(slots=True)
class Completion:
    text: str
    tool_calls: list[ToolCall]
    usage: Usage | None
    finish_reason: FinishReason
    model: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Embeddings:
    vectors: list[list[float]]
    usage: Usage | None
    model: str
    raw: dict[str, Any] = field(default_factory=dict)


class CompletionBuilder:
    """Folds stream events into a Completion (partial text survives an error)."""

    __slots__ = ("_calls", "_parts", "finish_reason", "model", "usage")

    def __init__(self, model: str = "") -> None:
        self._parts: list[str] = []
        self._calls: dict[int, list[str]] = {}
        self.usage: Usage | None = None
        self.finish_reason: FinishReason = "stop"
        self.model = model

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self._parts.append(event.text)
        elif isinstance(event, ToolCallDelta):
            call = self._calls.setdefault(event.index, ["", "", ""])
            call[0] = event.id or call[0]
            call[1] = event.name or call[1]
            call[2] += event.arguments
        elif isinstance(event, UsageReport):
            self.usage = event.usage
        else:
            self.finish_reason = event.reason

    def add_all(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            self.add(event)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def build(self) -> Completion:
        calls = [ToolCall(*self._calls[i]) for i in sorted(self._calls)]
        return Completion(self.text, calls, self.usage, self.finish_reason, self.model)


class Adapter(Protocol):
    """What every chat provider offers. Adapters hold no state: one instance per
    provider serves every call, with the process's session passed in."""

    @property
    def name(self) -> str: ...
    @property
    def default_base_url(self) -> str | None: ...

    def stream(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: ChatRequest,
        *,
        timeouts: Timeouts | None = None,
    ) -> AsyncGenerator[StreamEvent, None]: ...

    async def complete(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        request: ChatRequest,
        *,
        timeouts: Timeouts | None = None,
    ) -> Completion: ...

    async def list_models(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        *,
        timeouts: Timeouts | None = None,
    ) -> list[str]: ...


class EmbeddingAdapter(Adapter, Protocol):
    """OpenAI-wire providers also embed."""

    async def embed(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        *,
        model: str,
        inputs: list[str],
        dimensions: int | None = None,
        timeouts: Timeouts | None = None,
    ) -> Embeddings: ...


class ForwardingAdapter(Adapter, Protocol):
    """Providers whose raw bytes the gateway passes through; ``wire`` says in
    which format they are (``"openai"`` or ``"anthropic"``)."""

    @property
    def wire(self) -> str: ...

    async def forward(
        self,
        http: aiohttp.ClientSession,
        creds: Credentials,
        path: str,
        body: bytes | None,
        *,
        stream: bool,
        model: str | None = None,
        timeouts: Timeouts | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ForwardResponse: ...

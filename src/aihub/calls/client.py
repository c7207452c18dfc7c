"""The one way every door calls a chat model: targets, the key loop, fallbacks.

    call = llm.stream(user_id=7, target=Target("openai", "gpt-4o"), request=req)
    async for event in call.events(): ...
    call.key_id, call.target, call.ttft_ms  # what served it

- A 429/401/403/402 moves the call to the pool's next key (the pool rests or
  sets aside the one that failed).
- A connection error, a timeout or a 5xx is retried with exponential backoff
  (``retries`` times), on whichever key the pool lends next, but never once an
  event reached the caller: from then on the error is the caller's.
- When the model's own keys cannot serve (no key, all rejected, out of credit,
  all cooling past the wait, or upstream down after the retries), each fallback
  named in ``model_fallbacks`` ("provider/model" -> ["provider/model", ...]) is
  tried in turn, again only before the first event.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace

import aiohttp
import structlog

from aihub.calls.keyloop import call_with_keys, stream_with_keys
from aihub.calls.retry import RetryPolicy
from aihub.catalog import service as catalog_service
from aihub.core.errors import (
    ApiKeyNotFoundError,
    BillingError,
    RateLimitError,
)
from aihub.provider_keys.lease import Lease
from aihub.provider_keys.pool import KeyPool
from aihub.providers.base import (
    ChatRequest,
    Completion,
    ProviderError,
    StreamEvent,
    UpstreamBadRequest,
)
from aihub.providers.http import Timeouts, session_for
from aihub.providers.registry import get_adapter

log = structlog.get_logger(__name__)

# Pool errors: this model's keys cannot serve; a fallback may.
KEY_POOL_ERRORS = (ApiKeyNotFoundError, BillingError, RateLimitError)


@dataclass(frozen=True, slots=True)
class Target:
    """A model as the user names it, with the provider that serves it."""

    provider: str
    model: str

    @property
    def api_model(self) -> str:
        """The catalog's upstream id, for the model's own provider only: a
        server that lists "claude-3-5-haiku" gets that name, not Anthropic's."""
        info = catalog_service.find_model(self.provider, self.model)
        if info is None or info.provider != self.provider:
            return self.model
        return info.api_model

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_target(text: str) -> Target | None:
    provider, sep, model = text.partition("/")
    if not sep or not provider or not model:
        return None
    return Target(provider.strip(), model.strip())


class LlmCall:
    """One logical call (maybe several upstream attempts); its events and what
    served it. Iterate ``events()`` once."""

    def __init__(
        self,
        client: LlmClient,
        *,
        user_id: int,
        targets: Sequence[Target],
        request: ChatRequest,
        wait_s: float | None,
    ) -> None:
        self._client = client
        self._user_id = user_id
        self._targets = targets
        self._request = request
        self._wait_s = wait_s
        self.target = targets[0]
        self.key_id: int | None = None
        self.started = time.monotonic()
        self.first_event_at: float | None = None
        self.attempts = 0

    @property
    def ttft_ms(self) -> int | None:
        if self.first_event_at is None:
            return None
        return int((self.first_event_at - self.started) * 1000)

    @property
    def latency_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        last = len(self._targets) - 1
        for index, target in enumerate(self._targets):
            self.target = target
            try:
                async for event in self._events_of(target):
                    yield event
                return
            except (ProviderError, *KEY_POOL_ERRORS) as exc:
                if self.first_event_at is not None or index == last:
                    raise
                if isinstance(exc, UpstreamBadRequest):
                    raise
                log.warning(
                    "model_fallback",
                    failed=str(target),
                    fallback=str(self._targets[index + 1]),
                    error=str(exc),
                )

    async def complete(self) -> Completion:
        """The whole answer, by the non-streaming endpoint of the provider."""
        last = len(self._targets) - 1
        for index, target in enumerate(self._targets):
            self.target = target
            try:
                return await self._complete_with(target)
            except (ProviderError, *KEY_POOL_ERRORS) as exc:
                if index == last or isinstance(exc, UpstreamBadRequest):
                    raise
                log.warning("model_fallback", failed=str(target), error=str(exc))
        raise AssertionError("unreachable: no target")

    def _on_lease(self, lease: Lease) -> None:
        self.key_id = lease.key_id
        self.attempts += 1

    async def _events_of(self, target: Target) -> AsyncIterator[StreamEvent]:
        client = self._client
        adapter = get_adapter(target.provider)
        request = replace(self._request, model=target.api_model)

        def open_stream(lease: Lease) -> AsyncIterator[StreamEvent]:
            return adapter.stream(
                session_for(client.http, lease.credentials),
                lease.credentials,
                request,
                timeouts=client.timeouts,
            )

        async for event in stream_with_keys(
            client.pool,
            target.provider,
            user_id=self._user_id,
            open_stream=open_stream,
            policy=client.policy,
            wait_s=self._wait_s,
            on_lease=self._on_lease,
            target=str(target),
        ):
            if self.first_event_at is None:
                self.first_event_at = time.monotonic()
            yield event

    async def _complete_with(self, target: Target) -> Completion:
        client = self._client
        adapter = get_adapter(target.provider)
        request = replace(self._request, model=target.api_model)

        async def complete(lease: Lease) -> Completion:
            return await adapter.complete(
                session_for(client.http, lease.credentials),
                lease.credentials,
                request,
                timeouts=client.timeouts,
            )

        completion = await call_with_keys(
            client.pool,
            target.provider,
            user_id=self._user_id,
            fn=complete,
            policy=client.policy,
            wait_s=self._wait_s,
            on_lease=self._on_lease,
            target=str(target),
        )
        self.first_event_at = time.monotonic()
        return completion


class LlmClient:
    """Process-wide (the runtime's ``llm``): the pool, the HTTP session, the
    policy."""

    def __init__(
        self,
        *,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        timeouts: Timeouts,
        retries: int = 2,
        fallbacks: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.pool = pool
        self.http = http
        self.timeouts = timeouts
        self.policy = RetryPolicy(retries=retries)
        self._fallbacks: dict[Target, tuple[Target, ...]] = {}
        for source, targets in (fallbacks or {}).items():
            primary = parse_target(source)
            if primary is None:
                log.warning("model_fallback_ignored", entry=source)
                continue
            parsed = [t for t in map(parse_target, targets) if t is not None]
            self._fallbacks[primary] = tuple(parsed)

    def targets(self, target: Target) -> list[Target]:
        return [target, *self._fallbacks.get(target, ())]

    def stream(
        self,
        *,
        user_id: int,
        target: Target,
        request: ChatRequest,
        wait_s: float | None = None,
    ) -> LlmCall:
        return LlmCall(
            self,
            user_id=user_id,
            targets=self.targets(target),
            request=request,
            wait_s=wait_s,
        )

    def call(
        self,
        *,
        user_id: int,
        targets: Sequence[Target],
        request: ChatRequest,
        wait_s: float | None = None,
    ) -> LlmCall:
        """A call on these targets in order (the first, then its fallbacks)."""
        return LlmCall(
            self, user_id=user_id, targets=targets, request=request, wait_s=wait_s
        )

    async def complete(
        self,
        *,
        user_id: int,
        target: Target,
        request: ChatRequest,
        wait_s: float | None = None,
    ) -> tuple[Completion, LlmCall]:
        call = self.stream(
            user_id=user_id, target=target, request=request, wait_s=wait_s
        )
        return await call.complete(), call

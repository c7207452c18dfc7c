"""Forwarding a request through the key pool, and a filter for the stream.

``open_forward_call`` is LlmCall's policy for raw pass-through: the pool's next
key after a 429/401/403/402, retries with backoff on connection errors and 5xx,
then the model's fallbacks (the body's model is rewritten for them). It returns
once the upstream answered 2xx, before any byte reached the client.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import orjson

from aihub.calls.client import KEY_POOL_ERRORS, LlmClient, Target
from aihub.calls.keyloop import open_with_keys
from aihub.provider_keys.lease import Lease
from aihub.providers.base import ProviderError, UpstreamBadRequest
from aihub.providers.forward import ForwardResponse
from aihub.providers.http import session_for
from aihub.providers.registry import get_forwarding_adapter


async def _forward_once(
    llm: LlmClient,
    target: Target,
    *,
    user_id: int,
    path: str,
    body: bytes,
    stream: bool,
    deadline: float,
    headers: Mapping[str, str] | None,
) -> tuple[ForwardResponse, Lease]:
    adapter = get_forwarding_adapter(target.provider)
    if adapter is None:
        raise UpstreamBadRequest(f"{target.provider} cannot be forwarded to")

    async def forward(lease: Lease) -> ForwardResponse:
        return await adapter.forward(
            session_for(llm.http, lease.credentials),
            lease.credentials,
            path,
            body,
            stream=stream,
            model=target.api_model,
            timeouts=llm.timeouts,
            headers=headers,
        )

    return await open_with_keys(
        llm.pool,
        target.provider,
        user_id=user_id,
        fn=forward,
        policy=llm.policy,
        wait_s=max(0.0, deadline - time.monotonic()),
        target=str(target),
    )


async def open_forward_call(
    llm: LlmClient,
    target: Target,
    *,
    user_id: int,
    path: str,
    body: bytes,
    stream: bool,
    wait_s: float,
    headers: Mapping[str, str] | None = None,
) -> tuple[ForwardResponse, Lease]:
    """Fallbacks whose provider speaks another wire are skipped: the body is
    passed through as it is."""
    deadline = time.monotonic() + wait_s
    wire = _wire(target)
    targets = [t for t in llm.targets(target) if _wire(t) == wire]
    for index, candidate in enumerate(targets):
        payload = body
        if candidate is not target:
            data = orjson.loads(body)
            data["model"] = candidate.api_model
            payload = orjson.dumps(data)
        try:
            return await _forward_once(
                llm,
                candidate,
                user_id=user_id,
                path=path,
                body=payload,
                stream=stream,
                deadline=deadline,
                headers=headers,
            )
        except (ProviderError, *KEY_POOL_ERRORS) as exc:
            if index == len(targets) - 1 or isinstance(exc, UpstreamBadRequest):
                raise
    raise AssertionError("unreachable: no target")


def _wire(target: Target) -> str | None:
    adapter = get_forwarding_adapter(target.provider)
    return adapter.wire if adapter is not None else None


class UsageChunkFilter:
    """Drops the usage-only chunk (``"choices":[]`` with ``"usage"``) from an
    OpenAI SSE stream whose client did not ask for it. Events are cut at blank
    lines; bytes without such a chunk pass with one ``find`` per read."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._buffer + chunk
        end = data.rfind(b"\n\n")
        if end < 0:
            self._buffer = data
            return b""
        complete, self._buffer = data[: end + 2], data[end + 2 :]
        if b'"usage"' not in complete:
            return complete
        kept = [
            event
            for event in complete.split(b"\n\n")
            if not (b'"usage"' in event and b'"choices":[]' in event.replace(b" ", b""))
        ]
        return b"\n\n".join(kept)

    def flush(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest

"""The process's runtime: one typed object, built and torn down by the lifespan
(``aihub.lifecycle.open_runtime``, one ``AsyncExitStack``) and kept on
``app.state.runtime``. Nothing else of the process lives on ``app.state``.

    async def handler(runtime: RuntimeDep) -> ...:      # a route
        async with runtime.sessionmaker() as session: ...
    runtime = runtime_of(websocket)                      # app, request or socket

Its parts are typed here but imported only for the type checker: this module
imports nothing of aihub's domains when it runs, so any domain may import it
(for ``RuntimeDep`` and ``runtime_of``) without a cycle, while
``aihub.lifecycle`` (which imports every domain) builds it. The import-linter
contracts leave type-checking imports out for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    import aiohttp
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from aihub.auth.sso_client import SsoClient
    from aihub.calls.client import LlmClient
    from aihub.core.metrics import HttpMetrics
    from aihub.core.settings import Settings
    from aihub.files.blobs import BlobStore
    from aihub.gateway.keys.runtime import GatewayRuntime
    from aihub.gateway.responses_writer import ResponsesWriter
    from aihub.infra import Infra
    from aihub.infra.outbound import OutboundPolicy
    from aihub.media.runtime import MediaRuntime
    from aihub.provider_keys.discovery import ModelDiscovery
    from aihub.provider_keys.pool import KeyPool
    from aihub.runs.hub import RunHub
    from aihub.usage.writer import RequestLogWriter
    from aihub.voice.runtime import VoiceRuntime


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    secret_key: str
    metrics: HttpMetrics
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    infra: Infra
    """Cache, event bus, limiter and state store (in-process or Redis)."""
    http: aiohttp.ClientSession
    """Calls to configured providers."""
    outbound: OutboundPolicy
    http_guarded: aiohttp.ClientSession
    """Fetches on a user's behalf, through the outbound URL policy."""
    blobs: BlobStore
    key_pool: KeyPool
    discovery: ModelDiscovery
    llm: LlmClient
    gateway: GatewayRuntime
    """Gateway keys: their cache, spend ledger and team budgets."""
    request_log: RequestLogWriter
    responses: ResponsesWriter
    """Stored /v1/responses exchanges, written behind the request."""
    runs: RunHub
    media: MediaRuntime
    voice: VoiceRuntime
    sso: SsoClient


class RuntimeNotStartedError(RuntimeError):
    """The app's lifespan has not built the runtime (or has torn it down)."""


def runtime_of(holder: Starlette | HTTPConnection) -> Runtime:
    """The runtime of an app, or of the app serving a request or a socket
    (for code that has one of those but no dependency injection)."""
    app = holder.app if isinstance(holder, HTTPConnection) else holder
    runtime = getattr(app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeNotStartedError("the app's lifespan has not started")
    return runtime


def _runtime(conn: HTTPConnection) -> Runtime:
    return runtime_of(conn)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]

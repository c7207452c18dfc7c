"""create_app(): wiring only: lifespan, middleware, routers, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import structlog
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from aihub import __version__
from aihub.access.deps import enforce_role_policy
from aihub.admin.router import router as admin_router
from aihub.ask.router import router as ask_router
from aihub.audit.router import router as audit_router
from aihub.auth.router import router as auth_router
from aihub.auth.sso_router import router as sso_router
from aihub.catalog.router import router as catalog_router
from aihub.catalog.router import tokens_router
from aihub.categories.router import router as categories_router
from aihub.chat.router import router as chat_router
from aihub.chat_proxy.router import router as chat_proxy_router
from aihub.core.error_handlers import install_error_handlers
from aihub.core.logging import configure_logging
from aihub.core.metrics import HttpMetrics
from aihub.core.middleware import RequestContextMiddleware
from aihub.core.settings import Settings, get_settings
from aihub.files.router import router as files_router
from aihub.gateway.anthropic_api import router as anthropic_router
from aihub.gateway.fast_lane import GatewayFastLane
from aihub.gateway.keys.router import router as gateway_keys_router
from aihub.gateway.openai_api import router as gateway_openai_router
from aihub.gateway.team_budget import TeamTicketsMiddleware
from aihub.lifecycle import open_runtime
from aihub.media.openai_router import router as media_openai_router
from aihub.media.router import router as media_router
from aihub.ops.router import router as ops_router
from aihub.preferences.router import router as preferences_router
from aihub.prompts.router import router as prompts_router
from aihub.provider_keys.router import admin_router as admin_keys_router
from aihub.provider_keys.router import router as provider_keys_router
from aihub.teams.router import invitations_router
from aihub.teams.router import router as teams_router
from aihub.threads.router import router as threads_router
from aihub.usage.router import router as usage_router
from aihub.users.router import router as users_router
from aihub.voice.gateway_router import router as voice_gateway_router
from aihub.voice.router import router as voice_router
from aihub.voice.router import socket_router as voice_socket_router
from aihub.web.docs import install_offline_docs
from aihub.web.serving import DIST as WEB_DIST
from aihub.web.serving import install_web_app, log_web_app_status

log = structlog.get_logger(__name__)

ROUTERS = (
    ops_router,
    gateway_openai_router,
    auth_router,
    sso_router,
    users_router,
    admin_router,
    audit_router,
    categories_router,
    tokens_router,
    chat_router,
    ask_router,
    threads_router,
    prompts_router,
    preferences_router,
    chat_proxy_router,
    catalog_router,
    provider_keys_router,
    admin_keys_router,
    usage_router,
    gateway_keys_router,
    teams_router,
    invitations_router,
    anthropic_router,
    files_router,
    media_router,
    media_openai_router,
    voice_router,
    voice_socket_router,
    voice_gateway_router,
)


def _lifespan(
    settings: Settings, metrics: HttpMetrics, web_dist: Path
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with open_runtime(settings, metrics=metrics) as runtime:
                app.state.runtime = runtime
                log.info(
                    "aihub_started",
                    version=__version__,
                    sqlite=settings.is_sqlite,
                    redis=settings.redis_url is not None,
                )
                log_web_app_status(web_dist)
                yield
        finally:  # torn down: nothing reaches its closed parts any more
            app.state.runtime = None

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.sentry_dsn:
        import sentry_sdk  # only with a DSN: ~2 MiB and its imports otherwise

        sentry_sdk.init(dsn=settings.sentry_dsn, send_default_pii=False)
    metrics = HttpMetrics()
    web_dist = settings.web_dist_dir or WEB_DIST
    app = FastAPI(
        title="aihub",
        version=__version__,
        description="One API to every language, image, video and speech model.",
        lifespan=_lifespan(settings, metrics, web_dist),
        swagger_ui_parameters={"persistAuthorization": True},
        docs_url=None,  # served offline by install_offline_docs
        redoc_url=None,
        dependencies=[Depends(enforce_role_policy)],  # aihub.access.policy
    )
    install_error_handlers(app)
    app.add_middleware(GatewayFastLane)  # innermost: inside CORS and our context
    app.add_middleware(TeamTicketsMiddleware)  # ends team budget tickets
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "X-Total-Count"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        max_body=settings.max_body_bytes,
    )
    for router in ROUTERS:
        app.include_router(router)
    install_offline_docs(app)
    install_web_app(app, web_dist)  # last: after every API route
    return app

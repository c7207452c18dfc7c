"""create_app(): wiring only: lifespan, middleware, routers, error handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
from aihub.catalog.loader import load_catalog
from aihub.catalog.router import router as catalog_router
from aihub.catalog.router import tokens_router
from aihub.categories.router import router as categories_router
from aihub.chat.llm import LlmClient
from aihub.chat.router import router as chat_router
from aihub.chat_proxy.router import router as chat_proxy_router
from aihub.core.db import PoolLimits, build_engine, build_sessionmaker
from aihub.core.error_handlers import install_error_handlers
from aihub.core.logging import configure_logging
from aihub.core.metrics import GcPauses, HttpMetrics
from aihub.core.middleware import RequestContextMiddleware
from aihub.core.runtime import tune_gc
from aihub.core.security import decoy_password_hash, resolve_secret_key
from aihub.core.settings import Settings, get_settings
from aihub.core.startup_lock import startup_lock
from aihub.files.blobs import close_blob_stores
from aihub.files.router import router as files_router
from aihub.gateway.anthropic_api import router as anthropic_router
from aihub.gateway.fast_lane import GatewayFastLane
from aihub.gateway.keys.router import router as gateway_keys_router
from aihub.gateway.keys.runtime import start_gateway, stop_gateway
from aihub.gateway.openai_api import router as gateway_openai_router
from aihub.gateway.team_budget import TeamTicketsMiddleware
from aihub.infra import build_infra
from aihub.infra.outbound import OutboundPolicy
from aihub.media.openai_router import router as media_openai_router
from aihub.media.router import router as media_router
from aihub.media.runtime import start_media
from aihub.ops.router import router as ops_router
from aihub.preferences.router import router as preferences_router
from aihub.prompts.router import router as prompts_router
from aihub.provider_keys.pool import start_key_pool
from aihub.provider_keys.probe import start_probe
from aihub.provider_keys.router import admin_router as admin_keys_router
from aihub.provider_keys.router import router as provider_keys_router
from aihub.providers.http import (
    Timeouts,
    close_http_session,
    create_guarded_session,
    create_http_session,
)
from aihub.runs.hub import RunHub
from aihub.teams.router import invitations_router
from aihub.teams.router import router as teams_router
from aihub.threads.router import router as threads_router
from aihub.usage.router import router as usage_router
from aihub.usage.writer import RequestLogWriter
from aihub.users import service as users_service
from aihub.users.router import router as users_router
from aihub.voice.gateway_router import router as voice_gateway_router
from aihub.voice.router import router as voice_router
from aihub.voice.router import socket_router as voice_socket_router
from aihub.voice.runtime import start_voice
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


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Prices settled now: a bad AIHUB_PRICE_OVERRIDES stops the start, and the
    # price database is read (once per version) before the first request.
    await asyncio.to_thread(load_catalog)
    app.state.secret_key = resolve_secret_key(settings)
    engine = build_engine(settings.resolved_database_url, PoolLimits.of(settings))
    app.state.engine = engine
    app.state.sessionmaker = build_sessionmaker(engine)
    app.state.infra = await build_infra(settings.redis_url)
    app.state.redis = app.state.infra.redis
    app.state.http = create_http_session()
    app.state.outbound = OutboundPolicy.from_allow(settings.outbound_allow)
    app.state.http_guarded = create_guarded_session(app.state.outbound)
    await start_gateway(app.state)
    async with startup_lock(engine):  # two processes starting together: one admin
        await users_service.bootstrap_admin(app.state.sessionmaker, settings=settings)
    await decoy_password_hash(settings)  # made now, not on the first unknown login
    key_pool = await start_key_pool(
        app.state,
        default_wait_s=settings.key_wait_s,
        default_cooldown_s=settings.key_cooldown_s,
    )
    key_probe = start_probe(app.state, interval_s=settings.key_probe_interval_s)
    app.state.llm = LlmClient(
        pool=key_pool,
        http=app.state.http,
        timeouts=Timeouts(
            connect_s=settings.upstream_connect_timeout_s,
            idle_s=settings.upstream_idle_timeout_s,
        ),
        retries=settings.upstream_retries,
        fallbacks=settings.model_fallbacks,
    )
    chat_runs = RunHub(
        sessionmaker=app.state.sessionmaker,
        events=app.state.infra.events,
        state=app.state.infra.state,
        flush_interval_s=settings.chat_flush_interval_s,
        sweep_every_s=settings.chat_sweep_interval_s if settings.redis_url else None,
        heartbeat_ttl_s=settings.chat_heartbeat_ttl_s,
        heartbeat_every_s=settings.chat_heartbeat_interval_s,
        start_slots=max(1, settings.db_pool_size // 2),
    )
    await chat_runs.start()
    app.state.request_log = RequestLogWriter(app.state.sessionmaker)
    app.state.request_log.start()
    app.state.chat_runs = chat_runs
    app.state.media = await start_media(app.state)
    app.state.voice = await start_voice(app.state)
    gc_pauses = GcPauses(app.state.metrics) if settings.gc_tuning else None
    if gc_pauses is not None:
        tune_gc()
        gc_pauses.install()
    log.info(
        "aihub_started",
        version=__version__,
        sqlite=settings.is_sqlite,
        redis=settings.redis_url is not None,
    )
    log_web_app_status(app.state.web_dist)
    try:
        yield
    finally:
        if gc_pauses is not None:
            gc_pauses.uninstall()
        await app.state.voice.close()
        await app.state.media.close()
        await close_blob_stores()
        await chat_runs.close()
        await app.state.request_log.close()
        key_probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await key_probe
        await key_pool.close()
        await stop_gateway(app.state)
        await close_http_session(app.state.http)
        await close_http_session(app.state.http_guarded)
        await app.state.infra.close()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.sentry_dsn:
        import sentry_sdk  # only with a DSN: ~2 MiB and its imports otherwise

        sentry_sdk.init(dsn=settings.sentry_dsn, send_default_pii=False)
    app = FastAPI(
        title="aihub",
        version=__version__,
        description="One API to every language, image, video and speech model.",
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
        docs_url=None,  # served offline by install_offline_docs
        redoc_url=None,
        dependencies=[Depends(enforce_role_policy)],  # aihub.access.policy
    )
    app.state.settings = settings
    app.state.metrics = HttpMetrics()
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
        metrics=app.state.metrics,
        max_body=settings.max_body_bytes,
    )
    for router in ROUTERS:
        app.include_router(router)
    install_offline_docs(app)
    app.state.web_dist = settings.web_dist_dir or WEB_DIST
    install_web_app(app, app.state.web_dist)  # last: after every API route
    return app

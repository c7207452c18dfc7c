"""Voice sessions: create (with the thread that keeps every word), tokens for
the socket, open on connect, feedback, and the status figures.

A session lives ``voice_session_ttl_s`` (24 h). Its WebSocket URL carries a
short-lived signed token (``voice_token_ttl_s``); a client that dropped gets a
fresh one with POST /api/v1/session/{id}/token (or from ``session.created``)
and reconnects to the same session, thread and dialogue state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from aihub.auth.deps import get_current_user
from aihub.chat.llm import Target
from aihub.chat.targets import resolve_target
from aihub.core.db import utcnow
from aihub.core.pagination import PageParams
from aihub.core.security import sign_token, verify_signed_token
from aihub.gateway.caller import GATEWAY_KEY_PREFIX, Caller, KeyPolicy
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.runtime import runtime_of
from aihub.threads import service as threads_service
from aihub.users import service as users_service
from aihub.users.models import User
from aihub.voice import engines, keys, repository
from aihub.voice.audio import opus_available
from aihub.voice.errors import (
    VoiceEngineUnavailableError,
    VoiceRateLimitError,
    VoiceSessionExpiredError,
    VoiceSessionNotFoundError,
    VoiceTokenInvalidError,
    VoiceTurnNotFoundError,
)
from aihub.voice.models import VoiceFeedback, VoiceSession
from aihub.voice.runtime import VoiceRuntime
from aihub.voice.schemas import (
    FeedbackCreate,
    SessionCreate,
    SessionCreated,
    TokenRead,
)

log = structlog.get_logger(__name__)

TOKEN_PURPOSE = "voice"  # noqa: S105 - a token type, not a secret
VOICE_SOURCE = "voice"
WS_PATH = "/ws/audio"


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """What a socket needs, read once at connect."""

    row: VoiceSession
    user: User
    target: Target
    resumed: bool
    """The session had a socket before (this is a reconnect)."""
    key: KeyPolicy | None = None
    """The policy of the gateway key the session was made with."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def ws_url(base_url: str, token: str) -> str:
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}{WS_PATH}?token={token}"


def socket_token(rt: VoiceRuntime, session_id: str, user_id: int) -> str:
    """A short-lived token that opens the session's socket."""
    return sign_token(
        rt.secret_key,
        TOKEN_PURPOSE,
        {"sid": session_id, "uid": user_id},
        rt.settings.voice_token_ttl_s,
    )


def _token(rt: VoiceRuntime, row: VoiceSession, base_url: str) -> TokenRead:
    ttl = rt.settings.voice_token_ttl_s
    token = socket_token(rt, row.id, row.user_id)
    expires = min(_aware(row.expires_at), utcnow() + timedelta(seconds=ttl))
    return TokenRead(
        ws_url=ws_url(base_url, token), token=token, token_expires_at=expires
    )


async def check_rate(rt: VoiceRuntime, *, key: str, per_minute: int, what: str) -> None:
    result = await rt.infra.limiter.hit(key, limit_per_minute=per_minute)
    if not result.allowed:
        retry = max(1, int(result.reset_after_s + 0.999))
        raise VoiceRateLimitError(
            f"Too many voice {what}: {per_minute} per minute; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )


async def create_session(
    session: AsyncSession,
    rt: VoiceRuntime,
    *,
    user: User,
    gateway_key_id: int | None,
    gateway_rpm: int | None = None,
    gateway_key: KeyPolicy | None = None,
    data: SessionCreate,
    base_url: str,
) -> SessionCreated:
    await check_rate(
        rt,
        key=f"voice:sessions:{user.id}",
        per_minute=rt.settings.voice_sessions_per_minute,
        what="sessions",
    )
    if data.audio_format.encoding == "opus" and not opus_available():
        raise VoiceEngineUnavailableError(
            "Opus needs opuslib and libopus on the server; use encoding pcm16"
        )
    target = await resolve_target(
        session, user=user, provider=data.provider, model=data.model
    )
    await keys.check_session(
        rt.gateway, Caller(user_id=user.id, key=gateway_key), target
    )
    stt = await engines.resolve_stt(
        rt, user_id=user.id, language=data.language, config=data.stt
    )
    tts = await engines.resolve_tts(
        rt, user_id=user.id, language=data.language, config=data.tts
    )
    config = data.model_dump(mode="json", exclude={"stt", "tts", "provider", "model"})
    config.update(
        provider=target.provider,
        model=target.model,
        stt=stt,
        tts=tts,
        gateway_rpm=gateway_rpm,
    )
    thread = await threads_service.add_thread(
        session,
        user_id=user.id,
        title=data.title or "Voice session",
        source=VOICE_SOURCE,
        provider=target.provider,
        model=target.model,
        system_prompt=data.system_prompt,
        temperature=data.temperature,
        max_tokens=data.max_tokens,
    )
    if data.system_prompt:
        await threads_service.add_message(
            session, thread=thread, role="system", content=data.system_prompt
        )
    row = repository.add_session(
        session,
        id=str(uuid.uuid4()),
        user_id=user.id,
        thread_id=thread.id,
        gateway_key_id=gateway_key_id,
        config=config,
        status="created",
        dialogue_state={"pending": None, "completed": []},
        turn_count=0,
        expires_at=utcnow() + timedelta(seconds=rt.settings.voice_session_ttl_s),
    )
    await session.commit()
    log.info("voice_session_created", session_id=row.id, user_id=user.id)
    token = _token(rt, row, base_url)
    return SessionCreated(
        session_id=row.id,
        ws_url=token.ws_url,
        token=token.token,
        token_expires_at=token.token_expires_at,
        expires_at=row.expires_at,
        thread_id=row.thread_id,
    )


async def get_session(
    session: AsyncSession, *, user_id: int, session_id: str
) -> VoiceSession:
    row = await repository.get_session(session, user_id=user_id, session_id=session_id)
    if row is None:
        raise VoiceSessionNotFoundError(session_id)
    return row


def _check_live(row: VoiceSession) -> None:
    if row.status == "ended" or _aware(row.expires_at) <= utcnow():
        raise VoiceSessionExpiredError()


async def issue_token(
    session: AsyncSession,
    rt: VoiceRuntime,
    *,
    user_id: int,
    session_id: str,
    base_url: str,
) -> TokenRead:
    row = await get_session(session, user_id=user_id, session_id=session_id)
    _check_live(row)
    return _token(rt, row, base_url)


def claims_of(rt: VoiceRuntime, token: str) -> tuple[str, int]:
    """(session id, user id) of a valid socket token, else VoiceTokenInvalidError."""
    claims = verify_signed_token(rt.secret_key, TOKEN_PURPOSE, token)
    if claims is None:
        raise VoiceTokenInvalidError()
    sid, uid = claims.get("sid"), claims.get("uid")
    if not isinstance(sid, str) or not isinstance(uid, int):
        raise VoiceTokenInvalidError()
    return sid, uid


async def open_session(
    session: AsyncSession,
    *,
    user_id: int,
    session_id: str,
    gateway: GatewayRuntime | None = None,
) -> OpenedSession:
    """The caller's live session for a socket (404, 410 otherwise), marked active
    (an ended session never is), with its gateway key's current policy."""
    row = await get_session(session, user_id=user_id, session_id=session_id)
    _check_live(row)
    user = await users_service.get_user(session, user_id=user_id)
    if not user.is_active:
        raise VoiceTokenInvalidError()
    resumed = row.last_seen_at is not None
    opened = await repository.update_live_session(
        session, session_id=row.id, status="active", last_seen_at=utcnow()
    )
    if not opened:  # ended meanwhile
        await session.rollback()
        raise VoiceSessionExpiredError()
    key = None
    if row.gateway_key_id is not None and gateway is not None:
        key = await keys.load_policy(
            session, gateway, user_id=user_id, key_id=row.gateway_key_id
        )
    await session.commit()
    config = row.config
    target = Target(config["provider"], config["model"])
    return OpenedSession(row, user, target, resumed, key)


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = conn.headers.get("x-api-key")
    return api_key.strip() if api_key and api_key.strip() else None


async def socket_caller(
    session: AsyncSession,
    conn: HTTPConnection,
    *,
    token: str | None,
    session_id: str | None,
) -> tuple[str, int]:
    """(session id, user id) of a socket: its signed token, or a session id
    with the caller's own credentials (JWT or gateway key) in the headers."""
    runtime = runtime_of(conn)
    if token:
        return claims_of(runtime.voice, token)
    credential = _bearer(conn)
    if not session_id or credential is None:
        raise VoiceTokenInvalidError("Give ?token=, or ?session_id= and credentials")
    if credential.startswith(GATEWAY_KEY_PREFIX):
        caller = await runtime.gateway.authenticate(credential)
        return session_id, caller.user_id
    user = await get_current_user(session, runtime.secret_key, credential)
    return session_id, user.id


async def session_status(session: AsyncSession, *, session_id: str) -> str | None:
    return await repository.get_status(session, session_id=session_id)


async def update_config(
    session: AsyncSession, *, session_id: str, config: dict[str, Any]
) -> None:
    await repository.update_session(session, session_id=session_id, config=config)
    await session.commit()


async def mark_seen(
    session: AsyncSession, *, session_id: str, status: str | None = None
) -> None:
    """Seen now (a socket's status on close): an ended session stays ended."""
    values: dict[str, Any] = {"last_seen_at": utcnow()}
    if status is not None:
        values["status"] = status
        if status == "ended":
            values["ended_at"] = utcnow()
    await repository.update_live_session(session, session_id=session_id, **values)
    await session.commit()


async def end_session(
    session: AsyncSession,
    rt: VoiceRuntime | None = None,
    *,
    user_id: int,
    session_id: str,
) -> None:
    """Ended for good; its open socket (in any process) is closed."""
    row = await get_session(session, user_id=user_id, session_id=session_id)
    if row.status != "ended":
        await repository.update_session(
            session, session_id=row.id, status="ended", ended_at=utcnow()
        )
        await session.commit()
    if rt is not None:
        await rt.end(row.id)


async def add_feedback(
    session: AsyncSession, *, user: User, data: FeedbackCreate
) -> VoiceFeedback:
    row = await get_session(session, user_id=user.id, session_id=data.session_id)
    message_id = None
    if data.turn_id is not None:
        turn = await repository.get_turn(
            session, session_id=row.id, turn_id=data.turn_id
        )
        if turn is None:
            raise VoiceTurnNotFoundError(data.turn_id)
        message_id = turn.message_id
    feedback = repository.add_feedback(
        session,
        user_id=user.id,
        session_id=row.id,
        turn_id=data.turn_id,
        message_id=message_id,
        rating=data.rating,
        comment=data.comment,
        created_at=utcnow(),
    )
    await session.commit()
    return feedback


async def list_feedback(
    session: AsyncSession, *, page: PageParams, session_id: str | None
) -> list[VoiceFeedback]:
    rows = await repository.list_feedback(
        session, skip=page.skip, limit=page.limit, session_id=session_id
    )
    return list(rows)

"""Single sign-on: starting the authorization code flow and finishing it.

The flow's secrets (state, nonce, PKCE verifier) travel in a short-lived
encrypted, HttpOnly cookie bound to the browser that started the flow; the
callback checks the returned state against it (constant time) and spends the
state once (shared state, so a replayed callback fails on every process). The
provider's answer signs the person in to the account linked to that provider
identity; else to the account with the same **verified** email (which it
links); else, when allowed, to a new account. Its groups then set the admin
role (``AIHUB_SSO_ADMIN_GROUPS``) and its SSO team memberships
(``aihub.teams.sso``). Then a session starts.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit import service as audit
from aihub.audit.service import AuditContext
from aihub.auth import repository, sessions
from aihub.auth.errors import (
    SsoAccountRefusedError,
    SsoFailedError,
    SsoProviderNotFoundError,
    SsoStateError,
)
from aihub.auth.sessions import IssuedTokens
from aihub.auth.sso_client import SsoClient, SsoProfile
from aihub.auth.sso_providers import SsoProvider, configured_providers, find_provider
from aihub.core.db import utcnow
from aihub.core.errors import AihubError
from aihub.core.security import SecretBox, constant_time_equals
from aihub.core.settings import Settings
from aihub.infra import Infra
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.state import KeyValueStore
from aihub.teams import service as teams_service
from aihub.teams import sso as teams_sso
from aihub.users import service as users_service
from aihub.users.models import User

log = structlog.get_logger(__name__)

FLOW_TTL_S = 600
FLOW_COOKIE = "aihub_sso"
FLOW_COOKIE_PATH = "/api/auth/oauth"
PARAM_MAX = 2048


@dataclass(frozen=True, slots=True)
class StartedFlow:
    authorization_url: str
    cookie: str


def provider_or_404(settings: Settings, name: str) -> SsoProvider:
    provider = find_provider(settings, name)
    if provider is None:
        raise SsoProviderNotFoundError()
    return provider


async def start_login(
    *,
    name: str,
    redirect_uri: str,
    settings: Settings,
    client: SsoClient,
    secret: str,
) -> StartedFlow:
    """The provider's authorization URL, and the cookie that remembers the flow."""
    provider = provider_or_404(settings, name)
    request = await client.authorization_request(provider, redirect_uri=redirect_uri)
    flow = {
        "p": provider.name,
        "s": request.state,
        "n": request.nonce,
        "v": request.code_verifier,
        "exp": time.time() + FLOW_TTL_S,
    }
    cookie = SecretBox(secret).encrypt(orjson.dumps(flow).decode())
    return StartedFlow(request.url, cookie)


def _open_flow(cookie: str | None, *, secret: str, provider: str) -> dict[str, Any]:
    if not cookie or len(cookie) > PARAM_MAX:
        raise SsoStateError()
    try:
        flow = orjson.loads(SecretBox(secret).decrypt(cookie))
    except (ValueError, orjson.JSONDecodeError):
        raise SsoStateError() from None
    if not isinstance(flow, dict) or flow.get("p") != provider:
        raise SsoStateError()
    if not isinstance(flow.get("exp"), int | float) or flow["exp"] < time.time():
        raise SsoStateError()
    return flow


async def _spend_state(state_store: KeyValueStore, state: str) -> None:
    """Each state signs in once (a replayed callback is refused)."""
    key = "sso:used:" + hashlib.sha256(state.encode()).hexdigest()
    try:
        if await state_store.get_json(key) is not None:
            raise SsoStateError("This sign-in was already completed: start again")
        await state_store.set_json(key, 1, ttl_s=FLOW_TTL_S)
    except BackendUnavailableError:
        # The provider spends the code once anyway; say so and go on.
        log.warning("sso_state_store_unavailable")


def _domain_allowed(settings: Settings, email: str) -> bool:
    if not settings.signup_email_domains:
        return settings.open_registration
    domain = email.rsplit("@", 1)[-1].lower()
    return domain in settings.signup_email_domains


async def _account_for(
    session: AsyncSession,
    profile: SsoProfile,
    *,
    settings: Settings,
    context: AuditContext,
) -> tuple[User, str]:
    """The account to sign in, and how it was found (identity, linked, created)."""
    identity = await repository.get_identity(
        session, provider=profile.provider, subject=profile.subject
    )
    if identity is not None:
        user = await users_service.get_user(session, user_id=identity.user_id)
        identity.email, identity.groups = profile.email, profile.groups
        identity.last_login_at = utcnow()
        return user, "identity"
    if not profile.email or not profile.email_verified:
        raise SsoAccountRefusedError(
            "The sign-in provider did not confirm a verified email address, so "
            "no account can be linked or created"
        )
    user_or_none = await users_service.find_user_by_email(session, email=profile.email)
    how = "linked"
    if user_or_none is None:
        if not _domain_allowed(settings, profile.email):
            raise SsoAccountRefusedError(
                "New accounts are not open to this email address: ask an administrator"
            )
        user_or_none = await users_service.create_sso_user(
            session,
            email=profile.email,
            username_hint=profile.username or profile.email.split("@", 1)[0],
            audit=context,
            provider=profile.provider,
        )
        how = "created"
    repository.add_identity(
        session,
        user_id=user_or_none.id,
        provider=profile.provider,
        subject=profile.subject,
        email=profile.email,
        groups=profile.groups,
    )
    return user_or_none, how


async def _apply_groups(
    session: AsyncSession,
    user: User,
    provider: SsoProvider,
    profile: SsoProfile,
    *,
    settings: Settings,
    context: AuditContext,
) -> bool:
    """The admin role from the groups claim, when the provider sends one and
    admin groups are configured; then the SSO team memberships, from the
    groups of every configured provider the user is linked to (each as sent
    at its last sign-in). Whether any membership changed."""
    if provider.groups_claim and settings.sso_admin_groups:
        is_admin = bool(set(profile.groups) & set(settings.sso_admin_groups))
        await users_service.sync_admin_role(
            session, user=user, is_admin=is_admin, audit=context
        )
    providers = {p.name for p in configured_providers(settings)}
    linked = await groups_of(session, user_id=user.id)
    linked[provider.name] = profile.groups  # a new identity is not flushed yet
    groups = {name: sent for name, sent in linked.items() if name in providers}
    changes = await teams_sso.sync_memberships(
        session, user=user, groups=groups, providers=providers, audit=context
    )
    return bool(changes)


async def _fail(
    session: AsyncSession,
    error: AihubError,
    *,
    provider: str,
    context: AuditContext,
    subject: str | None = None,
) -> AihubError:
    await session.rollback()
    audit.record(
        session,
        action="auth.login.failure",
        actor_id=None,
        context=context,
        detail={
            "method": "sso",
            "provider": provider,
            "reason": error.message,
            "subject": subject,
        },
    )
    await session.commit()
    return error


async def finish_login(
    session: AsyncSession,
    *,
    name: str,
    code: str | None,
    state: str | None,
    error: str | None,
    flow_cookie: str | None,
    redirect_uri: str,
    settings: Settings,
    client: SsoClient,
    infra: Infra,
    secret: str,
    context: AuditContext,
) -> IssuedTokens:
    """Check the callback, ask the provider who signed in, start a session."""
    provider = provider_or_404(settings, name)
    profile: SsoProfile | None = None
    try:
        if error:
            raise SsoFailedError("The sign-in provider refused the sign-in")
        flow = _open_flow(flow_cookie, secret=secret, provider=provider.name)
        if not state or not code or len(code) > PARAM_MAX:
            raise SsoStateError()
        if not constant_time_equals(state, str(flow["s"])):
            raise SsoStateError()
        await _spend_state(infra.state, state)
        if provider.kind == "oidc":
            profile = await client.oidc_profile(
                provider,
                code=code,
                verifier=flow["v"],
                nonce=flow["n"],
                redirect_uri=redirect_uri,
            )
        else:
            profile = await client.oauth_profile(
                provider, code=code, verifier=flow["v"], redirect_uri=redirect_uri
            )
        user, how = await _account_for(
            session, profile, settings=settings, context=context
        )
        if not user.is_active:
            raise SsoAccountRefusedError("This account is deactivated")
        teams_changed = await _apply_groups(
            session, user, provider, profile, settings=settings, context=context
        )
    except AihubError as exc:
        subject = profile.subject if profile else None
        raise await _fail(
            session, exc, provider=provider.name, context=context, subject=subject
        ) from None
    issued = await sessions.start_session(
        session,
        user=user,
        method=provider.name,
        context=context,
        secret=secret,
        settings=settings,
    )
    audit.record(
        session,
        action="auth.login.success",
        actor_id=user.id,
        context=context,
        target_type="user",
        target_id=user.id,
        detail={
            "method": "sso",
            "provider": provider.name,
            "account": how,
            "session_id": issued.session_id,
        },
    )
    try:
        await session.commit()
    except IntegrityError:  # the same identity linked by a concurrent callback
        await session.rollback()
        raise SsoFailedError("Signing in twice at once: try again") from None
    log.info("sso_login_succeeded", user_id=user.id, provider=provider.name, how=how)
    if teams_changed:  # a team key of a team the user left stops at once
        await teams_service.announce(infra)
    return issued


async def groups_of(session: AsyncSession, *, user_id: int) -> dict[str, list[str]]:
    """The groups each linked provider sent at the user's last sign-in through
    it, by provider name (for mapping groups to teams)."""
    return {
        identity.provider: [str(group) for group in identity.groups]
        for identity in await repository.list_identities(session, user_id=user_id)
    }

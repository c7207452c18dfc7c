"""/api/auth/providers and /api/auth/oauth/{name}/*: single sign-on."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse

from aihub.audit.deps import Audit
from aihub.auth import sso
from aihub.auth.cookies import set_refresh_cookie
from aihub.auth.schemas import ProviderRead
from aihub.auth.sso_client import SsoClient
from aihub.auth.sso_providers import configured_providers
from aihub.core.deps import AppSettings, DbSession, SecretKey
from aihub.core.settings import Settings
from aihub.runtime import RuntimeDep, runtime_of

router = APIRouter(prefix="/api/auth", tags=["auth"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
WEB_SIGNED_IN = "/login#sso=ok"

ProviderName = Annotated[str, Path(pattern=r"^[a-z0-9]{1,64}$")]
CallbackParam = Annotated[str | None, Query(max_length=2048)]


def _sso_client(runtime: RuntimeDep) -> SsoClient:
    """One per process, the runtime's (discovery and JWKS caches)."""
    return runtime.sso


Client = Annotated[SsoClient, Depends(_sso_client)]


def _base_url(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


def _redirect_uri(request: Request, settings: Settings, name: str) -> str:
    return f"{_base_url(request, settings)}/api/auth/oauth/{name}/callback"


@router.get(
    "/providers",
    response_model=list[ProviderRead],
    summary="The configured sign-in providers (public)",
)
async def list_providers(settings: AppSettings) -> list[ProviderRead]:
    return [
        ProviderRead(name=p.name, label=p.label, kind=p.kind)
        for p in configured_providers(settings)
    ]


@router.get(
    "/oauth/{name}/login",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "To the provider"},
        401: _ERROR,
        404: _ERROR,
        502: _ERROR,
    },
    summary="Start signing in with a provider (302 to it)",
    description="Authorization code flow with PKCE (S256), state and (OIDC) "
    "nonce, remembered in a short-lived encrypted HttpOnly cookie.",
)
async def oauth_login(
    name: ProviderName,
    request: Request,
    settings: AppSettings,
    secret: SecretKey,
    client: Client,
) -> RedirectResponse:
    flow = await sso.start_login(
        name=name,
        redirect_uri=_redirect_uri(request, settings, name),
        settings=settings,
        client=client,
        secret=secret,
    )
    response = RedirectResponse(flow.authorization_url, status_code=302)
    response.set_cookie(
        sso.FLOW_COOKIE,
        flow.cookie,
        max_age=sso.FLOW_TTL_S,
        path=sso.FLOW_COOKIE_PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",  # it must come back with the provider's redirect
    )
    return response


_CALLBACK_ERRORS: dict[int | str, dict[str, Any]] = {
    302: {"description": "Signed in: to the web app, the session in the cookie"},
    400: _ERROR,
    401: _ERROR,
    403: _ERROR,
    404: _ERROR,
    502: _ERROR,
}


@router.get(
    "/oauth/{name}/callback",
    status_code=302,
    response_class=RedirectResponse,
    responses=_CALLBACK_ERRORS,
    summary="The provider's redirect back: signs in, then 302 to the web app",
    description="On success the refresh token is set as the HttpOnly "
    "`aihub_refresh` cookie and the browser goes to `/login#sso=ok`, where the "
    "web app calls `POST /api/auth/refresh` for its access token: no token "
    "ever appears in a URL. 400 for a wrong or spent state, 401 when the "
    "provider's answer does not verify, 403 when no account may be used, 502 "
    "when the provider cannot be reached.",
)
async def oauth_callback(
    name: ProviderName,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    secret: SecretKey,
    client: Client,
    context: Audit,
    code: CallbackParam = None,
    state: CallbackParam = None,
    error: CallbackParam = None,
) -> RedirectResponse:
    issued = await sso.finish_login(
        session,
        name=name,
        code=code,
        state=state,
        error=error,
        flow_cookie=request.cookies.get(sso.FLOW_COOKIE),
        redirect_uri=_redirect_uri(request, settings, name),
        settings=settings,
        client=client,
        infra=runtime_of(request).infra,
        secret=secret,
        context=context,
    )
    target = (settings.public_url or "").rstrip("/") + WEB_SIGNED_IN
    response = RedirectResponse(target, status_code=302)
    response.delete_cookie(sso.FLOW_COOKIE, path=sso.FLOW_COOKIE_PATH)
    set_refresh_cookie(response, request, token=issued.refresh_token, settings=settings)
    return response

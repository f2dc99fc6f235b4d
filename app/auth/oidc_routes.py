"""Single sign-on pages: start a sign-in at the provider, and its callback."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.exceptions import HTTPException
from starlette.responses import Response

from app.auth import service, sso_service
from app.auth.csrf import verify_csrf
from app.auth.oidc import OidcClient, SsoRefused, SsoUnavailable
from app.auth.routes import (
    _safe_next, client_ip, public_url, render_login, set_session_cookie,
)
from app.auth.sso import ClaimError, parse_identity
from app.db import SessionDep
from app.web.templating import render

router = APIRouter(prefix="/auth/oidc", include_in_schema=False)

STATE_COOKIE = "northstar_oidc_state"
SSO_UNAVAILABLE = ("Single sign-on is unavailable right now: the identity provider cannot be "
                   "reached or is misconfigured. The reason is in Northstar's log.")


def _client(request: Request) -> OidcClient:
    oidc = request.app.state.oidc
    if oidc is None:
        raise HTTPException(404)
    return oidc


def _state_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt="northstar-oidc-state")


def redirect_uri(request: Request) -> str:
    """The callback's address as registered at the provider."""
    return public_url(request, "/auth/oidc/callback")


def _unavailable(request: Request, next_path: str = "/") -> Response:
    return render_login(request, {"next": next_path, "email": "", "sso_error": SSO_UNAVAILABLE},
                        status_code=503)


def _refused(request: Request, exc: SsoRefused, *, consumed: bool) -> Response:
    response = render(request, "auth/sso_refused.html",
                      {"message": exc.message, "status": exc.status_code},
                      status_code=exc.status_code)
    if consumed:
        # A forged answer must not cancel the sign-in this browser really has under way.
        response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
    return response


@router.post("/login", name="auth.oidc_login", dependencies=[Depends(verify_csrf)])
def start(request: Request, session: SessionDep,
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    oidc = _client(request)
    next_path = _safe_next(next)
    try:
        oidc.metadata()
    except SsoUnavailable:
        return _unavailable(request, next_path)
    state, login = sso_service.begin_login(session, next_path=next_path)
    url = oidc.authorization_url(redirect_uri=redirect_uri(request), state=state,
                                 nonce=login.nonce, code_verifier=login.code_verifier)
    response = RedirectResponse(url, status_code=303)
    # Binds the answer to this browser; Lax is sent on the provider's top-level redirect back.
    response.set_cookie(STATE_COOKIE, _state_signer(request).dumps(state), httponly=True,
                        samesite="lax", secure=request.app.state.settings.cookie_secure,
                        max_age=int(sso_service.LOGIN_TTL.total_seconds()), path="/auth/oidc")
    return response


@router.get("/callback", name="auth.oidc_callback")
def callback(request: Request, session: SessionDep, state: str | None = None,
             code: str | None = None, error: str | None = None,
             error_description: str | None = None, iss: str | None = None) -> Response:
    oidc = _client(request)
    identity = login = None
    try:
        cookie_state = None
        if signed := request.cookies.get(STATE_COOKIE):
            try:
                cookie_state = _state_signer(request).loads(
                    signed, max_age=int(sso_service.LOGIN_TTL.total_seconds()))
            except BadData:
                cookie_state = None
        login = sso_service.consume_login(session, state=state, cookie_state=cookie_state)
        if error:
            raise SsoRefused(f"The identity provider did not sign you in: "
                             f"{error_description or error}.", f"provider error {error}: "
                             f"{error_description}")
        # RFC 9207: the answer must come from the provider the sign-in was sent to.
        if iss is not None and iss != oidc.issuer:
            raise SsoRefused("The sign-in answer came from another identity provider.",
                             f"callback iss {iss!r} is not {oidc.issuer!r}")
        if not code:
            raise SsoRefused("The sign-in answer carried no code. Please sign in again.",
                             "callback without code", status_code=400)
        token = oidc.exchange_code(redirect_uri=redirect_uri(request), code=code,
                                   code_verifier=login.code_verifier)
        claims = oidc.validate_id_token(token["id_token"], nonce=login.nonce,
                                        access_token=token.get("access_token"))
        if oidc.groups_claim not in claims and token.get("access_token"):
            # Some providers release groups only at the userinfo endpoint.
            extra = oidc.userinfo(token["access_token"])
            if extra.get("sub") == claims["sub"] and oidc.groups_claim in extra:
                claims[oidc.groups_claim] = extra[oidc.groups_claim]
        try:
            identity = parse_identity(claims, oidc.groups_claim)
        except ClaimError as exc:
            raise SsoRefused(str(exc), f"unusable claims: {exc}") from exc
        user, grant = sso_service.sign_in(session, issuer=oidc.issuer, identity=identity)
    except SsoUnavailable:
        return _unavailable(request)
    except SsoRefused as exc:
        sso_service.record_refusal(
            session, reason=exc.reason, issuer=oidc.issuer,
            subject=identity.subject if identity else None,
            email=identity.email if identity else None)
        return _refused(request, exc, consumed=login is not None)
    raw = service.start_session(
        session, user, ip=client_ip(request), user_agent=request.headers.get("user-agent", ""),
        via_sso=True, details={"via": "sso", "role": grant.role.value,
                               "groups": list(grant.groups)})
    response = RedirectResponse(login.next_path, status_code=303)
    set_session_cookie(request, response, raw)
    response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
    return response


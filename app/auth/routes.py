"""Login and logout pages."""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from app.auth import service
from app.auth.csrf import verify_csrf
from app.auth.cookies import SESSION_COOKIE, session_id_from_cookie, session_signer
from app.auth.deps import OptionalPrincipal
from app.core.errors import TooManyRequests
from app.db import SessionDep
from app.web.templating import flash, render

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never redirect a user to another host after login."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


def public_url(request: Request, path: str) -> str:
    """An absolute address of this app: NORTHSTAR_PUBLIC_URL when set (behind a proxy that
    hides it), else the request's own base URL."""
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + path


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_options(request: Request) -> dict[str, object]:
    """What the login page offers: single sign-on (and whether the provider answers now) and
    the password form (folded away when only break-glass admins may use it)."""
    settings = request.app.state.settings
    oidc = request.app.state.oidc
    return {
        "sso": None if oidc is None else {"name": oidc.provider_name,
                                          "unavailable": oidc.unavailable_reason() is not None},
        "password_login": settings.password_login or oidc is None,
    }


def render_login(request: Request, context: dict[str, object], *,
                 status_code: int = 200) -> Response:
    return render(request, "auth/login.html", login_options(request) | context,
                  status_code=status_code)


@router.get("/login", name="auth.login")
def login_page(request: Request, principal: OptionalPrincipal, next: str = "/") -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render_login(request, {"next": _safe_next(next), "email": ""})


@router.post("/login", name="auth.login_submit", dependencies=[Depends(verify_csrf)])
def login_submit(
    request: Request, session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    settings = request.app.state.settings
    context = {"next": _safe_next(next), "email": email}
    try:
        user = service.authenticate(session, settings, email=email, password=password,
                                    ip=client_ip(request))
    except TooManyRequests as exc:
        response = render_login(request, context | {"error": exc.message}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except service.PasswordLoginDisabled as exc:
        return render_login(request, context | {"error": exc.message}, status_code=403)
    if user is None:
        return render_login(request, context | {"error": service.WRONG_CREDENTIALS},
                            status_code=401)
    raw = service.start_session(session, user, ip=client_ip(request),
                                user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, raw)
    return response


def set_session_cookie(request: Request, response: Response, raw: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE, session_signer(request).dumps(raw), httponly=True,
        samesite=settings.cookie_samesite, secure=settings.cookie_secure,
        max_age=settings.session_absolute_hours * 3600, path="/",
    )


@router.post("/logout", name="auth.logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request, session: SessionDep) -> Response:
    session_id = session_id_from_cookie(request)
    via_sso = service.end_session(session, session_id) if session_id else False
    target = "/login"
    oidc = request.app.state.oidc
    if via_sso and oidc is not None:
        # RP-initiated logout: the provider's session ends too, then it sends the user back.
        target = oidc.end_session_url(
            post_logout_redirect_uri=public_url(request, "/login")) or target
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    flash(request, response, "You are signed out.")
    return response

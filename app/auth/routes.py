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
from app.templating import flash, render

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never redirect a user to another host after login."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", name="auth.login")
def login_page(request: Request, principal: OptionalPrincipal, next: str = "/") -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": _safe_next(next), "email": ""})


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
        response = render(request, "auth/login.html", context | {"error": exc.message},
                          status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    if user is None:
        return render(request, "auth/login.html", context | {"error": service.WRONG_CREDENTIALS},
                      status_code=401)
    raw = service.start_session(session, user, ip=client_ip(request),
                                user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, session_signer(request).dumps(raw), httponly=True,
        samesite=settings.cookie_samesite, secure=settings.cookie_secure,
        max_age=settings.session_absolute_hours * 3600, path="/",
    )
    return response


@router.post("/logout", name="auth.logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request, session: SessionDep) -> Response:
    session_id = session_id_from_cookie(request)
    if session_id:
        service.end_session(session, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    flash(request, response, "You are signed out.")
    return response

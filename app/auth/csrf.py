"""CSRF protection with fastapi-csrf-protect: a signed double-submit cookie.

The token rides in a hidden `csrf_token` field on forms and in the `X-CSRF-Token` header on every
htmx request (set once through `hx-headers` on <body>).
"""

from fastapi import Request
from fastapi_csrf_protect.exceptions import CsrfProtectError
from fastapi_csrf_protect.flexible import CsrfProtect
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.responses import Response

from app.core.errors import PermissionDenied

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_MAX_AGE = 12 * 3600
CSRF_FAILED = "Your form expired or did not come from Northstar. Reload the page and try again."


class NorthstarCsrf(CsrfProtect):
    # Class attributes instead of the library's global load_config(): settings per app.
    _cookie_key = "northstar_csrf"
    _cookie_samesite = "lax"
    _header_name = "X-CSRF-Token"
    _token_key = "csrf_token"
    _httponly = True
    _max_age = CSRF_MAX_AGE


def _secret(request: Request) -> str:
    return request.app.state.secret_key


def csrf_token(request: Request) -> str:
    """The token for this browser: reused from its cookie, or minted (and set by `render`)."""
    token = getattr(request.state, "csrf_token", None)
    if token:
        return token
    csrf = NorthstarCsrf()
    signed = request.cookies.get(csrf._cookie_key)
    if signed:
        try:
            token = URLSafeTimedSerializer(_secret(request), salt="fastapi-csrf-token").loads(
                signed, max_age=CSRF_MAX_AGE // 2
            )
        except BadData:
            token = None
    if not token:
        token, signed = csrf.generate_csrf_tokens(_secret(request))
        request.state.csrf_cookie = signed
    request.state.csrf_token = token
    return token


def set_csrf_cookie(request: Request, response: Response, *, secure: bool) -> None:
    signed = getattr(request.state, "csrf_cookie", None)
    if signed:
        response.set_cookie(
            NorthstarCsrf._cookie_key, signed, max_age=CSRF_MAX_AGE, httponly=True,
            samesite="lax", secure=secure, path="/",
        )


async def verify_csrf(request: Request) -> None:
    """Refuses an unsafe request whose token does not match its cookie."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        await request.form()  # parsed once and cached; the library reads it from there
    elif "x-csrf-token" not in request.headers:
        raise PermissionDenied(CSRF_FAILED)
    try:
        await NorthstarCsrf().validate_csrf(request, secret_key=_secret(request))
    except (CsrfProtectError, ValueError) as exc:  # ValueError: a malformed body
        raise PermissionDenied(CSRF_FAILED) from exc

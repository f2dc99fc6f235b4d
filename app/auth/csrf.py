"""CSRF protection: a token bound to the browser's session, and an Origin check.

Signed in, the token is an HMAC of the session id under the app's secret: a token read in another
browser (another session) is refused here. Before signing in (the login form) there is no session
yet: the token is the one of fastapi-csrf-protect's signed double-submit cookie.

Every unsafe request that a cookie authenticates must also come from one of our own pages: its
`Origin` (or, without one, its `Referer`) must name this host, and a browser's
`Sec-Fetch-Site: cross-site` is refused. Requests that send neither header (scripts, old
clients) still need the token. Bearer-token requests are exempt: a browser never adds that header
by itself (app/auth/deps.py).

The token rides in a hidden `csrf_token` field on forms and in the `X-CSRF-Token` header on every
htmx request (set once through `hx-headers` on <body>).
"""

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request
from fastapi_csrf_protect.exceptions import CsrfProtectError
from fastapi_csrf_protect.flexible import CsrfProtect
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.responses import Response

from app.auth.cookies import session_id_from_cookie
from app.core.errors import PermissionDenied

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_MAX_AGE = 12 * 3600
CSRF_FAILED = "Your form expired or did not come from Northstar. Reload the page and try again."
FOREIGN_ORIGIN = "This request came from another site and was refused."


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


def _session_token(request: Request, session_id: str) -> str:
    mac = hmac.new(_secret(request).encode(), b"northstar-csrf:" + session_id.encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_token(request: Request) -> str:
    """The token for this browser: derived from its session, or (signed out) reused from its
    CSRF cookie, or minted (and set by `render`)."""
    token = getattr(request.state, "csrf_token", None)
    if token:
        return token
    session_id = session_id_from_cookie(request)
    if session_id:
        token = _session_token(request, session_id)
    else:
        token = _anonymous_token(request)
    request.state.csrf_token = token
    return token


def _anonymous_token(request: Request) -> str:
    csrf = NorthstarCsrf()
    signed = request.cookies.get(csrf._cookie_key)
    token = None
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
    return token


def set_csrf_cookie(request: Request, response: Response, *, secure: bool) -> None:
    signed = getattr(request.state, "csrf_cookie", None)
    if signed:
        response.set_cookie(
            NorthstarCsrf._cookie_key, signed, max_age=CSRF_MAX_AGE, httponly=True,
            samesite="lax", secure=secure, path="/",
        )


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True  # not a browser, or one that says nothing: the token decides
    parts = urlsplit(source)
    host = request.headers.get("host", "")
    # `Origin: null` (sandboxed frames, file: pages) has no host and is refused.
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


async def verify_csrf(request: Request) -> None:
    """Refuses an unsafe request from another site, or whose token is not this session's."""
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request):
        raise PermissionDenied(FOREIGN_ORIGIN)
    submitted = request.headers.get("x-csrf-token")
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        try:
            form = await request.form()  # parsed once and cached; the library reads it too
        except ValueError as exc:  # a malformed body
            raise PermissionDenied(CSRF_FAILED) from exc
        if submitted is None:
            field = form.get("csrf_token")
            submitted = field if isinstance(field, str) else None
    if not submitted:
        raise PermissionDenied(CSRF_FAILED)
    session_id = session_id_from_cookie(request)
    if session_id:
        if not hmac.compare_digest(submitted.encode(), _session_token(request, session_id).encode()):
            raise PermissionDenied(CSRF_FAILED)
        return
    try:
        await NorthstarCsrf().validate_csrf(request, secret_key=_secret(request))
    except (CsrfProtectError, ValueError) as exc:  # ValueError: a malformed body
        raise PermissionDenied(CSRF_FAILED) from exc

"""The signed session cookie: read by authentication (deps) and by CSRF, which is bound to it."""

from fastapi import Request
from itsdangerous import BadData, URLSafeTimedSerializer

SESSION_COOKIE = "northstar_session"


def session_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt="northstar-session")


def session_id_from_cookie(request: Request) -> str | None:
    """The session id of a correctly signed cookie; a tampered cookie gives None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    max_age = request.app.state.settings.session_absolute_hours * 3600
    try:
        return session_signer(request).loads(cookie, max_age=max_age)
    except BadData:
        return None

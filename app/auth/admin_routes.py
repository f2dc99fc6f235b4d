"""User and API-token administration (admin, under /settings): create and edit users, their
role, teams and password; create and revoke API tokens.

Plain form posts with Post/Redirect/Get. A refused form is rendered again with 422, the values
as typed and each message beside its field; services validate before they write, so nothing is
stored then.
"""

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth import queries as auth_queries
from app.auth import service as auth_service
from app.auth.deps import Admin
from app.auth.models import ApiToken, Role, User
from app.auth.passwords import MIN_PASSWORD_LENGTH
from app.core.errors import FieldError, ValidationFailed
from app.db import SessionDep
from app.web.forms import (
    Errors, FormDep, admin_field_errors, admin_page, error_context, form_text, form_texts,
    redirect_with_flash,
)
from app.teams import queries as team_queries

# The URLs stay under /settings: users and tokens are part of the admin's settings area.
router = APIRouter(prefix="/settings", include_in_schema=False)

ROLE_OPTIONS = [
    (Role.admin.value, "admin: everything, settings included"),
    (Role.pm.value, "pm: edits its teams' pain points, initiatives, models"),
    (Role.leader.value, "leader: reads everything, exports"),
    (Role.viewer.value, "viewer: reads its own teams' dashboards"),
]


# --- users ------------------------------------------------------------------------------------

USER_FIELDS = ["email", "name", "password", "role", "teams", "is_active"]


def _users_page(request: Request, session: Session, *, values: dict[str, Any] | None = None,
                errors: Errors | None = None, status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=True, with_headcounts=True)
    return admin_page(request, "auth/users.html", {
        "users": auth_queries.list_users(session), "teams": teams, "role_options": ROLE_OPTIONS,
        "min_password": MIN_PASSWORD_LENGTH,
        "values": values or {"role": Role.viewer.value, "teams": []},
        **error_context(errors or {}, USER_FIELDS),
    }, status_code=status_code)


@router.get("/users", name="auth.users")
def users(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _users_page(request, session)


@router.post("/users", name="auth.users_create")
def users_create(request: Request, session: SessionDep, principal: Admin,
                 form: FormDep) -> Response:
    # The password is not echoed back on a refused form.
    values: dict[str, Any] = {f: form_text(form, f) for f in ("email", "name", "role")}
    values["teams"] = form_texts(form, "teams")
    try:
        user = auth_service.create_user(
            session, email=values["email"], password=str(form.get("password") or ""),
            role=values["role"], name=values["name"], team_slugs=values["teams"],
            actor=principal.actor_label, actor_id=principal.user_id,
        )
    except ValidationFailed as exc:
        return _users_page(request, session, values=values, errors=admin_field_errors(exc),
                           status_code=422)
    url = request.app.url_path_for("auth.users")
    return redirect_with_flash(request, url, f"User {user.email} created.")


def _user_edit_page(request: Request, session: Session, user: User, *,
                    values: dict[str, Any] | None = None, errors: Errors | None = None,
                    status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=True, with_headcounts=True)
    if values is None:
        values = {"name": user.name, "role": user.role.value, "is_active": user.is_active,
                  "teams": [t.slug for t in user.teams]}
    return admin_page(request, "auth/user_edit.html", {
        "user": user, "teams": teams, "role_options": ROLE_OPTIONS,
        "min_password": MIN_PASSWORD_LENGTH,
        "values": values, **error_context(errors or {}, USER_FIELDS),
    }, status_code=status_code)


@router.get("/users/{user_id}", name="auth.user_edit")
def user_edit(request: Request, session: SessionDep, principal: Admin, user_id: int) -> Response:
    return _user_edit_page(request, session, auth_queries.get_user_or_404(session, user_id))


@router.post("/users/{user_id}", name="auth.user_update")
def user_update(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                user_id: int) -> Response:
    user = auth_queries.get_user_or_404(session, user_id)
    values: dict[str, Any] = {f: form_text(form, f) for f in ("name", "role")}
    values["teams"] = form_texts(form, "teams")
    values["is_active"] = "is_active" in form
    try:
        auth_service.update_user(session, user, role=values["role"], name=values["name"],
                                 team_slugs=values["teams"], is_active=values["is_active"],
                                 actor=principal)
    except ValidationFailed as exc:
        return _user_edit_page(request, session, user, values=values,
                               errors=admin_field_errors(exc), status_code=422)
    url = request.app.url_path_for("auth.user_edit", user_id=user.id)
    return redirect_with_flash(request, url, f"User {user.email} saved.")


@router.post("/users/{user_id}/password", name="auth.user_password")
def user_password(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                  user_id: int) -> Response:
    user = auth_queries.get_user_or_404(session, user_id)
    try:
        auth_service.change_password(session, user, new_password=str(form.get("password") or ""),
                                     actor=principal.actor_label, actor_id=principal.user_id)
    except ValidationFailed as exc:
        return _user_edit_page(request, session, user, errors=admin_field_errors(exc),
                               status_code=422)
    url = request.app.url_path_for("auth.user_edit", user_id=user.id)
    return redirect_with_flash(
        request, url, f"Password of {user.email} changed; their sessions were ended.")


# --- API tokens -------------------------------------------------------------------------------

TOKEN_FIELDS = ["user", "name", "role", "team"]


def _tokens_page(request: Request, session: Session, *, values: dict[str, str] | None = None,
                 errors: Errors | None = None, created: ApiToken | None = None,
                 secret: str | None = None, status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=False, with_headcounts=True)
    owners = auth_queries.list_users(session, active_only=True)
    response = admin_page(request, "auth/tokens.html", {
        "tokens": auth_queries.list_tokens(session),
        "user_options": [("", "Choose a user")]
        + [(u.email, f"{u.email} ({u.role.value})") for u in owners],
        "role_options": [("", "The role of its user")] + ROLE_OPTIONS,
        "team_options": [("", "Every team its user may see")] + [(t.slug, t.name) for t in teams],
        "values": values or {}, "created": created, "secret": secret,
        **error_context(errors or {}, TOKEN_FIELDS),
    }, status_code=status_code)
    if secret:
        # The one response that carries the secret must not linger in any cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/tokens", name="auth.tokens")
def tokens(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _tokens_page(request, session)


@router.post("/tokens", name="auth.tokens_create")
def tokens_create(request: Request, session: SessionDep, principal: Admin,
                  form: FormDep) -> Response:
    values = {f: form_text(form, f) for f in TOKEN_FIELDS}
    owner = auth_queries.get_user_by_email(session, values["user"], active_only=True)
    try:
        if owner is None:
            raise ValidationFailed([FieldError("user", "choose an active user")])
        token, secret = auth_service.create_api_token(
            session, user=owner, name=values["name"], role=values["role"] or None,
            team_slug=values["team"] or None, actor=principal.actor_label,
            actor_id=principal.user_id,
        )
    except ValidationFailed as exc:
        return _tokens_page(request, session, values=values, errors=admin_field_errors(exc),
                            status_code=422)
    # Shown on this response only: never put into a redirect, a flash message or a cookie.
    return _tokens_page(request, session, created=token, secret=secret)


@router.post("/tokens/{token_id}/revoke", name="auth.token_revoke")
def token_revoke(request: Request, session: SessionDep, principal: Admin,
                 token_id: int) -> Response:
    token = auth_service.revoke_token(session, token_id, actor=principal)
    url = request.app.url_path_for("auth.tokens")
    return redirect_with_flash(request, url, f"Token {token.name} revoked.")

"""Settings › Single sign-on: which identity-provider groups give which role and teams."""

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth import queries as auth_queries
from app.auth import sso_service
from app.auth.admin_routes import ROLE_OPTIONS
from app.auth.deps import Admin
from app.auth.oidc_routes import redirect_uri
from app.core.errors import ValidationFailed
from app.db import SessionDep
from app.web.forms import (
    Errors, FormDep, admin_page, dotted, field_errors, form_text, form_texts, redirect_with_flash,
)
from app.teams import queries as team_queries

router = APIRouter(prefix="/settings/sso", include_in_schema=False)

FIELDS = ["group", "role", "teams"]


def _sso_page(request: Request, session: Session, *, values: dict[str, Any] | None = None,
              errors: Errors | None = None, status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=False, with_headcounts=False)
    return admin_page(request, "settings/sso.html", {
        "mappings": auth_queries.list_sso_mappings(session), "teams": teams,
        "role_options": ROLE_OPTIONS, "oidc": request.app.state.oidc,
        "settings": request.app.state.settings, "redirect_uri": redirect_uri(request),
        "values": values or {"role": "viewer", "teams": []},
        "errors": errors or {},
        "other_errors": [m for f, m in (errors or {}).items() if f not in FIELDS],
    }, status_code=status_code)


@router.get("", name="settings.sso")
def sso(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _sso_page(request, session)


@router.post("", name="settings.sso_map")
def sso_map(request: Request, session: SessionDep, principal: Admin, form: FormDep) -> Response:
    values: dict[str, Any] = {"group": form_text(form, "group"), "role": form_text(form, "role"),
                              "teams": form_texts(form, "teams")}
    try:
        mapping = sso_service.map_group(
            session, group=values["group"], role=values["role"], team_slugs=values["teams"],
            actor=principal.actor_label, actor_id=principal.user_id)
    except ValidationFailed as exc:
        return _sso_page(request, session, values=values, errors=field_errors(exc, dotted),
                         status_code=422)
    return redirect_with_flash(request, request.app.url_path_for("settings.sso"),
                               f"Group {mapping.group_name} now gives {mapping.role.value}.")


@router.post("/unmap", name="settings.sso_unmap")
def sso_unmap(request: Request, session: SessionDep, principal: Admin,
              form: FormDep) -> Response:
    group = form_text(form, "group")
    try:
        sso_service.unmap_group(session, group=group, actor=principal.actor_label,
                                actor_id=principal.user_id)
    except ValidationFailed as exc:
        return _sso_page(request, session, errors=field_errors(exc, dotted), status_code=422)
    return redirect_with_flash(request, request.app.url_path_for("settings.sso"),
                               f"Group {group} no longer gives access.")

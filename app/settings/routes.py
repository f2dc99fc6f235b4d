"""Admin settings pages: teams, personas, users, API tokens, org settings.

Plain form posts with Post/Redirect/Get. A refused form is rendered again with 422, the values
as typed and each message beside its field; services validate before they write, so nothing is
stored then.
"""

import calendar
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.auth import queries as auth_queries
from app.auth import service as auth_service
from app.auth.deps import Admin
from app.auth.models import ApiToken, Role, User
from app.auth.passwords import MIN_PASSWORD_LENGTH
from app.auth.permissions import Principal
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.locking import StaleVersion, form_version
from app.core.types import parse_id
from app.db import SessionDep
from app.web.forms import (
    Errors, FormDep, Loc, conflict_rows, dotted, field_errors, form_text, form_texts,
    redirect_with_flash,
)
from app.settings import service as settings_service
from app.settings.schemas import OrgSettingsUpdate
from app.teams import queries as team_queries
from app.teams import service as team_service
from app.teams.models import Persona, Team
from app.teams.schemas import PersonaCreate, PersonaUpdate, TeamCreate, TeamUpdate
from app.web.templating import render

router = APIRouter(prefix="/settings", include_in_schema=False)


ROLE_OPTIONS = [
    (Role.admin.value, "admin: everything, settings included"),
    (Role.pm.value, "pm: edits its teams' pain points, initiatives, models"),
    (Role.leader.value, "leader: reads everything, exports"),
    (Role.viewer.value, "viewer: reads its own teams' dashboards"),
]
MONTHS = [(str(i), calendar.month_name[i]) for i in range(1, 13)]
# Pydantic's pattern messages quote the regex; say what is expected instead.
PATTERN_HINTS = {
    "slug": "use lowercase letters, digits and single hyphens, e.g. ml-platform",
    "currency": "use a three-letter ISO 4217 currency code, e.g. USD or EUR",
}


# --- helpers ----------------------------------------------------------------------------------


def _field_errors(exc: ValidationError | ValidationFailed,
                  name: Callable[[Loc], str] = dotted) -> Errors:
    """Settings fields are named by their whole location; slugs and codes explain their pattern."""
    return field_errors(exc, name, PATTERN_HINTS)


def _error_context(errors: Errors, fields: Iterable[str]) -> dict[str, Any]:
    """Messages of fields that the form does not show go to the summary above it."""
    shown = set(fields)
    return {"errors": errors, "other_errors": [m for f, m in errors.items() if f not in shown]}


def _page(request: Request, template: str, context: dict[str, Any], *,
          status_code: int = 200) -> Response:
    base = {"path_for": request.app.url_path_for, "errors": {}, "other_errors": [], "values": {}}
    return render(request, template, base | context, status_code=status_code)


def _currency(session: Session) -> str:
    return settings_service.get_org_settings(session).currency


# --- overview ---------------------------------------------------------------------------------


@router.get("", name="settings.index")
def index(request: Request, session: SessionDep, principal: Admin) -> Response:
    org = settings_service.get_org_settings(session)
    return _page(request, "settings/index.html", {"org": org})


# --- teams ------------------------------------------------------------------------------------


def _headcount_form(form: FormData, personas: Sequence[Persona]
                    ) -> tuple[list[dict[str, Any]], list[str], dict[str, dict[str, str]]]:
    """Headcount rows to send, the persona slug of each (to place errors), and the raw values.

    A persona with no people and no override gets no row: the same meaning as a row of zero.
    """
    items, slugs, raw = [], [], {}
    for persona in personas:
        count = form_text(form, f"headcount-{persona.slug}")
        cost = form_text(form, f"hourly_cost-{persona.slug}")
        raw[persona.slug] = {"headcount": count, "hourly_cost": cost}
        if count in ("", "0") and not cost:
            continue
        items.append({"persona": persona.slug, "headcount": count or "0",
                      "hourly_cost": cost or None})
        slugs.append(persona.slug)
    return items, slugs, raw


def _headcount_field(slugs: list[str]) -> Callable[[Loc], str]:
    def name(loc: Loc) -> str:
        if (len(loc) >= 3 and loc[0] == "headcounts" and isinstance(loc[1], int)
                and loc[1] < len(slugs) and loc[2] in ("headcount", "hourly_cost")):
            return f"{loc[2]}-{slugs[loc[1]]}"
        return dotted(loc)
    return name


def _team_fields(personas: Sequence[Persona]) -> list[str]:
    return ["name", "slug", "description"] + [
        f"{column}-{p.slug}" for p in personas for column in ("headcount", "hourly_cost")
    ]


def _typed_version(form: FormData) -> int | None:
    raw = form_text(form, "version")
    return parse_id(raw)


def _team_values(team: Team) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    values = {"name": team.name, "slug": team.slug, "description": team.description}
    headcounts = {
        hp.persona.slug: {"headcount": str(hp.headcount),
                          "hourly_cost": "" if hp.hourly_cost is None else str(hp.hourly_cost)}
        for hp in team.headcounts
    }
    return values, headcounts


def _teams_page(request: Request, session: Session, *, values: dict[str, str] | None = None,
                headcounts: dict[str, dict[str, str]] | None = None, errors: Errors | None = None,
                status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=True, with_headcounts=True)
    personas = team_queries.list_personas(session)
    return _page(request, "settings/teams.html", {
        "teams": teams, "personas": personas, "currency": _currency(session),
        "values": values or {}, "headcounts": headcounts or {},
        **_error_context(errors or {}, _team_fields(personas)),
    }, status_code=status_code)


@router.get("/teams", name="settings.teams")
def teams(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _teams_page(request, session)


@router.post("/teams", name="settings.teams_create")
def teams_create(request: Request, session: SessionDep, principal: Admin,
                 form: FormDep) -> Response:
    personas = team_queries.list_personas(session)
    items, slugs, headcounts = _headcount_form(form, personas)
    values = {f: form_text(form, f) for f in ("name", "slug", "description")}
    try:
        data = TeamCreate(**values, headcounts=items)
        team = team_service.create_team(session, data, actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _teams_page(request, session, values=values, headcounts=headcounts,
                           errors=_field_errors(exc, _headcount_field(slugs)), status_code=422)
    url = request.app.url_path_for("settings.teams")
    return redirect_with_flash(request, url, f"Team {team.name} created.")


def _team_or_404(session: Session, slug: str) -> Team:
    team = team_queries.get_team(session, slug)
    if team is None:
        raise NotFound(f"There is no team '{slug}'.")
    return team


def _team_edit_page(request: Request, session: Session, team: Team, *,
                    values: dict[str, str], headcounts: dict[str, dict[str, str]],
                    errors: Errors | None = None, status_code: int = 200,
                    version: int | None = None, conflict: dict[str, Any] | None = None
                    ) -> Response:
    personas = team_queries.list_personas(session)
    return _page(request, "settings/team_edit.html", {
        "team": team, "personas": personas, "currency": _currency(session),
        "values": values, "headcounts": headcounts,
        "version": team.version if version is None else version, "conflict": conflict,
        **_error_context(errors or {}, _team_fields(personas)),
    }, status_code=status_code)


def _team_flat(values: dict[str, str], headcounts: dict[str, dict[str, str]],
               personas: Sequence[Persona]) -> tuple[dict[str, str], dict[str, str]]:
    """A team's form values as one flat dict, with the labels the conflict notice shows."""
    labels = {"name": "Name", "slug": "Slug", "description": "Description"}
    flat = dict(values)
    for p in personas:
        row = headcounts.get(p.slug, {})
        labels[f"headcount-{p.slug}"] = f"Headcount: {p.name}"
        labels[f"hourly_cost-{p.slug}"] = f"Hourly cost: {p.name}"
        headcount = row.get("headcount", "")
        flat[f"headcount-{p.slug}"] = "" if headcount in ("", "0") else headcount
        flat[f"hourly_cost-{p.slug}"] = _plain_number(row.get("hourly_cost", ""))
    return labels, flat


def _plain_number(value: str) -> str:
    """99.00 and 99 are the same cost: compare numbers as numbers."""
    try:
        return format(Decimal(value).normalize(), "f") if value.strip() else ""
    except ArithmeticError:
        return value


@router.get("/teams/{slug}", name="settings.team_edit")
def team_edit(request: Request, session: SessionDep, principal: Admin, slug: str) -> Response:
    team = _team_or_404(session, slug)
    values, headcounts = _team_values(team)
    return _team_edit_page(request, session, team, values=values, headcounts=headcounts)


@router.post("/teams/{slug}", name="settings.team_update")
def team_update(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                slug: str) -> Response:
    team = _team_or_404(session, slug)
    personas = team_queries.list_personas(session)
    items, slugs, headcounts = _headcount_form(form, personas)
    values = {f: form_text(form, f) for f in ("name", "slug", "description")}
    try:
        version = form_version(form_text(form, "version"))
        data = TeamUpdate(**values, headcounts=items, version=version)
        team_service.update_team(session, team, data, actor=principal, require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        return _team_edit_page(request, session, team, values=values, headcounts=headcounts,
                               errors=_field_errors(exc, _headcount_field(slugs)),
                               version=_typed_version(form), status_code=422)
    except StaleVersion as exc:
        current = _team_or_404(session, slug)
        labels, theirs = _team_flat(*_team_values(current), personas)
        _, yours = _team_flat(values, headcounts, personas)
        # The form now carries their version: saving again is a deliberate overwrite.
        return _team_edit_page(request, session, current, values=values, headcounts=headcounts,
                               version=current.version, status_code=409, conflict={
                                   "message": exc.message,
                                   "rows": conflict_rows(labels, theirs, yours)})
    url = request.app.url_path_for("settings.team_edit", slug=team.slug)
    return redirect_with_flash(request, url, f"Team {team.name} saved.")


def _set_archived(request: Request, session: Session, principal: Principal, slug: str,
                  archived: bool) -> Response:
    team = _team_or_404(session, slug)
    team_service.update_team(session, team, TeamUpdate(is_archived=archived), actor=principal)
    verb = "archived" if archived else "restored"
    url = request.app.url_path_for("settings.team_edit", slug=team.slug)
    return redirect_with_flash(request, url, f"Team {team.name} {verb}.")


@router.post("/teams/{slug}/archive", name="settings.team_archive")
def team_archive(request: Request, session: SessionDep, principal: Admin, slug: str) -> Response:
    return _set_archived(request, session, principal, slug, True)


@router.post("/teams/{slug}/unarchive", name="settings.team_unarchive")
def team_unarchive(request: Request, session: SessionDep, principal: Admin,
                   slug: str) -> Response:
    return _set_archived(request, session, principal, slug, False)


# --- personas ---------------------------------------------------------------------------------


def _personas_page(request: Request, session: Session, *, values: dict[str, str] | None = None,
                   rows: dict[str, dict[str, str]] | None = None, errors: Errors | None = None,
                   status_code: int = 200, conflict: dict[str, Any] | None = None) -> Response:
    personas = team_queries.list_personas(session)
    fields = ["name", "slug", "hourly_cost"] + [
        f"persona-{p.slug}-{f}" for p in personas for f in ("name", "hourly_cost")
    ]
    return _page(request, "settings/personas.html", {
        "personas": personas, "currency": _currency(session), "values": values or {},
        "rows": rows or {}, "conflict": conflict, **_error_context(errors or {}, fields),
    }, status_code=status_code)


@router.get("/personas", name="settings.personas")
def personas(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _personas_page(request, session)


@router.post("/personas", name="settings.personas_create")
def personas_create(request: Request, session: SessionDep, principal: Admin,
                    form: FormDep) -> Response:
    values = {f: form_text(form, f) for f in ("name", "slug", "hourly_cost")}
    try:
        persona = team_service.create_persona(session, PersonaCreate(**values), actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _personas_page(request, session, values=values, errors=_field_errors(exc),
                              status_code=422)
    url = request.app.url_path_for("settings.personas")
    return redirect_with_flash(request, url, f"Persona {persona.name} created.")


@router.post("/personas/{slug}", name="settings.persona_update")
def persona_update(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                   slug: str) -> Response:
    persona = next((p for p in team_queries.list_personas(session) if p.slug == slug), None)
    if persona is None:
        raise NotFound(f"There is no persona '{slug}'.")
    values = {f: form_text(form, f) for f in ("name", "hourly_cost")}
    try:
        version = form_version(form_text(form, "version"))
        team_service.update_persona(session, persona, PersonaUpdate(**values, version=version),
                                    actor=principal, require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        errors = _field_errors(exc, lambda loc: f"persona-{slug}-{dotted(loc)}")
        return _personas_page(request, session, rows={slug: values | {
            "version": form_text(form, "version")}}, errors=errors, status_code=422)
    except StaleVersion as exc:
        current = exc.current
        labels = {"name": f"Name ({current.slug})", "hourly_cost": "Default hourly cost"}
        theirs = {"name": current.name, "hourly_cost": _plain_number(str(current.hourly_cost))}
        yours = {"name": values["name"], "hourly_cost": _plain_number(values["hourly_cost"])}
        # The row now carries their version: saving again is a deliberate overwrite.
        return _personas_page(request, session, rows={slug: values}, status_code=409,
                              conflict={"message": exc.message,
                                        "rows": conflict_rows(labels, theirs, yours)})
    url = request.app.url_path_for("settings.personas")
    return redirect_with_flash(request, url, f"Persona {persona.name} saved.")


# --- users ------------------------------------------------------------------------------------

USER_FIELDS = ["email", "name", "password", "role", "teams", "is_active"]


def _users_page(request: Request, session: Session, *, values: dict[str, Any] | None = None,
                errors: Errors | None = None, status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=True, with_headcounts=True)
    return _page(request, "settings/users.html", {
        "users": auth_queries.list_users(session), "teams": teams, "role_options": ROLE_OPTIONS,
        "min_password": MIN_PASSWORD_LENGTH,
        "values": values or {"role": Role.viewer.value, "teams": []},
        **_error_context(errors or {}, USER_FIELDS),
    }, status_code=status_code)


@router.get("/users", name="settings.users")
def users(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _users_page(request, session)


@router.post("/users", name="settings.users_create")
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
        return _users_page(request, session, values=values, errors=_field_errors(exc),
                           status_code=422)
    url = request.app.url_path_for("settings.users")
    return redirect_with_flash(request, url, f"User {user.email} created.")


def _user_or_404(session: Session, user_id: int) -> User:
    user = auth_queries.get_user(session, user_id)
    if user is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return user


def _user_edit_page(request: Request, session: Session, user: User, *,
                    values: dict[str, Any] | None = None, errors: Errors | None = None,
                    status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=True, with_headcounts=True)
    if values is None:
        values = {"name": user.name, "role": user.role.value, "is_active": user.is_active,
                  "teams": [t.slug for t in user.teams]}
    return _page(request, "settings/user_edit.html", {
        "user": user, "teams": teams, "role_options": ROLE_OPTIONS,
        "min_password": MIN_PASSWORD_LENGTH,
        "values": values, **_error_context(errors or {}, USER_FIELDS),
    }, status_code=status_code)


@router.get("/users/{user_id}", name="settings.user_edit")
def user_edit(request: Request, session: SessionDep, principal: Admin, user_id: int) -> Response:
    return _user_edit_page(request, session, _user_or_404(session, user_id))


@router.post("/users/{user_id}", name="settings.user_update")
def user_update(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                user_id: int) -> Response:
    user = _user_or_404(session, user_id)
    values: dict[str, Any] = {f: form_text(form, f) for f in ("name", "role")}
    values["teams"] = form_texts(form, "teams")
    values["is_active"] = "is_active" in form
    try:
        auth_service.update_user(session, user, role=values["role"], name=values["name"],
                                 team_slugs=values["teams"], is_active=values["is_active"],
                                 actor=principal)
    except ValidationFailed as exc:
        return _user_edit_page(request, session, user, values=values, errors=_field_errors(exc),
                               status_code=422)
    url = request.app.url_path_for("settings.user_edit", user_id=user.id)
    return redirect_with_flash(request, url, f"User {user.email} saved.")


@router.post("/users/{user_id}/password", name="settings.user_password")
def user_password(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                  user_id: int) -> Response:
    user = _user_or_404(session, user_id)
    try:
        auth_service.change_password(session, user, new_password=str(form.get("password") or ""),
                                     actor=principal.actor_label, actor_id=principal.user_id)
    except ValidationFailed as exc:
        return _user_edit_page(request, session, user, errors=_field_errors(exc), status_code=422)
    url = request.app.url_path_for("settings.user_edit", user_id=user.id)
    return redirect_with_flash(
        request, url, f"Password of {user.email} changed; their sessions were ended.")


# --- API tokens -------------------------------------------------------------------------------

TOKEN_FIELDS = ["user", "name", "role", "team"]


def _tokens_page(request: Request, session: Session, *, values: dict[str, str] | None = None,
                 errors: Errors | None = None, created: ApiToken | None = None,
                 secret: str | None = None, status_code: int = 200) -> Response:
    teams, _ = team_queries.list_teams(session, include_archived=False, with_headcounts=True)
    owners = auth_queries.list_users(session, active_only=True)
    response = _page(request, "settings/tokens.html", {
        "tokens": auth_queries.list_tokens(session),
        "user_options": [("", "Choose a user")]
        + [(u.email, f"{u.email} ({u.role.value})") for u in owners],
        "role_options": [("", "The role of its user")] + ROLE_OPTIONS,
        "team_options": [("", "Every team its user may see")] + [(t.slug, t.name) for t in teams],
        "values": values or {}, "created": created, "secret": secret,
        **_error_context(errors or {}, TOKEN_FIELDS),
    }, status_code=status_code)
    if secret:
        # The one response that carries the secret must not linger in any cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/tokens", name="settings.tokens")
def tokens(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _tokens_page(request, session)


@router.post("/tokens", name="settings.tokens_create")
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
        return _tokens_page(request, session, values=values, errors=_field_errors(exc),
                            status_code=422)
    # Shown on this response only: never put into a redirect, a flash message or a cookie.
    return _tokens_page(request, session, created=token, secret=secret)


@router.post("/tokens/{token_id}/revoke", name="settings.token_revoke")
def token_revoke(request: Request, session: SessionDep, principal: Admin,
                 token_id: int) -> Response:
    token = auth_service.revoke_token(session, token_id, actor=principal)
    url = request.app.url_path_for("settings.tokens")
    return redirect_with_flash(request, url, f"Token {token.name} revoked.")


# --- organisation -----------------------------------------------------------------------------

ORG_FIELDS = ["name", "currency", "fiscal_year_start_month", "working_weeks_per_year",
              "working_hours_per_week", "target_lead_time_days", "staleness_days"]


ORG_LABELS = {"name": "Name", "currency": "Currency",
              "fiscal_year_start_month": "Fiscal year starts in",
              "working_weeks_per_year": "Working weeks per year",
              "working_hours_per_week": "Working hours per week",
              "target_lead_time_days": "Target lead time (days)",
              "staleness_days": "Stale after (days)"}


def _org_values(session: Session) -> dict[str, str]:
    org = settings_service.get_org_settings(session)
    return {f: str(getattr(org, f)) for f in ORG_FIELDS}


def _organisation_page(request: Request, session: Session, *,
                       values: dict[str, str] | None = None, errors: Errors | None = None,
                       status_code: int = 200, version: int | None = None,
                       conflict: dict[str, Any] | None = None) -> Response:
    if values is None:
        values = _org_values(session)
    if version is None:
        version = settings_service.get_org_settings(session).version
    return _page(request, "settings/organisation.html", {
        "values": values, "months": MONTHS, "version": version, "conflict": conflict,
        **_error_context(errors or {}, ORG_FIELDS),
    }, status_code=status_code)


@router.get("/organisation", name="settings.organisation")
def organisation(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _organisation_page(request, session)


@router.post("/organisation", name="settings.organisation_update")
def organisation_update(request: Request, session: SessionDep, principal: Admin,
                        form: FormDep) -> Response:
    values = {f: form_text(form, f) for f in ORG_FIELDS}
    try:
        version = form_version(form_text(form, "version"))
        # The model-value thresholds came later: a form without them keeps the stored ones.
        data = OrgSettingsUpdate(**{f: v for f, v in values.items()
                                    if v != "" or f not in ("target_lead_time_days",
                                                            "staleness_days")}, version=version)
        settings_service.update_org_settings(session, data, actor=principal,
                                             require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        return _organisation_page(request, session, values=values, errors=_field_errors(exc),
                                  version=_typed_version(form), status_code=422)
    except StaleVersion as exc:
        months = dict(MONTHS)

        def shown(v: dict[str, str]) -> dict[str, str]:
            return v | {"fiscal_year_start_month": months.get(v["fiscal_year_start_month"],
                                                              v["fiscal_year_start_month"]),
                        "working_weeks_per_year": _plain_number(v["working_weeks_per_year"]),
                        "working_hours_per_week": _plain_number(v["working_hours_per_week"]),
                        "currency": v["currency"].upper()}

        theirs = _org_values(session)
        return _organisation_page(request, session, values=values, status_code=409,
                                  version=exc.current.version, conflict={
                                      "message": exc.message,
                                      "rows": conflict_rows(ORG_LABELS, shown(theirs),
                                                            shown(values))})
    url = request.app.url_path_for("settings.organisation")
    return redirect_with_flash(request, url, "Organisation settings saved.")

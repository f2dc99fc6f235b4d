"""Team and persona pages (admin, under /settings): a team's name, slug, headcount per persona
and hourly-cost overrides; the personas and their default hourly cost.

Plain form posts with Post/Redirect/Get. A refused form is rendered again with 422, the values
as typed and each message beside its field; services validate before they write, so nothing is
stored then.
"""

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.auth.deps import Admin
from app.auth.permissions import Principal
from app.core.errors import ValidationFailed
from app.core.locking import StaleVersion, form_version
from app.db import SessionDep
from app.web.forms import (
    Errors, FormDep, Loc, admin_field_errors, admin_page, conflict_rows, dotted, error_context,
    form_text, plain_number, redirect_with_flash, typed_version,
)
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.teams import service as team_service
from app.teams.models import Persona, Team
from app.teams.schemas import PersonaCreate, PersonaUpdate, TeamCreate, TeamUpdate

# The URLs stay under /settings: teams and personas are part of the admin's settings area.
router = APIRouter(prefix="/settings", include_in_schema=False)


def _currency(session: Session) -> str:
    return get_org_settings(session).currency


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
    return admin_page(request, "teams/index.html", {
        "teams": teams, "personas": personas, "currency": _currency(session),
        "values": values or {}, "headcounts": headcounts or {},
        **error_context(errors or {}, _team_fields(personas)),
    }, status_code=status_code)


@router.get("/teams", name="teams.index")
def index(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _teams_page(request, session)


@router.post("/teams", name="teams.create")
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
                           errors=admin_field_errors(exc, _headcount_field(slugs)), status_code=422)
    url = request.app.url_path_for("teams.index")
    return redirect_with_flash(request, url, f"Team {team.name} created.")


def _team_edit_page(request: Request, session: Session, team: Team, *,
                    values: dict[str, str], headcounts: dict[str, dict[str, str]],
                    errors: Errors | None = None, status_code: int = 200,
                    version: int | None = None, conflict: dict[str, Any] | None = None
                    ) -> Response:
    personas = team_queries.list_personas(session)
    return admin_page(request, "teams/edit.html", {
        "team": team, "personas": personas, "currency": _currency(session),
        "values": values, "headcounts": headcounts,
        "version": team.version if version is None else version, "conflict": conflict,
        **error_context(errors or {}, _team_fields(personas)),
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
        flat[f"hourly_cost-{p.slug}"] = plain_number(row.get("hourly_cost", ""))
    return labels, flat


@router.get("/teams/{slug}", name="teams.edit")
def team_edit(request: Request, session: SessionDep, principal: Admin, slug: str) -> Response:
    team = team_queries.get_or_404(session, slug)
    values, headcounts = _team_values(team)
    return _team_edit_page(request, session, team, values=values, headcounts=headcounts)


@router.post("/teams/{slug}", name="teams.update")
def team_update(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                slug: str) -> Response:
    team = team_queries.get_or_404(session, slug)
    personas = team_queries.list_personas(session)
    items, slugs, headcounts = _headcount_form(form, personas)
    values = {f: form_text(form, f) for f in ("name", "slug", "description")}
    try:
        version = form_version(form_text(form, "version"))
        data = TeamUpdate(**values, headcounts=items, version=version)
        team_service.update_team(session, team, data, actor=principal, require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        return _team_edit_page(request, session, team, values=values, headcounts=headcounts,
                               errors=admin_field_errors(exc, _headcount_field(slugs)),
                               version=typed_version(form), status_code=422)
    except StaleVersion as exc:
        current = team_queries.get_or_404(session, slug)
        labels, theirs = _team_flat(*_team_values(current), personas)
        _, yours = _team_flat(values, headcounts, personas)
        # The form now carries their version: saving again is a deliberate overwrite.
        return _team_edit_page(request, session, current, values=values, headcounts=headcounts,
                               version=current.version, status_code=409, conflict={
                                   "message": exc.message,
                                   "rows": conflict_rows(labels, theirs, yours)})
    url = request.app.url_path_for("teams.edit", slug=team.slug)
    return redirect_with_flash(request, url, f"Team {team.name} saved.")


def _set_archived(request: Request, session: Session, principal: Principal, slug: str,
                  archived: bool) -> Response:
    team = team_queries.get_or_404(session, slug)
    team_service.update_team(session, team, TeamUpdate(is_archived=archived), actor=principal)
    verb = "archived" if archived else "restored"
    url = request.app.url_path_for("teams.edit", slug=team.slug)
    return redirect_with_flash(request, url, f"Team {team.name} {verb}.")


@router.post("/teams/{slug}/archive", name="teams.archive")
def team_archive(request: Request, session: SessionDep, principal: Admin, slug: str) -> Response:
    return _set_archived(request, session, principal, slug, True)


@router.post("/teams/{slug}/unarchive", name="teams.unarchive")
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
    return admin_page(request, "teams/personas.html", {
        "personas": personas, "currency": _currency(session), "values": values or {},
        "rows": rows or {}, "conflict": conflict, **error_context(errors or {}, fields),
    }, status_code=status_code)


@router.get("/personas", name="teams.personas")
def personas(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _personas_page(request, session)


@router.post("/personas", name="teams.personas_create")
def personas_create(request: Request, session: SessionDep, principal: Admin,
                    form: FormDep) -> Response:
    values = {f: form_text(form, f) for f in ("name", "slug", "hourly_cost")}
    try:
        persona = team_service.create_persona(session, PersonaCreate(**values), actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _personas_page(request, session, values=values, errors=admin_field_errors(exc),
                              status_code=422)
    url = request.app.url_path_for("teams.personas")
    return redirect_with_flash(request, url, f"Persona {persona.name} created.")


@router.post("/personas/{slug}", name="teams.persona_update")
def persona_update(request: Request, session: SessionDep, principal: Admin, form: FormDep,
                   slug: str) -> Response:
    persona = team_queries.get_persona_or_404(session, slug)
    values = {f: form_text(form, f) for f in ("name", "hourly_cost")}
    try:
        version = form_version(form_text(form, "version"))
        team_service.update_persona(session, persona, PersonaUpdate(**values, version=version),
                                    actor=principal, require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        errors = admin_field_errors(exc, lambda loc: f"persona-{slug}-{dotted(loc)}")
        return _personas_page(request, session, rows={slug: values | {
            "version": form_text(form, "version")}}, errors=errors, status_code=422)
    except StaleVersion as exc:
        current = exc.current
        labels = {"name": f"Name ({current.slug})", "hourly_cost": "Default hourly cost"}
        theirs = {"name": current.name, "hourly_cost": plain_number(str(current.hourly_cost))}
        yours = {"name": values["name"], "hourly_cost": plain_number(values["hourly_cost"])}
        # The row now carries their version: saving again is a deliberate overwrite.
        return _personas_page(request, session, rows={slug: values}, status_code=409,
                              conflict={"message": exc.message,
                                        "rows": conflict_rows(labels, theirs, yours)})
    url = request.app.url_path_for("teams.personas")
    return redirect_with_flash(request, url, f"Persona {persona.name} saved.")

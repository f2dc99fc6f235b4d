"""Writes of teams and personas; every change is audited."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record, snapshot
from app.auth.permissions import Principal
from app.core.errors import FieldError, ValidationFailed
from app.core.locking import expect_version, flush_or_stale, touch
from app.teams.models import Persona, Team, TeamPersona
from app.teams.schemas import (
    HeadcountIn, PersonaCreate, PersonaUpdate, TeamCreate, TeamUpdate,
)

TEAM_FIELDS = ["name", "slug", "description", "is_archived"]
PERSONA_FIELDS = ["slug", "name", "hourly_cost"]


def _headcount_snapshot(team: Team) -> list[dict[str, str | int | None]]:
    return [
        {"persona": hp.persona.slug, "headcount": hp.headcount,
         "hourly_cost": str(hp.hourly_cost) if hp.hourly_cost is not None else None}
        for hp in sorted(team.headcounts, key=lambda h: h.persona.position)
    ]


def _team_snapshot(team: Team) -> dict:
    return snapshot(team, TEAM_FIELDS) | {"headcounts": _headcount_snapshot(team)}


def _check_unique(session: Session, team: Team | None, name: str | None, slug: str | None,
                  errors: list[FieldError]) -> None:
    own_id = team.id if team else -1
    if name is not None and session.scalar(
        select(Team.id).where(Team.name == name, Team.id != own_id)
    ) is not None:
        errors.append(FieldError("name", f"a team named '{name}' already exists"))
    if slug is not None and session.scalar(
        select(Team.id).where(Team.slug == slug, Team.id != own_id)
    ) is not None:
        errors.append(FieldError("slug", f"the slug '{slug}' is taken by another team"))


def _headcount_rows(session: Session, items: list[HeadcountIn],
                    errors: list[FieldError]) -> list[TeamPersona]:
    personas = {p.slug: p for p in session.scalars(select(Persona))}
    rows, seen = [], set()
    for i, item in enumerate(items):
        persona = personas.get(item.persona)
        if persona is None:
            errors.append(FieldError(f"headcounts.{i}.persona", f"unknown persona '{item.persona}'"))
            continue
        if item.persona in seen:
            errors.append(FieldError(f"headcounts.{i}.persona",
                                     f"persona '{item.persona}' is listed twice"))
            continue
        seen.add(item.persona)
        rows.append(TeamPersona(persona=persona, persona_id=persona.id, headcount=item.headcount,
                                hourly_cost=item.hourly_cost))
    return rows


def create_team(session: Session, data: TeamCreate, *, actor: Principal | None,
                actor_label: str | None = None) -> Team:
    errors: list[FieldError] = []
    _check_unique(session, None, data.name, data.slug, errors)
    rows = _headcount_rows(session, data.headcounts, errors)
    if errors:
        raise ValidationFailed(errors)
    team = Team(name=data.name, slug=data.slug, description=data.description, headcounts=rows)
    session.add(team)
    session.flush()
    record(session, actor=actor.actor_label if actor else actor_label or "system",
           actor_id=actor.user_id if actor else None, action="create", entity="team",
           entity_id=team.id, after=_team_snapshot(team))
    return team


def update_team(session: Session, team: Team, data: TeamUpdate, *, actor: Principal,
                require_version: bool = False) -> Team:
    """Applies the fields that were given; headcounts, when given, replace the whole list.
    A `version` other than the stored one is refused (StaleVersion)."""
    expect_version(team, data.version, "team", required=require_version)
    before = _team_snapshot(team)
    errors: list[FieldError] = []
    _check_unique(session, team, data.name, data.slug, errors)
    rows = _headcount_rows(session, data.headcounts, errors) if data.headcounts is not None else None
    if errors:
        raise ValidationFailed(errors)
    for field in ("name", "slug", "description", "is_archived"):
        value = getattr(data, field)
        if value is not None:
            setattr(team, field, value)
    if rows is not None:
        existing = {hp.persona_id: hp for hp in team.headcounts}
        merged = []
        for row in rows:
            current = existing.get(row.persona_id)
            if current is not None:
                current.headcount, current.hourly_cost = row.headcount, row.hourly_cost
                merged.append(current)
            else:
                merged.append(row)
        team.headcounts = merged
    after = _team_snapshot(team)
    if after != before:
        touch(team, "name")  # headcounts alone are a new version of the team too
    flush_or_stale(session, team, "team")
    if after != before:
        record(session, actor=actor.actor_label, actor_id=actor.user_id, action="update",
               entity="team", entity_id=team.id, before=before, after=after)
    return team


def create_persona(session: Session, data: PersonaCreate, *, actor: Principal) -> Persona:
    errors: list[FieldError] = []
    if session.scalar(select(Persona.id).where(Persona.slug == data.slug)) is not None:
        errors.append(FieldError("slug", f"the slug '{data.slug}' is taken"))
    if session.scalar(select(Persona.id).where(Persona.name == data.name)) is not None:
        errors.append(FieldError("name", f"a persona named '{data.name}' already exists"))
    if errors:
        raise ValidationFailed(errors)
    position = max((p.position for p in session.scalars(select(Persona))), default=0) + 1
    persona = Persona(slug=data.slug, name=data.name, hourly_cost=data.hourly_cost,
                      position=position)
    session.add(persona)
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="create",
           entity="persona", entity_id=persona.id, after=snapshot(persona, PERSONA_FIELDS))
    return persona


def update_persona(session: Session, persona: Persona, data: PersonaUpdate, *,
                   actor: Principal, require_version: bool = False) -> Persona:
    expect_version(persona, data.version, "persona", required=require_version)
    before = snapshot(persona, PERSONA_FIELDS)
    if data.name is not None and data.name != persona.name and session.scalar(
        select(Persona.id).where(Persona.name == data.name)
    ) is not None:
        raise ValidationFailed([FieldError("name", f"a persona named '{data.name}' already exists")])
    if data.name is not None:
        persona.name = data.name
    if data.hourly_cost is not None:
        persona.hourly_cost = data.hourly_cost
    flush_or_stale(session, persona, "persona")
    after = snapshot(persona, PERSONA_FIELDS)
    if after != before:
        record(session, actor=actor.actor_label, actor_id=actor.user_id, action="update",
               entity="persona", entity_id=persona.id, before=before, after=after)
    return persona

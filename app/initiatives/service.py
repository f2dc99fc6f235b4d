"""Writes of initiatives and their links to pain points."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.audit.service import record, snapshot
from app.auth.models import Role
from app.auth.permissions import Principal
from app.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from app.core.locking import expect_version, flush_or_stale, touch
from app.core.clock import utcnow
from app.initiatives import queries
from app.initiatives.models import Initiative, InitiativeLink, InitiativeStatus
from app.initiatives.schemas import InitiativeIn, InitiativePatch, LinkIn
from app.pain_points.models import PainPoint
from app.teams.models import Team

FIELDS = ["team_id", "title", "description", "owner", "status", "one_time_cost",
          "yearly_run_cost", "started_on", "delivered_on", "deleted_at"]
EARLIEST = date(2000, 1, 1)


def _snapshot(initiative: Initiative) -> dict[str, Any]:
    return snapshot(initiative, FIELDS) | {"links": sorted(
        [[link.pain_point_id, str(link.expected_reduction)] for link in initiative.links])}


def may_change(actor: Principal, team: Team | None, reached: frozenset[int]) -> bool:
    """Whether `actor` may create, change, unlink or delete an initiative of `team` (None:
    org-wide) whose links reach the teams `reached` (before and after the change).

    A team's initiative needs edit rights on that team. An org-wide one needs edit rights on
    every team it reaches (an admin has them all), and never a token bound to one team: an
    edit by a PM of one team must not drop or rewrite the others' links."""
    if team is not None:
        return actor.can_edit_team(team.id)
    return (actor.org_wide and actor.role in (Role.admin, Role.pm)
            and actor.can_edit_teams(reached))


def reached_teams(session: Session, initiative: Initiative) -> frozenset[int]:
    """The teams an initiative's links reach now."""
    return frozenset(queries.linked_team_ids(session, [initiative.id])[initiative.id].values())


def _check_write(actor: Principal, team: Team | None,
                 reached: frozenset[int] = frozenset()) -> None:
    if may_change(actor, team, reached):
        return
    if team is not None:
        raise PermissionDenied(f"You may change initiatives of your own teams only, not of "
                               f"{team.name}.")
    if actor.role not in (Role.admin, Role.pm):
        raise PermissionDenied("Only admins and PMs change initiatives.")
    if not actor.org_wide:
        raise PermissionDenied("A token bound to one team may not act on an org-wide "
                               "initiative.")
    raise PermissionDenied("This org-wide initiative reaches teams you are not a member of; "
                           "only a PM of every one of them, or an admin, may change or delete it.")


def _links(session: Session, items: list[LinkIn], team: Team | None, actor: Principal,
           errors: list[FieldError],
           unchanged: frozenset[tuple[int, Any]] = frozenset()) -> list[InitiativeLink]:
    """The links to store. A link kept exactly as it was needs no edit right on its pain
    point's team (a PM may edit an org-wide initiative that also links other teams)."""
    ids = [item.pain_point for item in items]
    found = {p.id: p for p in session.scalars(select(PainPoint).where(PainPoint.id.in_(ids)))}
    links, seen = [], set()
    for i, item in enumerate(items):
        field = f"links.{i}.pain_point"
        pain_point = found.get(item.pain_point)
        if pain_point is None or pain_point.deleted_at is not None:
            errors.append(FieldError(field, f"unknown pain point {item.pain_point}"))
        elif item.pain_point in seen:
            errors.append(FieldError(field, f"pain point {item.pain_point} is linked twice"))
        elif team is not None and pain_point.team_id != team.id:
            errors.append(FieldError(field, f"pain point {item.pain_point} belongs to another "
                                            f"team than the initiative"))
        elif (not actor.can_edit_team(pain_point.team_id)
              and (item.pain_point, item.expected_reduction) not in unchanged):
            errors.append(FieldError(field, f"pain point {item.pain_point} belongs to a team "
                                            "you are not a member of"))
        else:
            links.append(InitiativeLink(pain_point_id=item.pain_point,
                                        expected_reduction=item.expected_reduction))
        seen.add(item.pain_point)
    return links


def _check_dates(values: dict[str, Any], today: date, errors: list[FieldError]) -> None:
    started, delivered = values.get("started_on"), values.get("delivered_on")
    for name, value in (("started_on", started), ("delivered_on", delivered)):
        if value is not None and value < EARLIEST:
            errors.append(FieldError(name, f"cannot be before {EARLIEST.isoformat()}"))
    if started and delivered and delivered < started:
        errors.append(FieldError("delivered_on", "cannot be before the start "
                                                 f"({started.isoformat()})"))
    if delivered and delivered > today:
        errors.append(FieldError("delivered_on", "cannot be in the future"))
    if values.get("status") == InitiativeStatus.delivered and delivered is None:
        errors.append(FieldError("delivered_on", "a delivered initiative needs its delivery date"))


def create_initiative(session: Session, data: InitiativeIn, *, actor: Principal,
                      today: date) -> Initiative:
    errors: list[FieldError] = []
    team = None
    if data.team:
        team = session.scalar(select(Team).where(Team.slug == data.team))
        if team is None:
            raise ValidationFailed([FieldError("team", f"unknown team '{data.team}'")])
    _check_write(actor, team)
    values = data.model_dump(exclude={"team", "links"})
    _check_dates(values, today, errors)
    links = _links(session, data.links, team, actor, errors)
    if errors:
        raise ValidationFailed(errors)
    initiative = Initiative(team_id=team.id if team else None, links=links, **values)
    session.add(initiative)
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="create",
           entity="initiative", entity_id=initiative.id, after=_snapshot(initiative))
    return initiative


def get_initiative(session: Session, initiative_id: int) -> Initiative:
    initiative = session.scalar(select(Initiative).options(selectinload(Initiative.links))
                                .where(Initiative.id == initiative_id,
                                       Initiative.deleted_at.is_(None)))
    if initiative is None:
        raise NotFound(f"no initiative with id {initiative_id}")
    return initiative


def update_initiative(session: Session, initiative: Initiative, data: InitiativePatch, *,
                      actor: Principal, today: date,
                      require_version: bool = False) -> Initiative:
    team = session.get(Team, initiative.team_id) if initiative.team_id else None
    reached = reached_teams(session, initiative)
    if data.links is not None:
        reached |= frozenset(session.scalars(select(PainPoint.team_id).where(
            PainPoint.id.in_([item.pain_point for item in data.links]))))
    _check_write(actor, team, reached)
    expect_version(initiative, data.version, "initiative", required=require_version)
    given = data.model_dump(exclude_unset=True, exclude={"links", "version"})
    values = {name: getattr(initiative, name) for name in FIELDS
              if name in InitiativePatch.model_fields}
    values.update(given)
    errors: list[FieldError] = []
    _check_dates(values, today, errors)
    unchanged = frozenset((link.pain_point_id, link.expected_reduction)
                          for link in initiative.links)
    links = (_links(session, data.links, team, actor, errors, unchanged)
             if data.links is not None else None)
    if errors:
        raise ValidationFailed(errors)
    before = _snapshot(initiative)
    for name, value in given.items():
        setattr(initiative, name, value)
    if links is not None:
        current = {link.pain_point_id: link for link in initiative.links}
        merged = []
        for link in links:
            existing = current.get(link.pain_point_id)
            if existing is not None:
                existing.expected_reduction = link.expected_reduction
                merged.append(existing)
            else:
                merged.append(link)
        initiative.links = merged
    after = _snapshot(initiative)
    if after != before:
        touch(initiative, "title")  # links alone are a new version of the initiative too
    flush_or_stale(session, initiative, "initiative")
    if after != before:
        record(session, actor=actor.actor_label, actor_id=actor.user_id, action="update",
               entity="initiative", entity_id=initiative.id, before=before, after=after)
    return initiative


def delete_initiative(session: Session, initiative: Initiative, *, actor: Principal) -> None:
    team = session.get(Team, initiative.team_id) if initiative.team_id else None
    _check_write(actor, team, reached_teams(session, initiative))
    before = _snapshot(initiative)
    initiative.deleted_at = utcnow()
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="delete",
           entity="initiative", entity_id=initiative.id, before=before,
           after=_snapshot(initiative))

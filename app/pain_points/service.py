"""Writes of pain points and confirmations, with every rule of docs/product.md's "Bad input"."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit.models import AuditEntry
from app.audit.service import record, snapshot
from app.auth.permissions import Principal
from app.core import derived
from app.core.bulk import insert_rows
from app.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from app.core.words import common_noun
from app.core.clock import utcnow
from app.pain_points import summary
from app.pain_points.models import (
    MAX_WEEKLY_HOURS, Confirmation, PainPoint, PainPointKind, PainPointStatus,
)
from app.pain_points.schemas import ConfirmationIn, PainPointIn, PainPointPatch
from app.teams.models import Persona, Stage, Team, TeamPersona

EARLIEST = date(2000, 1, 1)
FIELDS = ["team_id", "persona_id", "stage_id", "title", "description", "evidence", "kind",
          "hours_low", "hours_likely", "hours_high", "people_affected", "status",
          "observed_since", "resolved_on", "deleted_at"]
NULLABLE = {"people_affected", "resolved_on", "description", "evidence"}
EDITABLE = ["title", "description", "evidence", "kind", "hours_low", "hours_likely",
            "hours_high", "people_affected", "status", "observed_since", "resolved_on"]


class StaleEdit(Conflict):
    """Someone saved the pain point after the editor loaded it; nothing was overwritten."""

    def __init__(self, current: PainPoint) -> None:
        super().__init__(
            f"Someone else saved this pain point (now version {current.version}) after you "
            "opened it. Review their changes and save again.", field="version")
        self.current = current


def _lookup(session: Session, model: Any, value: str, field: str,
            errors: list[FieldError]) -> Any:
    """By slug, or by name ignoring case (CSV files name things as people write them)."""
    found = session.scalar(select(model).where(
        or_(model.slug == value, func.lower(model.name) == value.strip().lower())))
    if found is None:
        errors.append(FieldError(field, f"unknown {field} '{value}'"))
    return found


def headcount(session: Session, team_id: int, persona_id: int) -> int:
    return session.scalar(select(TeamPersona.headcount).where(
        TeamPersona.team_id == team_id, TeamPersona.persona_id == persona_id)) or 0


@dataclass
class _Values:
    team: Team | None
    persona: Persona | None
    stage: Stage | None
    fields: dict[str, Any]


class Lookups:
    """`_lookup` and `headcount` answered once per distinct value: an import of thousands of
    rows naming a handful of teams asks the database a handful of times."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._found: dict[tuple[Any, str], Any] = {}
        self._headcounts: dict[tuple[int, int], int] = {}

    def find(self, model: Any, value: str, field: str, errors: list[FieldError]) -> Any:
        key = (model, value)
        if key not in self._found:
            self._found[key] = _lookup(self.session, model, value, field, [])
        found = self._found[key]
        if found is None:
            errors.append(FieldError(field, f"unknown {field} '{value}'"))
        return found

    def headcount(self, _session: Session, team_id: int, persona_id: int) -> int:
        key = (team_id, persona_id)
        if key not in self._headcounts:
            self._headcounts[key] = headcount(self.session, team_id, persona_id)
        return self._headcounts[key]


def _validate(session: Session, values: _Values, today: date, errors: list[FieldError],
              headcount_of: Callable[[Session, int, int], int] = headcount) -> None:
    f = values.fields
    if values.team is not None and values.team.is_archived:
        errors.append(FieldError("team", f"team '{values.team.slug}' is archived"))
    low, likely, high = f["hours_low"], f["hours_likely"], f["hours_high"]
    if low > likely:
        errors.append(FieldError("hours_likely", f"must be at least the low estimate ({low} h)"))
    if likely > high:
        errors.append(FieldError("hours_high", f"must be at least the likely estimate ({likely} h)"))
    if f["kind"] == PainPointKind.recurring:
        for name in ("hours_low", "hours_likely", "hours_high"):
            if f[name] > MAX_WEEKLY_HOURS:
                errors.append(FieldError(name, f"more hours per week than a week has "
                                               f"({MAX_WEEKLY_HOURS})"))
    if f["people_affected"] is None and values.team and values.persona:
        count = headcount_of(session, values.team.id, values.persona.id)
        if count < 1:
            errors.append(FieldError(
                "people_affected",
                f"{values.team.name} has no {common_noun(values.persona.name)} headcount; "
                "enter how many people are affected"))
        f["people_affected"] = count
    observed = f["observed_since"]
    if observed > today:
        errors.append(FieldError("observed_since", "cannot be in the future"))
    elif observed < EARLIEST:
        errors.append(FieldError("observed_since", f"cannot be before {EARLIEST.isoformat()}"))
    resolved = f["resolved_on"]
    if f["status"] == PainPointStatus.resolved:
        if resolved is None:
            errors.append(FieldError("resolved_on", "a resolved pain point needs the date it was "
                                                    "resolved"))
        elif resolved > today:
            errors.append(FieldError("resolved_on", "cannot be in the future"))
        elif resolved < observed:
            errors.append(FieldError("resolved_on", "cannot be before observed since "
                                                    f"({observed.isoformat()})"))
    elif resolved is not None:
        errors.append(FieldError("resolved_on", "only a resolved pain point has a resolved date"))


def _check_can_edit(actor: Principal, team: Team | None) -> None:
    if team is not None and not actor.can_edit_team(team.id):
        raise PermissionDenied(f"You may change pain points of your own teams only, "
                               f"not of {team.name}.")


def _new_pain_point(session: Session, data: PainPointIn, *, actor: Principal, today: date,
                    lookups: Lookups) -> PainPoint:
    """A valid new pain point, not yet added; raises ValidationFailed / PermissionDenied."""
    errors: list[FieldError] = []
    team = lookups.find(Team, data.team, "team", errors)
    persona = lookups.find(Persona, data.persona, "persona", errors)
    stage = lookups.find(Stage, data.stage, "stage", errors)
    _check_can_edit(actor, team)
    fields = data.model_dump(exclude={"team", "persona", "stage"})
    fields["observed_since"] = fields["observed_since"] or today
    values = _Values(team, persona, stage, fields)
    if team and persona and stage:
        _validate(session, values, today, errors, lookups.headcount)
    if errors:
        raise ValidationFailed(errors)
    return PainPoint(team_id=team.id, persona_id=persona.id, stage_id=stage.id,
                     reporter_id=actor.user_id, **values.fields)


def create_pain_point(session: Session, data: PainPointIn, *, actor: Principal,
                      today: date) -> PainPoint:
    pain_point = _new_pain_point(session, data, actor=actor, today=today,
                                 lookups=Lookups(session))
    session.add(pain_point)
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="create",
           entity="pain_point", entity_id=pain_point.id, after=snapshot(pain_point, FIELDS))
    return pain_point


def check_pain_points(session: Session, rows: Sequence[tuple[int, PainPointIn]], *,
                      actor: Principal, today: date
                      ) -> tuple[list[PainPoint], dict[int, list[FieldError]]]:
    """Every row validated as `create_pain_point` would, without writing: the new pain points
    of the valid rows, and the errors of the others by line (a refused team names `team`)."""
    lookups = Lookups(session)
    made: list[PainPoint] = []
    refused: dict[int, list[FieldError]] = {}
    for line, data in rows:
        try:
            made.append(_new_pain_point(session, data, actor=actor, today=today, lookups=lookups))
        except ValidationFailed as exc:
            refused[line] = list(exc.errors)
        except PermissionDenied as exc:
            refused[line] = [FieldError("team", exc.message)]
    return made, refused


# Rows per INSERT batch of an import: each flush sends them as a few multi-row statements.
BATCH = 1000


# The columns a new pain point is given (the others take their defaults).
_NEW_COLUMNS = ["team_id", "persona_id", "stage_id", "reporter_id", "title", "description",
                "evidence", "kind", "hours_low", "hours_likely", "hours_high",
                "people_affected", "status", "observed_since", "resolved_on"]


def add_pain_points(session: Session, made: Sequence[PainPoint], *, actor: Principal,
                    progress: Callable[[int], None] | None = None) -> list[int]:
    """Stores pain points `check_pain_points` made, `BATCH` rows at a time (app/core/bulk.py),
    each row with its audit entry. The stored quarter totals get the new rows' figures added
    once, when the caller's transaction commits (summary.Added). Returns the new ids."""
    session.flush()
    ids: list[int] = []
    for start in range(0, len(made), BATCH):
        batch = made[start:start + BATCH]
        now = utcnow()
        rows = [{name: getattr(p, name) for name in _NEW_COLUMNS} for p in batch]
        for row in rows:
            row.update(description=row["description"] or "", evidence=row["evidence"] or "",
                       version=1, created_at=now, updated_at=now)
        connection = session.connection()
        new = insert_rows(connection, PainPoint.__table__, rows, returning_ids=True)
        insert_rows(connection, AuditEntry.__table__, [
            {"at": now, "actor": actor.actor_label, "actor_id": actor.user_id,
             "action": "create", "entity_type": "pain_point", "entity_id": str(pain_point_id),
             "before": None, "after": {**snapshot(p, FIELDS), "deleted_at": None}}
            for pain_point_id, p in zip(new, batch, strict=True)])
        derived.mark(session, summary.KEPT.name, {summary.Added(tuple(
            (pain_point_id, p.team_id, p.persona_id, p.stage_id)
            for pain_point_id, p in zip(new, batch, strict=True)))})
        ids += new
        if progress is not None:
            progress(start + len(batch))
    return ids


def update_pain_point(session: Session, pain_point: PainPoint, patch: PainPointPatch, *,
                      actor: Principal, today: date) -> PainPoint:
    """Applies the fields given. A `version` other than the stored one is refused (StaleEdit)."""
    if pain_point.deleted_at is not None:
        raise NotFound(f"pain point {pain_point.id} was deleted")
    current_team = session.get(Team, pain_point.team_id)
    _check_can_edit(actor, current_team)
    if patch.version is None:
        # Every editor says which version it saw: without it a stale save would overwrite.
        raise ValidationFailed([FieldError("version", "required: the version you edited")])
    if patch.version != pain_point.version:
        raise StaleEdit(pain_point)
    given = patch.model_dump(exclude_unset=True, exclude={"version"})
    errors: list[FieldError] = [FieldError(name, "cannot be empty") for name, value in given.items()
                                if value is None and name not in NULLABLE]
    team = (_lookup(session, Team, given["team"], "team", errors) if "team" in given
            else current_team)
    persona = (_lookup(session, Persona, given["persona"], "persona", errors)
               if "persona" in given else session.get(Persona, pain_point.persona_id))
    stage = (_lookup(session, Stage, given["stage"], "stage", errors) if "stage" in given
             else session.get(Stage, pain_point.stage_id))
    if team is not None and team is not current_team:
        _check_can_edit(actor, team)
    fields = {name: getattr(pain_point, name) for name in EDITABLE}
    fields.update({k: v for k, v in given.items() if k in EDITABLE})
    if "status" in given and given["status"] != PainPointStatus.resolved and (
        "resolved_on" not in given
    ):
        fields["resolved_on"] = None  # reopening clears the old resolution date
    if fields["people_affected"] is None or (
        ("team" in given or "persona" in given) and "people_affected" not in given
    ):
        fields["people_affected"] = None  # follows the (new) team's headcount
    if errors:  # a cleared field or an unknown reference: the rules below need every value
        raise ValidationFailed(errors)
    values = _Values(team, persona, stage, fields)
    _validate(session, values, today, errors)
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(pain_point, FIELDS)
    pain_point.team_id, pain_point.persona_id, pain_point.stage_id = team.id, persona.id, stage.id
    for name, value in values.fields.items():
        setattr(pain_point, name, value)
    _flush_or_conflict(session, pain_point)
    after = snapshot(pain_point, FIELDS)
    if after != before:
        record(session, actor=actor.actor_label, actor_id=actor.user_id, action="update",
               entity="pain_point", entity_id=pain_point.id, before=before, after=after)
    return pain_point


def _flush_or_conflict(session: Session, pain_point: PainPoint) -> None:
    try:
        session.flush()
    except StaleDataError as exc:  # another transaction saved between our read and write
        session.rollback()
        fresh = session.get(PainPoint, pain_point.id, populate_existing=True)
        raise StaleEdit(fresh or pain_point) from exc


def set_deleted(session: Session, pain_point: PainPoint, *, deleted: bool,
                actor: Principal) -> PainPoint:
    """Soft delete (and undo): a deleted pain point counts nowhere but can come back."""
    _check_can_edit(actor, session.get(Team, pain_point.team_id))
    if (pain_point.deleted_at is not None) == deleted:
        return pain_point
    before = snapshot(pain_point, FIELDS)
    pain_point.deleted_at = utcnow() if deleted else None
    _flush_or_conflict(session, pain_point)
    record(session, actor=actor.actor_label, actor_id=actor.user_id,
           action="delete" if deleted else "restore", entity="pain_point",
           entity_id=pain_point.id, before=before, after=snapshot(pain_point, FIELDS))
    return pain_point


def confirm(session: Session, pain_point: PainPoint, data: ConfirmationIn, *,
            actor: Principal) -> Confirmation:
    """"This hits me too": one confirmation per person, by members of the affected team."""
    if pain_point.deleted_at is not None:
        raise NotFound(f"pain point {pain_point.id} was deleted")
    if actor.via_token:
        # A confirmation is one person's own estimate; a token speaks for a pipeline.
        raise PermissionDenied("An API token cannot confirm a pain point: a confirmation is "
                               "a person's own estimate, given signed in.")
    if pain_point.team_id not in actor.team_ids:
        raise PermissionDenied("Only members of the affected team can confirm a pain point.")
    if pain_point.kind == PainPointKind.recurring and data.hours > MAX_WEEKLY_HOURS:
        raise ValidationFailed([FieldError("hours", f"more hours per week than a week has "
                                                    f"({MAX_WEEKLY_HOURS})")])
    existing = session.scalar(select(Confirmation).where(
        Confirmation.pain_point_id == pain_point.id, Confirmation.user_id == actor.user_id))
    # The audit says who confirmed, never with what hours: no answer can be singled out.
    before = {"confirmed": True} if existing else None
    if existing is None:
        existing = Confirmation(pain_point_id=pain_point.id, user_id=actor.user_id,
                                hours=data.hours, comment=data.comment)
        session.add(existing)
    else:
        existing.hours, existing.comment = data.hours, data.comment
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="confirm",
           entity="pain_point", entity_id=pain_point.id, before=before,
           after={"confirmed": True})
    return existing

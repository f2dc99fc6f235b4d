"""Writes of pain points and confirmations, with every rule of docs/product.md's "Bad input"."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit.models import AuditEntry
from app.audit.service import record, snapshot
from app.auth.permissions import Permission, Principal
from app.core import derived
from app.core.bulk import insert_rows
from app.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from app.core.words import common_noun
from app.core.clock import utcnow
from app.pain_points import summary
from app.pain_points.models import (
    MAX_ONE_TIME_HOURS, MAX_PEOPLE_AFFECTED, MAX_WEEKLY_HOURS, Confirmation, PainPoint,
    PainPointKind, PainPointStatus,
)
from app.pain_points import cost, queries
from app.pain_points.schemas import ConfirmationIn, PainPointIn, PainPointPatch
from app.teams import queries as team_queries
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


@dataclass(frozen=True)
class EstimateProblem:
    """A rule an estimate breaks: the field error the form shows, and the one sentence the
    live preview shows instead of a figure."""

    field: str
    message: str
    summary: str


def estimate_problems(kind: str, low: Decimal, likely: Decimal, high: Decimal,
                      people: int | None = None) -> list[EstimateProblem]:
    """The rules of a three-point estimate, for `_validate` (which refuses the save) and the
    live preview (which shows no cost while one is broken): one source for both. The bounds
    the schemas check already (negative hours, MAX_ONE_TIME_HOURS, MAX_PEOPLE_AFFECTED) are
    listed too, because the preview prices raw form values."""
    found: list[EstimateProblem] = []
    order = "The hours must be in order: low ≤ likely ≤ high."
    for name, value in (("hours_low", low), ("hours_likely", likely), ("hours_high", high)):
        if value < 0:
            found.append(EstimateProblem(name, "cannot be negative",
                                         "Hours cannot be negative."))
    if low > likely:
        found.append(EstimateProblem("hours_likely",
                                     f"must be at least the low estimate ({low} h)", order))
    if likely > high:
        found.append(EstimateProblem("hours_high",
                                     f"must be at least the likely estimate ({likely} h)", order))
    for name, value in (("hours_low", low), ("hours_likely", likely), ("hours_high", high)):
        if kind == PainPointKind.recurring and value > MAX_WEEKLY_HOURS:
            found.append(EstimateProblem(
                name, f"more hours per week than a week has ({MAX_WEEKLY_HOURS})",
                f"More hours per week than a week has ({MAX_WEEKLY_HOURS})."))
        elif kind == PainPointKind.one_time and value > MAX_ONE_TIME_HOURS:
            found.append(EstimateProblem(
                name, f"at most {MAX_ONE_TIME_HOURS} hours per person",
                f"More than {MAX_ONE_TIME_HOURS} hours per person for a one-time effort."))
    if people is not None and people > MAX_PEOPLE_AFFECTED:
        found.append(EstimateProblem("people_affected", f"at most {MAX_PEOPLE_AFFECTED:,}",
                                     f"At most {MAX_PEOPLE_AFFECTED:,} people can be affected."))
    return found


def _validate(session: Session, values: _Values, today: date, errors: list[FieldError],
              headcount_of: Callable[[Session, int, int], int] = headcount) -> None:
    f = values.fields
    if values.team is not None and values.team.is_archived:
        errors.append(FieldError("team", f"team '{values.team.slug}' is archived"))
    errors += [FieldError(p.field, p.message) for p in estimate_problems(
        f["kind"], f["hours_low"], f["hours_likely"], f["hours_high"], f["people_affected"])]
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


# --- the form's live preview ------------------------------------------------------------------


@dataclass
class Preview:
    """What the form's values will cost, computed with cost.py's formulas on Decimals."""

    message: str = ""
    team: Team | None = None
    persona: Persona | None = None
    headcount: int | None = None
    people: int | None = None
    people_is_default: bool = False
    rate: queries.Rate | None = None
    kind: str = "recurring"
    hours: tuple[Decimal, Decimal, Decimal] | None = None
    expected_hours: Decimal | None = None
    weeks: Decimal | None = None
    expected: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    warning: str = ""

    @property
    def ready(self) -> bool:
        return self.expected is not None


def estimate_number(value: str) -> Decimal | None:
    """A typed number of hours, or None when it is no estimate."""
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    # Beyond what the form accepts, a figure is no estimate: shown as "not entered yet" rather
    # than priced (1e400 hours would not even round to cents).
    return number if number.is_finite() and 0 <= number <= MAX_ONE_TIME_HOURS else None


def preview(session: Session, values: dict[str, str], *, weeks: Decimal) -> Preview:
    """The live preview of the form's raw values: the rate and headcount that apply, and the
    cost, or why there is none yet (an estimate `_validate` would refuse has no cost)."""
    slug, persona_slug = values.get("team", ""), values.get("persona", "")
    team = team_queries.get_team(session, slug) if slug else None
    persona = team_queries.get_persona(session, persona_slug) if persona_slug else None
    kind = values.get("kind", "")
    kind = kind if kind in {k.value for k in PainPointKind} else PainPointKind.recurring.value
    shown = Preview(team=team, persona=persona, kind=kind, weeks=weeks)
    if team is None or persona is None:
        shown.message = ("Choose a team and a persona to see the hourly cost and the people "
                         "affected.")
        return shown
    shown.rate = queries.rate_for(session, team.id, persona.id)
    shown.headcount = shown.rate.headcount if shown.rate else 0
    typed = values.get("people_affected", "")
    if typed:
        people = int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 10 else None
        shown.people = people if people is not None and people <= MAX_PEOPLE_AFFECTED else None
    else:
        shown.people, shown.people_is_default = shown.headcount, True
    hours = [estimate_number(values.get(name, ""))
             for name in ("hours_low", "hours_likely", "hours_high")]
    if any(h is None for h in hours):
        shown.message = "Enter the low, likely and high hours to see the cost."
        return shown
    if not shown.people:
        shown.message = "Enter how many people are affected to see the cost."
        return shown
    low, likely, high = (h for h in hours if h is not None)
    shown.hours = (low, likely, high)
    problems = estimate_problems(kind, low, likely, high, shown.people)
    if problems:
        shown.warning = problems[0].summary
        return shown
    if shown.rate is None:
        shown.message = "No hourly cost is known for this persona."
        return shown
    people_d, rate = Decimal(shown.people), shown.rate.hourly_cost
    shown.expected_hours = cost.expected_hours(low, likely, high)
    if kind == PainPointKind.recurring:
        shown.expected, shown.low, shown.high = (
            cost.annual_run_rate(h, people_d, weeks, rate)
            for h in (shown.expected_hours, low, high))
    else:
        shown.expected, shown.low, shown.high = (
            cost.one_time_cost(h, people_d, rate) for h in (shown.expected_hours, low, high))
    return shown


# --- permissions of the pages and their getters -------------------------------------------------


def may_edit(actor: Principal, team_id: int | None = None) -> bool:
    """Whether `actor` may change the pain points of a team, or without one of some team (the
    pages offer their buttons by it)."""
    return actor.has(Permission.edit) if team_id is None else actor.can_edit_team(team_id)


def get_editable_or_403(session: Session, pain_point_id: int, *,
                        actor: Principal) -> PainPoint:
    """A live pain point `actor` may change: 404 when it may not read it or it was deleted,
    403 when it is another team's."""
    pain_point = queries.get_live_or_404(session, pain_point_id, principal=actor)
    if not may_edit(actor, pain_point.team_id):
        raise PermissionDenied("You may change pain points of your own teams only.")
    return pain_point


def undoable(session: Session, pain_point_id: int | None, *, actor: Principal
             ) -> PainPoint | None:
    """The deleted pain point a list offers to restore, if `actor` may restore it."""
    if pain_point_id is None or not may_edit(actor):
        return None
    pain_point = queries.get_pain_point(session, pain_point_id)
    if (pain_point is None or pain_point.deleted_at is None
            or not may_edit(actor, pain_point.team_id)):
        return None
    return pain_point


def editable_teams(teams: Sequence[Team], actor: Principal,
                   current_team_id: int | None = None) -> list[Team]:
    """Of `teams`, those `actor` may log pain points for (an archived one only when it is the
    pain point's own)."""
    return [t for t in teams if may_edit(actor, t.id)
            and (not t.is_archived or t.id == current_team_id)]


def _check_can_edit(actor: Principal, team: Team | None) -> None:
    if team is not None and not may_edit(actor, team.id):
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

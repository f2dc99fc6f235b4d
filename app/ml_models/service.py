"""Writes of ML models, lifecycle events and compute costs (pages, API, CSV and MLflow alike)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.audit.service import record, snapshot
from app.auth.permissions import Principal
from app.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from app.core.locking import expect_version, flush_or_stale
from app.core.clock import utcnow
from app.ml_models.models import (
    ComputeCost, EventType, LifecycleEvent, MLModel,
)
from app.ml_models.schemas import BulkEventIn, ComputeCostIn, EventIn, ModelIn, ModelPatch
from app.teams.models import Team

ANNUAL_VALUE_FIELDS = ("annual_value_low", "annual_value_likely", "annual_value_high")
MODEL_FIELDS = ["team_id", "name", "use_case", "kind", *ANNUAL_VALUE_FIELDS, "archived_at"]
EVENT_FIELDS = ["model_id", "type", "occurred_at", "version", "source", "external_id"]
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks of pipelines drift; an event a few minutes "in the future" is still believable.
FUTURE_TOLERANCE = timedelta(minutes=5)
# An event this long before the model's ideation is most likely a wrong date.
BEFORE_IDEATION_BOUND = timedelta(days=365)


def _team(session: Session, slug: str, field: str = "team") -> Team:
    team = session.scalar(select(Team).where(Team.slug == slug))
    if team is None:
        raise ValidationFailed([FieldError(field, f"unknown team '{slug}'")])
    return team


def _can_edit(actor: Principal, team_id: int, team_name: str) -> None:
    if not actor.can_edit_team(team_id):
        raise PermissionDenied(f"You may change models of your own teams only, not of "
                               f"{team_name}.")


def _name_taken(session: Session, team_id: int, name: str, own_id: int | None = None) -> bool:
    query = select(MLModel.id).where(MLModel.team_id == team_id,
                                     func.lower(MLModel.name) == name.lower())
    if own_id is not None:
        query = query.where(MLModel.id != own_id)
    return session.scalar(query) is not None


def annual_value_errors(low: Any, likely: Any, high: Any) -> list[FieldError]:
    """All three or none, each ≥ 0 (the schema checks), in order low ≤ likely ≤ high."""
    given = {"annual_value_low": low, "annual_value_likely": likely, "annual_value_high": high}
    if all(v is None for v in given.values()):
        return []
    missing = [FieldError(name, "give the low, likely and high values together")
               for name, v in given.items() if v is None]
    if missing:
        return missing
    errors = []
    if low > likely:
        errors.append(FieldError("annual_value_low", "must not exceed the likely value"))
    if likely > high:
        errors.append(FieldError("annual_value_high", "must not be below the likely value"))
    return errors


def create_model(session: Session, data: ModelIn, *, actor: Principal) -> MLModel:
    team = _team(session, data.team)
    _can_edit(actor, team.id, team.name)
    if team.is_archived:
        raise ValidationFailed([FieldError("team", f"team '{team.slug}' is archived")])
    if _name_taken(session, team.id, data.name):
        raise ValidationFailed([FieldError("name", f"{team.name} already has a model named "
                                                   f"'{data.name}'")])
    errors = annual_value_errors(data.annual_value_low, data.annual_value_likely,
                                 data.annual_value_high)
    if errors:
        raise ValidationFailed(errors)
    model = MLModel(team_id=team.id, name=data.name, use_case=data.use_case, kind=data.kind,
                    annual_value_low=data.annual_value_low,
                    annual_value_likely=data.annual_value_likely,
                    annual_value_high=data.annual_value_high)
    session.add(model)
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="create",
           entity="ml_model", entity_id=model.id, after=snapshot(model, MODEL_FIELDS))
    return model


def update_model(session: Session, model: MLModel, data: ModelPatch, *,
                 actor: Principal, require_version: bool = False) -> MLModel:
    team = session.get(Team, model.team_id)
    _can_edit(actor, team.id, team.name)
    expect_version(model, data.version, "model", required=require_version)
    given = data.model_dump(exclude_unset=True, exclude={"version"})
    empty = [FieldError(name, "cannot be empty") for name in ("name", "kind", "use_case")
             if name in given and given[name] is None]
    if empty:
        raise ValidationFailed(empty)
    if "name" in given and _name_taken(session, model.team_id, given["name"], model.id):
        raise ValidationFailed([FieldError("name", f"{team.name} already has a model named "
                                                   f"'{given['name']}'")])
    if any(name in given for name in ANNUAL_VALUE_FIELDS):
        merged = {name: given[name] if name in given else getattr(model, name)
                  for name in ANNUAL_VALUE_FIELDS}
        errors = annual_value_errors(*merged.values())
        if errors:
            raise ValidationFailed(errors)
    before = snapshot(model, MODEL_FIELDS)
    for name in ("name", "use_case", "kind", *ANNUAL_VALUE_FIELDS):
        if name in given:
            setattr(model, name, given[name])
    if "archived" in given:
        model.archived_at = (model.archived_at or utcnow()) if given["archived"] else None
    flush_or_stale(session, model, "model")
    after = snapshot(model, MODEL_FIELDS)
    if after != before:
        record(session, actor=actor.actor_label, actor_id=actor.user_id, action="update",
               entity="ml_model", entity_id=model.id, before=before, after=after)
    return model


@dataclass
class EventResult:
    event: LifecycleEvent
    created: bool


def _same(event: LifecycleEvent, model_id: int, data: EventIn) -> bool:
    return (event.model_id == model_id and event.type == data.type
            and event.occurred_at == data.occurred_at.astimezone(UTC)
            and (event.version or None) == (data.version or None))


def _check_event(session: Session, model: MLModel, data: EventIn, field_prefix: str,
                 errors: list[FieldError]) -> None:
    occurred = data.occurred_at.astimezone(UTC)
    if occurred > utcnow() + FUTURE_TOLERANCE:
        errors.append(FieldError(f"{field_prefix}occurred_at", "is in the future"))
    elif occurred < EARLIEST_EVENT:
        errors.append(FieldError(f"{field_prefix}occurred_at", "is before 2000"))
    elif model.id is not None:
        # Checked both ways, so the verdict does not depend on the order events arrive in.
        if data.type == EventType.ideated:
            earliest = session.scalar(select(func.min(LifecycleEvent.occurred_at)).where(
                LifecycleEvent.model_id == model.id))
            if earliest is not None and earliest < occurred - BEFORE_IDEATION_BOUND:
                errors.append(FieldError(
                    f"{field_prefix}occurred_at",
                    f"is more than {BEFORE_IDEATION_BOUND.days} days after the model's earliest "
                    f"event ({earliest.date().isoformat()}); check the date"))
        else:
            ideated = session.scalar(select(func.min(LifecycleEvent.occurred_at)).where(
                LifecycleEvent.model_id == model.id, LifecycleEvent.type == EventType.ideated))
            if ideated is not None and occurred < ideated - BEFORE_IDEATION_BOUND:
                errors.append(FieldError(
                    f"{field_prefix}occurred_at",
                    f"is more than {BEFORE_IDEATION_BOUND.days} days before the model was "
                    f"ideated ({ideated.date().isoformat()}); check the date"))


def record_event(session: Session, model: MLModel, data: EventIn, *, actor: Principal,
                 field_prefix: str = "") -> EventResult:
    """Stores a lifecycle event once: the same source + external_id again answers the stored
    event; the same id with other content is a conflict, never a silent change."""
    team = session.get(Team, model.team_id)
    _can_edit(actor, team.id, team.name)
    if data.external_id is not None:
        existing = session.scalar(select(LifecycleEvent).where(
            LifecycleEvent.source == data.source, LifecycleEvent.external_id == data.external_id))
        if existing is not None:
            if _same(existing, model.id, data):
                return EventResult(existing, created=False)
            # No id in the message: the stored event may belong to a team the caller can't see.
            raise Conflict(f"external_id '{data.external_id}' of source '{data.source}' is "
                           "already stored with other content; send a new id for a new event",
                           field=f"{field_prefix}external_id")
    errors: list[FieldError] = []
    _check_event(session, model, data, field_prefix, errors)
    if errors:
        raise ValidationFailed(errors)
    event = LifecycleEvent(model_id=model.id, type=data.type,
                           occurred_at=data.occurred_at.astimezone(UTC), version=data.version,
                           source=data.source, external_id=data.external_id)
    session.add(event)
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="create",
           entity="lifecycle_event", entity_id=event.id, after=snapshot(event, EVENT_FIELDS))
    return EventResult(event, created=True)


def record_events(session: Session, items: list[BulkEventIn], *,
                  actor: Principal) -> list[EventResult]:
    """The bulk endpoint: each event names its model by team slug and model name; a model seen
    for the first time is created. All or nothing: any refusal raises and stores nothing
    (the caller's transaction rolls back); fields are named `<index>.<field>`."""
    results, errors = [], []
    models: dict[tuple[str, str], MLModel] = {}
    for i, item in enumerate(items):
        prefix = f"{i}."
        try:
            key = (item.team, item.model.lower())
            model = models.get(key)
            if model is None:
                team = _team(session, item.team, f"{prefix}team")
                model = session.scalar(select(MLModel).where(
                    MLModel.team_id == team.id, func.lower(MLModel.name) == item.model.lower()))
                if model is None:
                    model = create_model(session, ModelIn(team=item.team, name=item.model),
                                         actor=actor)
                models[key] = model
            results.append(record_event(session, model, item, actor=actor, field_prefix=prefix))
        except ValidationFailed as exc:
            errors.extend(FieldError(e.field if e.field.startswith(prefix) else prefix + e.field,
                                     e.message) for e in exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return results


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def upsert_compute_cost(session: Session, model: MLModel, data: ComputeCostIn, *,
                        actor: Principal) -> tuple[ComputeCost, bool]:
    """One row per model and month: posting a month again replaces its figures. Returns the
    row and whether it was created."""
    team = session.get(Team, model.team_id)
    _can_edit(actor, team.id, team.name)
    month = first_of_month(data.month)
    if month > first_of_month(utcnow().date()):
        raise ValidationFailed([FieldError("month", "is in the future")])
    row = session.scalar(select(ComputeCost).where(ComputeCost.model_id == model.id,
                                                   ComputeCost.month == month))
    before: dict[str, Any] | None = None
    if row is None:
        row = ComputeCost(model_id=model.id, month=month, gpu_hours=data.gpu_hours,
                          amount=data.amount, note=data.note)
        session.add(row)
    else:
        before = snapshot(row, ["month", "gpu_hours", "amount", "note"])
        row.gpu_hours, row.amount, row.note = data.gpu_hours, data.amount, data.note
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id,
           action="update" if before else "create", entity="compute_cost", entity_id=row.id,
           before=before, after=snapshot(row, ["month", "gpu_hours", "amount", "note"]))
    return row, before is None


def get_model(session: Session, model_id: int) -> MLModel:
    model = session.get(MLModel, model_id)
    if model is None:
        raise NotFound(f"no model with id {model_id}")
    return model


# --- imports at spreadsheet scale ---------------------------------------------------------------

# Rows per INSERT batch of an import.
BATCH = 1000


@dataclass
class CheckedEvents:
    """An import's rows validated in bulk, nothing written yet (see `check_events`)."""
    new_models: dict[tuple[int, str], ModelIn]  # (team id, lower-case name) -> model to create
    events: list[tuple[tuple[int, str], EventIn]]  # per valid new event: its model's key
    existing: int  # rows already stored with the same content (source + external_id)
    refused: dict[int, list[FieldError]]  # by line


def check_events(session: Session, rows: list[tuple[int, BulkEventIn]], *,
                 actor: Principal) -> CheckedEvents:
    """Every row checked as `record_events` checks one, in a handful of queries: teams and
    models by distinct value, stored external ids and each model's earliest and ideation dates
    up front; rows accepted earlier in the file count as stored for the rows after them."""
    checked = CheckedEvents({}, [], 0, {})
    slugs = {data.team for _, data in rows}
    teams = {t.slug: t for t in session.scalars(select(Team).where(Team.slug.in_(slugs)))}
    team_ids = [t.id for t in teams.values()]
    models: dict[tuple[int, str], MLModel] = {
        (m.team_id, m.name.lower()): m
        for m in session.scalars(select(MLModel).where(MLModel.team_id.in_(team_ids)))}
    model_ids = [m.id for m in models.values()]
    earliest: dict[Any, datetime | None] = {}
    ideated: dict[Any, datetime | None] = {}
    for start in range(0, len(model_ids), BATCH):
        chunk = model_ids[start:start + BATCH]
        for model_id, first, idea in session.execute(
                select(LifecycleEvent.model_id, func.min(LifecycleEvent.occurred_at),
                       func.min(case((LifecycleEvent.type == EventType.ideated,
                                      LifecycleEvent.occurred_at))))
                .where(LifecycleEvent.model_id.in_(chunk)).group_by(LifecycleEvent.model_id)):
            earliest[model_id], ideated[model_id] = first, idea
    wanted = [(d.source, d.external_id) for _, d in rows if d.external_id is not None]
    stored: dict[tuple[Any, str], tuple[Any, ...]] = {}
    for start in range(0, len(wanted), BATCH):
        ids = {external for _, external in wanted[start:start + BATCH]}
        for e in session.scalars(select(LifecycleEvent).where(
                LifecycleEvent.external_id.in_(ids))):
            stored[(e.source, e.external_id)] = (e.model_id, e.type, e.occurred_at,
                                                 e.version or None)
    now = utcnow()
    for line, data in rows:
        errors: list[FieldError] = []
        try:
            team = teams.get(data.team)
            if team is None:
                raise ValidationFailed([FieldError("team", f"unknown team '{data.team}'")])
            key = (team.id, data.model.lower())
            model = models.get(key)
            _can_edit(actor, team.id, team.name)
            if model is None and key not in checked.new_models:
                if team.is_archived:
                    raise ValidationFailed([FieldError("team",
                                                       f"team '{team.slug}' is archived")])
            model_ref = model.id if model is not None else key
            occurred = data.occurred_at.astimezone(UTC)
            content = (model_ref, data.type, occurred, data.version or None)
            if data.external_id is not None and (data.source, data.external_id) in stored:
                if stored[(data.source, data.external_id)] == content:
                    checked.existing += 1
                    continue
                raise Conflict(f"external_id '{data.external_id}' of source '{data.source}' "
                               "is already stored with other content; send a new id for a new "
                               "event", field="external_id")
            if occurred > now + FUTURE_TOLERANCE:
                errors.append(FieldError("occurred_at", "is in the future"))
            elif occurred < EARLIEST_EVENT:
                errors.append(FieldError("occurred_at", "is before 2000"))
            elif data.type == EventType.ideated:
                first = earliest.get(model_ref)
                if first is not None and first < occurred - BEFORE_IDEATION_BOUND:
                    errors.append(FieldError(
                        "occurred_at", f"is more than {BEFORE_IDEATION_BOUND.days} days after "
                        f"the model's earliest event ({first.date().isoformat()}); check the "
                        "date"))
            else:
                idea = ideated.get(model_ref)
                if idea is not None and occurred < idea - BEFORE_IDEATION_BOUND:
                    errors.append(FieldError(
                        "occurred_at", f"is more than {BEFORE_IDEATION_BOUND.days} days before "
                        f"the model was ideated ({idea.date().isoformat()}); check the date"))
            if errors:
                raise ValidationFailed(errors)
        except ValidationFailed as exc:
            checked.refused[line] = list(exc.errors)
            continue
        except Conflict as exc:
            checked.refused[line] = [FieldError(exc.field or "external_id", exc.message)]
            continue
        except PermissionDenied as exc:
            checked.refused[line] = [FieldError("team", exc.message)]
            continue
        if model is None:
            checked.new_models.setdefault(key, ModelIn(team=team.slug, name=data.model))
        checked.events.append((key, EventIn(type=data.type, occurred_at=occurred,
                                            version=data.version, source=data.source,
                                            external_id=data.external_id)))
        if data.external_id is not None:
            stored[(data.source, data.external_id)] = content
        first = earliest.get(model_ref)
        earliest[model_ref] = occurred if first is None else min(first, occurred)
        if data.type == EventType.ideated:
            idea = ideated.get(model_ref)
            ideated[model_ref] = occurred if idea is None else min(idea, occurred)
    return checked


def add_events(session: Session, checked: CheckedEvents, *, actor: Principal,
               progress: Any = None) -> int:
    """Stores what `check_events` accepted: the new models (each audited), then the events in
    batches, each with its audit entry. Returns how many events were stored."""
    keys = {key for key, _ in checked.events}
    models = {(m.team_id, m.name.lower()): m for m in session.scalars(
        select(MLModel).where(MLModel.team_id.in_({team for team, _ in keys})))}
    for key, data in checked.new_models.items():
        models[key] = create_model(session, data, actor=actor)
    for start in range(0, len(checked.events), BATCH):
        batch = [LifecycleEvent(model_id=models[key].id, type=data.type,
                                occurred_at=data.occurred_at, version=data.version,
                                source=data.source, external_id=data.external_id)
                 for key, data in checked.events[start:start + BATCH]]
        session.add_all(batch)
        session.flush()
        for event in batch:
            record(session, actor=actor.actor_label, actor_id=actor.user_id, action="create",
                   entity="lifecycle_event", entity_id=event.id,
                   after=snapshot(event, EVENT_FIELDS))
        session.flush()
        if progress is not None:
            progress(start + len(batch))
    return len(checked.events)

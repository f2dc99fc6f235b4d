"""Writes of ML models, lifecycle events and compute costs (pages, API, CSV and MLflow alike)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import record, snapshot
from app.auth.permissions import Principal
from app.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from app.db import utcnow
from app.teams.models import Team
from app.velocity.models import (
    ComputeCost, EventType, LifecycleEvent, MLModel,
)
from app.velocity.schemas import BulkEventIn, ComputeCostIn, EventIn, ModelIn, ModelPatch

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
                 actor: Principal) -> MLModel:
    team = session.get(Team, model.team_id)
    _can_edit(actor, team.id, team.name)
    given = data.model_dump(exclude_unset=True)
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
    session.flush()
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

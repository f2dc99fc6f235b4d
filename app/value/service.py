"""Writes of KPIs, KPI observations, quality metrics and quality observations (API, pages, CSV
and MLflow alike). Every change is audited; bulk writes are all or nothing."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import record, snapshot
from app.auth.permissions import Principal
from app.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from app.core.clock import utcnow
from app.ml_models.models import MLModel
from app.teams.models import Team
from app.value import formulas
from app.value.models import Kpi, KpiObservation, QualityMetric, QualityObservation
from app.value.schemas import (
    KpiIn, KpiObservationIn, KpiPatch, QualityMetricIn, QualityObservationIn,
)

KPI_FIELDS = ["model_id", "key", "name", "unit", "value_per_unit", "archived_at"]
KPI_OBSERVATION_FIELDS = ["kpi_id", "model_id", "month", "amount", "source", "external_id",
                          "note"]
QUALITY_METRIC_FIELDS = ["model_id", "name", "higher_is_better", "tolerance"]
QUALITY_OBSERVATION_FIELDS = ["metric_id", "model_id", "value", "observed_at", "version",
                              "source", "external_id"]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=5)  # pipeline clocks drift, as for events


def _audit(session: Session, actor: Principal, action: str, entity: str, entity_id: int,
           before: dict | None = None, after: dict | None = None) -> None:
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action=action,
           entity=entity, entity_id=entity_id, before=before, after=after)


def _can_edit(session: Session, actor: Principal, model: MLModel) -> None:
    if not actor.can_edit_team(model.team_id):
        team = session.get(Team, model.team_id)
        raise PermissionDenied(f"You may change models of your own teams only, not of "
                               f"{team.name}.")


# --- KPIs -----------------------------------------------------------------------------------

def kpi_by_key(session: Session, model: MLModel, key: str) -> Kpi:
    kpi = session.scalar(select(Kpi).where(Kpi.model_id == model.id, Kpi.key == key))
    if kpi is None:
        raise NotFound(f"Model {model.name} has no KPI '{key}'.")
    return kpi


def create_kpi(session: Session, model: MLModel, data: KpiIn, *, actor: Principal) -> Kpi:
    _can_edit(session, actor, model)
    if session.scalar(select(Kpi.id).where(Kpi.model_id == model.id, Kpi.key == data.key)):
        raise ValidationFailed([FieldError("key", f"{model.name} already has a KPI "
                                                  f"'{data.key}'")])
    kpi = Kpi(model_id=model.id, key=data.key, name=data.name, unit=data.unit,
              value_per_unit=data.value_per_unit)
    session.add(kpi)
    session.flush()
    _audit(session, actor, "create", "kpi", kpi.id, after=snapshot(kpi, KPI_FIELDS))
    return kpi


def update_kpi(session: Session, model: MLModel, kpi: Kpi, data: KpiPatch, *,
               actor: Principal) -> Kpi:
    """The fields given; the version read is required, a stale one is a 409."""
    _can_edit(session, actor, model)
    if data.version is None:
        raise ValidationFailed([FieldError("version", "required: the version you edited")])
    if data.version != kpi.version:
        raise Conflict(f"Someone changed KPI '{kpi.key}' after version {data.version}; it is "
                       f"at version {kpi.version} now. Nothing was changed.", field="version")
    given = data.model_dump(exclude_unset=True, exclude={"version"})
    nulls = [FieldError(name, "may not be null") for name, value in given.items() if value is None]
    if nulls:
        raise ValidationFailed(nulls)
    before = snapshot(kpi, KPI_FIELDS)
    for name, value in given.items():
        setattr(kpi, name, value)
    session.flush()
    after = snapshot(kpi, KPI_FIELDS)
    if after != before:
        _audit(session, actor, "update", "kpi", kpi.id, before, after)
    return kpi


def remove_kpi(session: Session, model: MLModel, kpi: Kpi, *, actor: Principal) -> bool:
    """Deletes a KPI without observations; one with observations is archived (its months keep
    counting). Returns whether it was deleted."""
    _can_edit(session, actor, model)
    before = snapshot(kpi, KPI_FIELDS)
    used = session.scalar(select(KpiObservation.id).where(KpiObservation.kpi_id == kpi.id)
                          .limit(1))
    if used is None:
        kpi_id = kpi.id
        session.delete(kpi)
        session.flush()
        _audit(session, actor, "delete", "kpi", kpi_id, before=before)
        return True
    kpi.archived_at = kpi.archived_at or utcnow()
    session.flush()
    _audit(session, actor, "archive", "kpi", kpi.id, before, snapshot(kpi, KPI_FIELDS))
    return False


# --- naming a model by team slug and name ---------------------------------------------------

def _model_named(session: Session, team_slug: str, name: str, prefix: str,
                 cache: dict[tuple[str, str], MLModel]) -> MLModel:
    key = (team_slug, name.lower())
    if key not in cache:
        team = session.scalar(select(Team).where(Team.slug == team_slug))
        if team is None:
            raise ValidationFailed([FieldError(f"{prefix}team", f"unknown team '{team_slug}'")])
        model = session.scalar(select(MLModel).where(MLModel.team_id == team.id,
                                                     func.lower(MLModel.name) == name.lower()))
        if model is None:
            raise ValidationFailed([FieldError(f"{prefix}model", f"{team.name} has no model "
                                                                 f"named '{name}'")])
        cache[key] = model
    return cache[key]


T = TypeVar("T")
Item = TypeVar("Item")


def _all_or_nothing(items: Sequence[Item], one: Callable[[Item, str], T]) -> list[T]:
    """Runs `one` on every item; field errors of all items are gathered and raised together
    (the caller's transaction then rolls back, storing nothing). Conflicts stop at once."""
    results, errors = [], []
    for i, item in enumerate(items):
        prefix = f"{i}."
        try:
            results.append(one(item, prefix))
        except ValidationFailed as exc:
            errors.extend(FieldError(e.field if e.field.startswith(prefix) else prefix + e.field,
                                     e.message) for e in exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return results


# --- KPI observations -----------------------------------------------------------------------

@dataclass
class WriteResult:
    row: Any
    created: bool
    changed: bool


def _same_observation(row: KpiObservation, kpi: Kpi, month: date,
                      data: KpiObservationIn) -> bool:
    return (row.kpi_id == kpi.id and row.month == month and row.amount == data.amount
            and (row.note or "") == (data.note or ""))


def record_kpi_observation(session: Session, model: MLModel, kpi: Kpi, data: KpiObservationIn,
                           *, actor: Principal, today: date, prefix: str = "") -> WriteResult:
    """One per (KPI, month): writing it again replaces the amount (the audit log keeps both).
    The same source + external_id with the same content is a no-op; with other content, 409."""
    _can_edit(session, actor, model)
    month = data.first_day
    if month > formulas.month_start(today):
        raise ValidationFailed([FieldError(f"{prefix}month", "is in the future")])
    if month < EARLIEST.date():
        raise ValidationFailed([FieldError(f"{prefix}month", "is before 2000")])
    if kpi.archived_at is not None:
        raise ValidationFailed([FieldError(f"{prefix}kpi", f"KPI '{kpi.key}' is archived")])
    if data.external_id is not None:
        existing = session.scalar(select(KpiObservation).where(
            KpiObservation.source == data.source, KpiObservation.external_id == data.external_id))
        if existing is not None:
            if _same_observation(existing, kpi, month, data):
                return WriteResult(existing, created=False, changed=False)
            raise Conflict(f"external_id '{data.external_id}' of source '{data.source}' is "
                           "already stored with other content; send a new id for a new "
                           "observation", field=f"{prefix}external_id")
    row = session.scalar(select(KpiObservation).where(KpiObservation.kpi_id == kpi.id,
                                                      KpiObservation.month == month))
    if row is None:
        row = KpiObservation(kpi_id=kpi.id, model_id=model.id, month=month, amount=data.amount,
                             source=data.source, external_id=data.external_id, note=data.note)
        session.add(row)
        session.flush()
        _audit(session, actor, "create", "kpi_observation", row.id,
               after=snapshot(row, KPI_OBSERVATION_FIELDS))
        return WriteResult(row, created=True, changed=True)
    before = snapshot(row, KPI_OBSERVATION_FIELDS)
    row.amount, row.note, row.source = data.amount, data.note, data.source
    row.external_id = data.external_id
    session.flush()
    after = snapshot(row, KPI_OBSERVATION_FIELDS)
    if after != before:
        _audit(session, actor, "update", "kpi_observation", row.id, before, after)
    return WriteResult(row, created=False, changed=after != before)


def record_kpi_observations(session: Session, items: Sequence[KpiObservationIn], *,
                            actor: Principal, today: date) -> list[WriteResult]:
    """The bulk endpoint and the CSV import: all or nothing, fields named `<index>.<field>`."""
    models: dict[tuple[str, str], MLModel] = {}

    def one(item: KpiObservationIn, prefix: str) -> WriteResult:
        model = _model_named(session, item.team, item.model, prefix, models)
        kpi = session.scalar(select(Kpi).where(Kpi.model_id == model.id, Kpi.key == item.kpi))
        if kpi is None:
            raise ValidationFailed([FieldError(f"{prefix}kpi", f"model {model.name} has no KPI "
                                                               f"'{item.kpi}'")])
        return record_kpi_observation(session, model, kpi, item, actor=actor, today=today,
                                      prefix=prefix)

    return _all_or_nothing(items, one)


# --- quality metrics and observations -------------------------------------------------------

def metric_named(session: Session, model: MLModel, name: str) -> QualityMetric | None:
    return session.scalar(select(QualityMetric).where(QualityMetric.model_id == model.id,
                                                      QualityMetric.name == name))


def put_quality_metric(session: Session, model: MLModel, name: str, data: QualityMetricIn, *,
                       actor: Principal) -> tuple[QualityMetric, bool]:
    """Sets how a metric reads (created if new). Returns it and whether it was created."""
    _can_edit(session, actor, model)
    higher = (data.higher_is_better if data.higher_is_better is not None
              else formulas.default_higher_is_better(name))
    metric = metric_named(session, model, name)
    if metric is None:
        metric = QualityMetric(model_id=model.id, name=name, higher_is_better=higher,
                               tolerance=data.tolerance)
        session.add(metric)
        session.flush()
        _audit(session, actor, "create", "quality_metric", metric.id,
               after=snapshot(metric, QUALITY_METRIC_FIELDS))
        return metric, True
    before = snapshot(metric, QUALITY_METRIC_FIELDS)
    metric.higher_is_better, metric.tolerance = higher, data.tolerance
    session.flush()
    after = snapshot(metric, QUALITY_METRIC_FIELDS)
    if after != before:
        _audit(session, actor, "update", "quality_metric", metric.id, before, after)
    return metric, False


def _metric_for(session: Session, model: MLModel, name: str, actor: Principal) -> QualityMetric:
    metric = metric_named(session, model, name)
    if metric is None:
        metric, _ = put_quality_metric(session, model, name, QualityMetricIn(), actor=actor)
    return metric


def record_quality_observation(session: Session, model: MLModel, data: QualityObservationIn, *,
                               actor: Principal, prefix: str = "") -> WriteResult:
    _can_edit(session, actor, model)
    observed = data.observed_at.astimezone(UTC)
    if observed > utcnow() + FUTURE_TOLERANCE:
        raise ValidationFailed([FieldError(f"{prefix}observed_at", "is in the future")])
    if observed < EARLIEST:
        raise ValidationFailed([FieldError(f"{prefix}observed_at", "is before 2000")])
    if data.external_id is not None:
        existing = session.scalar(select(QualityObservation).where(
            QualityObservation.source == data.source,
            QualityObservation.external_id == data.external_id))
        if existing is not None:
            metric = metric_named(session, model, data.metric)
            same = (metric is not None and existing.metric_id == metric.id
                    and existing.value == data.value and existing.observed_at == observed
                    and (existing.version or None) == (data.version or None))
            if same:
                return WriteResult(existing, created=False, changed=False)
            raise Conflict(f"external_id '{data.external_id}' of source '{data.source}' is "
                           "already stored with other content; send a new id for a new "
                           "observation", field=f"{prefix}external_id")
    metric = _metric_for(session, model, data.metric, actor)
    row = QualityObservation(metric_id=metric.id, model_id=model.id, value=data.value,
                             observed_at=observed, version=data.version, source=data.source,
                             external_id=data.external_id)
    session.add(row)
    session.flush()
    _audit(session, actor, "create", "quality_observation", row.id,
           after=snapshot(row, QUALITY_OBSERVATION_FIELDS))
    return WriteResult(row, created=True, changed=True)


def record_quality_observations(session: Session, items: Sequence[QualityObservationIn], *,
                                actor: Principal) -> list[WriteResult]:
    models: dict[tuple[str, str], MLModel] = {}

    def one(item: QualityObservationIn, prefix: str) -> WriteResult:
        model = _model_named(session, item.team, item.model, prefix, models)
        return record_quality_observation(session, model, item, actor=actor, prefix=prefix)

    return _all_or_nothing(items, one)

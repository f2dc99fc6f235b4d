"""Reads behind the model, event and compute-cost lists: pages of rows, and the per-model figures
of one page computed in a bounded number of statements (never a query per model)."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from app.core.sql import days_between, percentile_cont
from app.teams.models import Team
from app.velocity import metrics
from app.velocity.models import ComputeCost, EventType, LifecycleEvent, MLModel, ModelKind
from app.velocity.queries import VelocityFilters, _dec, _lead_time, _scoped

SECONDS_PER_DAY = Decimal(86400)


def team_id_by_slug(session: Session, slug: str) -> int | None:
    return session.scalar(select(Team.id).where(Team.slug == slug))


# --- models ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelFilters:
    team_ids: frozenset[int] | None = None  # None: every team (the caller applies its scope)
    kind: ModelKind | None = None
    archived: bool = False
    text: str = ""


@dataclass
class ModelRow:
    model: MLModel
    team_slug: str


def _model_query(filters: ModelFilters) -> Select:
    query = select(MLModel, Team.slug).join(Team, Team.id == MLModel.team_id)
    if filters.team_ids is not None:
        query = query.where(MLModel.team_id.in_(filters.team_ids))
    if filters.kind is not None:
        query = query.where(MLModel.kind == filters.kind)
    query = query.where(MLModel.archived_at.is_not(None) if filters.archived
                        else MLModel.archived_at.is_(None))
    if filters.text:
        needle = filters.text.lower()
        query = query.where(func.lower(MLModel.name).contains(needle, autoescape=True)
                            | func.lower(MLModel.use_case).contains(needle, autoescape=True))
    return query


def list_models(session: Session, filters: ModelFilters, *, offset: int = 0,
                limit: int | None = None) -> tuple[list[ModelRow], int]:
    """Models ordered by team and name, one page of them, and the total count."""
    query = _model_query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Team.slug, func.lower(MLModel.name), MLModel.id)
                           .offset(offset).limit(limit)).all()
    return [ModelRow(model, slug) for model, slug in rows], total


def get_model_row(session: Session, model_id: int) -> ModelRow | None:
    row = session.execute(select(MLModel, Team.slug).join(Team, Team.id == MLModel.team_id)
                          .where(MLModel.id == model_id)).first()
    return None if row is None else ModelRow(row[0], row[1])


@dataclass
class ModelFigures:
    first_ideated_at: datetime | None
    first_deployed_at: datetime | None
    lead_time_days: Decimal | None
    deployments: int
    last_deployed_at: datetime | None
    retrain_cadence_days: Decimal | None  # median days between successive deployments
    staleness_days: Decimal | None  # days since the last deployment; None if never deployed


NO_FIGURES = ModelFigures(None, None, None, 0, None, None, None)


def _utc(value: Any) -> datetime | None:
    """A timestamp from an aggregate: SQLite may hand back naive datetimes or even text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def model_figures(session: Session, model_ids: Collection[int], *,
                  now: datetime) -> dict[int, ModelFigures]:
    """Lead time, deployments, retrain cadence and staleness of the given models: two
    statements whatever their number. Models without events are absent from the result."""
    ids = list(model_ids)
    if not ids:
        return {}
    in_page = LifecycleEvent.model_id.in_(ids)
    m = (select(LifecycleEvent.model_id,
                func.min(case((LifecycleEvent.type == EventType.ideated,
                               LifecycleEvent.occurred_at))).label("ideated"),
                func.min(case((LifecycleEvent.type == EventType.deployed,
                               LifecycleEvent.occurred_at))).label("deployed"),
                func.min(LifecycleEvent.occurred_at).label("earliest"))
         .where(in_page).group_by(LifecycleEvent.model_id).subquery("milestones"))
    firsts = session.execute(select(m.c.model_id, m.c.ideated, m.c.deployed,
                                    _lead_time(m))).all()

    previous = func.lag(LifecycleEvent.occurred_at).over(
        partition_by=LifecycleEvent.model_id, order_by=LifecycleEvent.occurred_at)
    gaps = (select(LifecycleEvent.model_id.label("model_id"),
                   LifecycleEvent.occurred_at.label("at"),
                   days_between(LifecycleEvent.occurred_at, previous).label("gap"))
            .where(in_page, LifecycleEvent.type == EventType.deployed).subquery("gaps"))
    cadence = {model_id: (count, _dec(median), _utc(last_at)) for model_id, count, median, last_at
               in session.execute(select(gaps.c.model_id, func.count(),
                                         percentile_cont(gaps.c.gap, metrics.MEDIAN),
                                         func.max(gaps.c.at)).group_by(gaps.c.model_id))}

    result = {}
    for model_id, ideated, deployed, lead in firsts:
        count, median, last_at = cadence.get(model_id, (0, None, None))
        staleness = (None if last_at is None
                     else Decimal((now - last_at).total_seconds()) / SECONDS_PER_DAY)
        result[model_id] = ModelFigures(_utc(ideated), _utc(deployed), _dec(lead), count,
                                        last_at, median, staleness)
    return result


# --- events ---------------------------------------------------------------------------------

def list_events(session: Session, model_id: int, *, offset: int = 0,
                limit: int | None = None) -> tuple[Sequence[LifecycleEvent], int]:
    """A model's lifecycle events in the order they happened (not the order they arrived)."""
    where = LifecycleEvent.model_id == model_id
    total = session.scalar(select(func.count()).select_from(LifecycleEvent).where(where)) or 0
    rows = session.scalars(select(LifecycleEvent).where(where)
                           .order_by(LifecycleEvent.occurred_at, LifecycleEvent.id)
                           .offset(offset).limit(limit)).all()
    return rows, total


# --- compute costs --------------------------------------------------------------------------

@dataclass(frozen=True)
class ComputeCostFilters:
    team_ids: frozenset[int] | None = None
    model_id: int | None = None
    first: date | None = None  # months overlapping [first, last]
    last: date | None = None


@dataclass
class ComputeCostRow:
    cost: ComputeCost
    model_name: str
    team_slug: str


def list_compute_costs(session: Session, filters: ComputeCostFilters, *, offset: int = 0,
                       limit: int | None = None) -> tuple[list[ComputeCostRow], int]:
    """Monthly compute costs, newest month first, then by model name."""
    query = (select(ComputeCost, MLModel.name, Team.slug)
             .join(MLModel, MLModel.id == ComputeCost.model_id)
             .join(Team, Team.id == MLModel.team_id))
    if filters.team_ids is not None:
        query = query.where(MLModel.team_id.in_(filters.team_ids))
    if filters.model_id is not None:
        query = query.where(ComputeCost.model_id == filters.model_id)
    if filters.first is not None:
        query = query.where(ComputeCost.month >= filters.first.replace(day=1))
    if filters.last is not None:
        query = query.where(ComputeCost.month <= filters.last)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(ComputeCost.month.desc(), MLModel.name, MLModel.id)
                           .offset(offset).limit(limit)).all()
    return [ComputeCostRow(cost, name, slug) for cost, name, slug in rows], total


def compute_total(session: Session, filters: VelocityFilters, first: date,
                  last: date) -> tuple[Decimal, Decimal]:
    """Spend and GPU hours of the months overlapping [first, last] (as compute_by_month)."""
    query = _scoped(select(func.coalesce(func.sum(ComputeCost.amount), 0),
                           func.coalesce(func.sum(ComputeCost.gpu_hours), 0))
                    .where(ComputeCost.month >= first.replace(day=1), ComputeCost.month <= last),
                    filters, ComputeCost.model_id)
    amount, hours = session.execute(query).one()
    return _dec(amount), _dec(hours)

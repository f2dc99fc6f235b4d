"""Reads of models, their lifecycle events and compute costs as rows (the velocity figures of a
model, built from the derived milestone tables, are app/velocity/queries.py's)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.ml_models.models import ComputeCost, LifecycleEvent, MLModel
from app.teams.models import Team


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


def model_events(session: Session, model_id: int, *, offset: int = 0,
                 limit: int | None = None) -> tuple[Sequence[LifecycleEvent], int]:
    """A model's lifecycle events in the order they happened (not the order they arrived), one
    page of them, and their total."""
    where = LifecycleEvent.model_id == model_id
    total = session.scalar(select(func.count()).select_from(LifecycleEvent).where(where)) or 0
    events = session.scalars(select(LifecycleEvent).where(where)
                             .order_by(LifecycleEvent.occurred_at, LifecycleEvent.id)
                             .offset(offset).limit(limit)).all()
    return events, total

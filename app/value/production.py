"""Derived value table, kept in step with the lifecycle events it is computed from.

- production_period: "in production on day d" (docs/product.md, "Model value") is a question
  about the latest deployed/retired event on or before d; value delivered asks it for every
  day of every month of twelve quarters. Computed on each request it was a window over every
  deployed event (~400 000 at L: 50 redeployments a model); stored as merged periods it is
  one row per stretch in production (~8 000 at L).

Declared once to app/core/derived.py (`PERIODS`): a flush that adds, changes or removes
events marks the models it touched; their rows are rebuilt before the transaction commits
and before any read of them in that session, by `period_rows`. Writes that bypass the ORM
call `derived.rebuild_all`.
"""

from collections.abc import Hashable
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from app.core.derived import Kept, attribute_values, keep
from app.core.sql import utc_day_number
from app.ml_models.models import EventType, LifecycleEvent
from app.value.models import ProductionPeriod
from app.velocity.milestones import MAX_PENDING, flushed_events

_COLUMNS = ["model_id", "start_day", "end_day"]


def period_rows(model_ids: Any = None) -> Any:
    """(model_id, start_day, end_day) per stretch in production, from the events: a period
    starts at a deployment with no deployed/retired event before it or a retirement just
    before it, and ends on the day of the first retirement after it (a retirement wins a tie
    on the same instant, as in the formulas). Empty periods (retired the day of deployment)
    are left out: no day is in production."""
    e = LifecycleEvent
    order = (e.occurred_at, e.type, e.id)
    ordered = select(e.model_id, e.type, e.occurred_at, e.id,
                     utc_day_number(e.occurred_at).label("day"),
                     func.lag(e.type).over(partition_by=e.model_id, order_by=order)
                     .label("previous")).where(e.type.in_([EventType.deployed, EventType.retired]))
    if model_ids is not None:
        ordered = ordered.where(e.model_id.in_(model_ids))
    ordered = ordered.subquery()
    starts = case((and_(ordered.c.type == EventType.deployed,
                        or_(ordered.c.previous.is_(None),
                            ordered.c.previous == EventType.retired)), 1), else_=0)
    numbered = select(
        ordered.c.model_id, ordered.c.type, ordered.c.day,
        func.sum(starts).over(partition_by=ordered.c.model_id,
                              order_by=(ordered.c.occurred_at, ordered.c.type, ordered.c.id),
                              rows=(None, 0)).label("period")).subquery()
    start_day = func.min(case((numbered.c.type == EventType.deployed, numbered.c.day)))
    end_day = func.min(case((numbered.c.type == EventType.retired, numbered.c.day)))
    return (select(numbered.c.model_id, start_day.label("start_day"), end_day.label("end_day"))
            .where(numbered.c.period > 0)
            .group_by(numbered.c.model_id, numbered.c.period)
            .having(or_(end_day.is_(None), end_day > start_day)))


def _rebuild(connection: Connection, model_ids: set[int] | None) -> None:
    table = ProductionPeriod.__table__
    clear = delete(table)
    if model_ids is not None:
        clear = clear.where(table.c.model_id.in_(model_ids))
    connection.execute(clear)
    connection.execute(insert(table).from_select(_COLUMNS, period_rows(model_ids)))


def touched_models(session: Session) -> set[Hashable]:
    # Only deployed/retired events change a period (before or after the change of type).
    return {m for e in flushed_events(session)
            if any(EventType(t) in (EventType.deployed, EventType.retired)
                   for t in attribute_values(e, "type") if t is not None)
            for m in attribute_values(e, "model_id") if m is not None}


PERIODS = keep(Kept(
    name="production_period",
    depends_on=("lifecycle_event",),
    touched=touched_models,
    refresh=lambda connection, scopes: _rebuild(connection, set(scopes)),  # type: ignore[arg-type]
    rebuild=lambda connection: _rebuild(connection, None),
    lock_keys=lambda model_id: (model_id,),  # type: ignore[arg-type,return-value]
    # The value queries filter the rows by model id, which every value filter names.
    answers=frozenset({"team_ids", "model_ids"}),
    lock_class=1801,
    max_scopes=MAX_PENDING,
))

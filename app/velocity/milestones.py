"""Derived velocity tables, kept in step with the lifecycle events they are computed from.

- model_milestone: every velocity metric starts from "the first occurrence of each milestone
  per model"; computing that from all events on every request grows with the event history
  (500 000 events: ~250 ms per metric).
- deployment_month: deployments and rollbacks per team and calendar month, for the monthly
  charts (two years of events: ~400 000 rows to bucket by month on every view).

Each is declared once to app/core/derived.py (`MILESTONES`, `DEPLOYMENT_MONTHS`): a flush that
adds, changes or removes events (or moves or removes a model) marks the models and (team, month)
cells it touched; their rows are rebuilt before the transaction commits and before any read of
them in that session, by the same aggregates the metrics used to run inline (`milestone_rows`,
`month_rows`). Writes that bypass the ORM call `derived.rebuild_all`.
"""

from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from app.core.derived import Kept, attribute_values, keep
from app.core.sql import month_index
from app.ml_models.models import EventType, LifecycleEvent, MLModel
from app.velocity import metrics
from app.velocity.models import DeploymentMonth, ModelMilestone

# More models or cells than this in one transaction (an import, a sync): rebuild every row.
MAX_PENDING = 500
_COLUMNS = ["model_id", *metrics.MILESTONES, "earliest"]
COUNTED = (EventType.deployed, EventType.rolled_back)


def milestone_rows(model_ids: Any = None) -> Any:
    """One row per model from its events: first of each milestone, earliest event."""
    query = select(LifecycleEvent.model_id, *[
        func.min(case((LifecycleEvent.type == EventType(name), LifecycleEvent.occurred_at)))
        .label(name) for name in metrics.MILESTONES
    ], func.min(LifecycleEvent.occurred_at).label("earliest"))
    if model_ids is not None:
        query = query.where(LifecycleEvent.model_id.in_(model_ids))
    return query.group_by(LifecycleEvent.model_id)


def month_of(moment: datetime) -> int:
    """The month index (year × 12 + month − 1) of a UTC timestamp, as month_index computes it."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.year * 12 + moment.month - 1


def _month_start(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def month_rows(condition: Any = None) -> Any:
    """Deployments and rollbacks per (team, month) from the events of the teams' models."""
    month = month_index(LifecycleEvent.occurred_at)
    query = (select(MLModel.team_id, month,
                    func.count(case((LifecycleEvent.type == EventType.deployed, 1))),
                    func.count(case((LifecycleEvent.type == EventType.rolled_back, 1))))
             .join(MLModel, MLModel.id == LifecycleEvent.model_id)
             .where(LifecycleEvent.type.in_(COUNTED)))
    if condition is not None:
        query = query.where(condition)
    return query.group_by(MLModel.team_id, month)


def _rebuild_milestones(connection: Connection, model_ids: set[int] | None) -> None:
    table = ModelMilestone.__table__
    clear = delete(table)
    if model_ids is not None:
        clear = clear.where(table.c.model_id.in_(model_ids))
    connection.execute(clear)
    connection.execute(insert(table).from_select(_COLUMNS, milestone_rows(model_ids)))


def _rebuild_months(connection: Connection, teams: set[int] | None,
                    cells: set[tuple[int, int]] = frozenset()) -> None:
    """Rows of whole `teams` and of single (team, month) `cells`; everything when teams is None."""
    table = DeploymentMonth.__table__
    columns = ["team_id", "month", "deployments", "rollbacks"]
    if teams is None:
        connection.execute(delete(table))
        connection.execute(insert(table).from_select(columns, month_rows()))
        return
    cells = {(t, m) for t, m in cells if t not in teams}
    clauses_rows = [table.c.team_id.in_(teams)] if teams else []
    clauses_events = [MLModel.team_id.in_(teams)] if teams else []
    for team, month in cells:
        clauses_rows.append(and_(table.c.team_id == team, table.c.month == month))
        clauses_events.append(and_(MLModel.team_id == team,
                                   LifecycleEvent.occurred_at >= _month_start(month),
                                   LifecycleEvent.occurred_at < _month_start(month + 1)))
    if not clauses_rows:
        return
    connection.execute(delete(table).where(or_(*clauses_rows)))
    connection.execute(insert(table).from_select(columns, month_rows(or_(*clauses_events))))


def rebuild(connection: Connection) -> None:
    """Every derived velocity row afresh (both tables; `derived.rebuild_all` rebuilds each)."""
    _rebuild_milestones(connection, None)
    _rebuild_months(connection, None)


def flushed_events(session: Session) -> list[LifecycleEvent]:
    return [o for o in (*session.new, *session.dirty, *session.deleted)
            if isinstance(o, LifecycleEvent)]


def _touched_models(session: Session) -> set[Hashable]:
    return {m for e in flushed_events(session) for m in attribute_values(e, "model_id") if m is not None}


def _touched_cells(session: Session) -> set[Hashable]:
    """(team, None) for a whole team (a model moved or removed), (team, month) for one cell."""
    scopes: set[Hashable] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, MLModel):
            changed = attribute_values(obj, "team_id")
            if obj in session.deleted or len(changed) > 1:
                scopes.update((t, None) for t in changed if t is not None)
    events = [e for e in flushed_events(session)
              if any(EventType(t) in COUNTED for t in attribute_values(e, "type") if t is not None)]
    if events:
        ids = {m for e in events for m in attribute_values(e, "model_id") if m is not None}
        team_of = dict(session.connection().execute(
            select(MLModel.id, MLModel.team_id).where(MLModel.id.in_(ids))).all())
        for obj in events:
            for model_id in attribute_values(obj, "model_id"):
                if model_id not in team_of:
                    continue
                for moment in attribute_values(obj, "occurred_at"):
                    if moment is not None:
                        scopes.add((team_of[model_id], month_of(moment)))
    return scopes


def _refresh_milestones(connection: Connection, scopes: set[Hashable]) -> None:
    _rebuild_milestones(connection, set(scopes))  # type: ignore[arg-type]


def _refresh_months(connection: Connection, scopes: set[Hashable]) -> None:
    teams = {t for t, m in scopes if m is None}  # type: ignore[misc]
    cells = {(t, m) for t, m in scopes if m is not None}  # type: ignore[misc]
    _rebuild_months(connection, teams, cells)


MILESTONES = keep(Kept(
    name="model_milestone",
    depends_on=("lifecycle_event",),
    touched=_touched_models,
    refresh=_refresh_milestones,
    rebuild=lambda connection: _rebuild_milestones(connection, None),
    lock_keys=lambda model_id: (model_id,),  # type: ignore[arg-type,return-value]
    # velocity.queries.scoped filters the rows by model id, which every filter names.
    answers=frozenset({"team_ids", "model_id", "model_ids"}),
    lock_class=1302,
    max_scopes=MAX_PENDING,
))

DEPLOYMENT_MONTHS = keep(Kept(
    name="deployment_month",
    depends_on=("lifecycle_event", "ml_model"),
    touched=_touched_cells,
    refresh=_refresh_months,
    rebuild=lambda connection: _rebuild_months(connection, None),
    lock_keys=lambda scope: (scope[0],),  # type: ignore[index]  # the team
    answers=frozenset({"team_ids"}),
    lock_class=1303,
    max_scopes=MAX_PENDING,
))

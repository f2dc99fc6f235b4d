"""Derived velocity tables, kept in step with the lifecycle events they are computed from.

- model_milestone: every velocity metric starts from "the first occurrence of each milestone
  per model"; computing that from all events on every request grows with the event history
  (500 000 events: ~250 ms per metric).
- deployment_month: deployments and rollbacks per team and calendar month, for the monthly
  charts (two years of events: ~400 000 rows to bucket by month on every view).

A flush that adds, changes or removes events (or moves or removes a model) marks the models and
(team, month) cells it touched; their rows are rebuilt before the transaction commits and before
any read of them in that session, by the same aggregates the metrics used to run inline
(`milestone_rows`, `month_rows`). Writes that bypass the ORM call `rebuild`.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, inspect, or_, select
from sqlalchemy.orm import Session

from app.core.derived import keep_in_step
from app.core.sql import month_index
from app.velocity import metrics
from app.velocity.models import (
    DeploymentMonth, EventType, LifecycleEvent, MLModel, ModelMilestone,
)

_MODELS = "model_milestone_pending"
_CELLS = "deployment_month_pending"
_TEAMS = "deployment_month_teams_pending"
# More models or cells than this in one transaction (an import, a sync): rebuild every row.
MAX_PENDING = 500
_COLUMNS = ["model_id", *metrics.MILESTONES, "earliest"]
COUNTED = (EventType.deployed, EventType.rolled_back)


def milestone_rows(model_ids: Any = None) -> Any:
    """One row per model from its events: first of each milestone, earliest event."""
    query = select(LifecycleEvent.model_id, *[
        func.min(case((LifecycleEvent.type == EventType(name), LifecycleEvent.occurred_at)))
        for name in metrics.MILESTONES
    ], func.min(LifecycleEvent.occurred_at))
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


def rebuild(connection: Connection, model_ids: set[int] | None = None) -> None:
    """Every derived velocity row afresh (model_ids None), or the milestones of `model_ids`."""
    _rebuild_milestones(connection, model_ids)
    if model_ids is None:
        _rebuild_months(connection, None)


def refresh_pending(session: Session) -> None:
    models: set[int] | None = session.info.pop(_MODELS, None)
    cells: set[tuple[int, int]] | None = session.info.pop(_CELLS, None)
    teams: set[int] | None = session.info.pop(_TEAMS, None)
    connection = session.connection() if (models or cells or teams) else None
    if models:
        _rebuild_milestones(connection, None if len(models) > MAX_PENDING else models)
    if cells or teams:
        everything = len(cells or ()) + len(teams or ()) > MAX_PENDING
        _rebuild_months(connection, None if everything else set(teams or ()), cells or set())


def _history(obj: Any, name: str) -> list[Any]:
    """The attribute's value now and, when this flush changed it, before."""
    history = inspect(obj).attrs[name].history
    return [getattr(obj, name), *(history.deleted or ())]


def _collect(session: Session) -> None:
    models: set[int] = set()
    cells: set[tuple[int, int]] = set()
    teams: set[int] = set()
    team_of: dict[int, int] = {}
    events = [o for o in (*session.new, *session.dirty, *session.deleted)
              if isinstance(o, LifecycleEvent)]
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, MLModel):
            changed = _history(obj, "team_id")
            if obj in session.deleted or len(changed) > 1:
                teams.update(t for t in changed if t is not None)
    if events:
        ids = {m for e in events for m in _history(e, "model_id") if m is not None}
        team_of = dict(session.connection().execute(
            select(MLModel.id, MLModel.team_id).where(MLModel.id.in_(ids))).all())
    for obj in events:
        ids = [m for m in _history(obj, "model_id") if m is not None]
        models.update(ids)
        types = _history(obj, "type")
        if any(EventType(t) in COUNTED for t in types if t is not None):
            for model_id in ids:
                for moment in _history(obj, "occurred_at"):
                    if moment is not None and model_id in team_of:
                        cells.add((team_of[model_id], month_of(moment)))
    for key, found in ((_MODELS, models), (_CELLS, cells), (_TEAMS, teams)):
        if found:
            session.info.setdefault(key, set()).update(found)


keep_in_step((_MODELS, _CELLS, _TEAMS), _collect, refresh_pending)


def fresh(session: Session) -> None:
    """Before reading the derived tables: this session's own writes are in them."""
    if (session.new or session.dirty or session.deleted
            or any(session.info.get(key) for key in (_MODELS, _CELLS, _TEAMS))):
        session.flush()
        refresh_pending(session)

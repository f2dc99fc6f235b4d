"""Each model's milestones (model_milestone), kept in step with its lifecycle events.

Every velocity metric starts from "the first occurrence of each milestone per model"; computing
that from all events on every request grows with the event history (500 000 events: ~250 ms per
metric). The rows are rebuilt for the models whose events a flush touched, before the
transaction commits and before any read of them in that session, by the same aggregate the
metrics used to run inline (`milestone_rows`). Writes that bypass the ORM call `rebuild`.
"""

from typing import Any

from sqlalchemy import Connection, case, delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from app.velocity import metrics
from app.velocity.models import EventType, LifecycleEvent, ModelMilestone

_PENDING = "model_milestone_pending"
# More models than this in one transaction (an import, a sync): rebuild every row.
MAX_MODELS = 500
_COLUMNS = ["model_id", *metrics.MILESTONES, "earliest"]


def milestone_rows(model_ids: Any = None) -> Any:
    """One row per model from its events: first of each milestone, earliest event."""
    query = select(LifecycleEvent.model_id, *[
        func.min(case((LifecycleEvent.type == EventType(name), LifecycleEvent.occurred_at)))
        for name in metrics.MILESTONES
    ], func.min(LifecycleEvent.occurred_at))
    if model_ids is not None:
        query = query.where(LifecycleEvent.model_id.in_(model_ids))
    return query.group_by(LifecycleEvent.model_id)


def rebuild(connection: Connection, model_ids: set[int] | None = None) -> None:
    """Rows of `model_ids` (every model when None) afresh from lifecycle_event."""
    table = ModelMilestone.__table__
    clear = delete(table)
    if model_ids is not None:
        clear = clear.where(table.c.model_id.in_(model_ids))
    connection.execute(clear)
    connection.execute(insert(table).from_select(_COLUMNS, milestone_rows(model_ids)))


def refresh_pending(session: Session) -> None:
    pending: set[int] | None = session.info.pop(_PENDING, None)
    if pending:
        rebuild(session.connection(), None if len(pending) > MAX_MODELS else pending)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    touched = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, LifecycleEvent):
            touched.add(obj.model_id)
            touched.update(inspect(obj).attrs.model_id.history.deleted or ())
    touched.discard(None)
    if touched:
        session.info.setdefault(_PENDING, set()).update(touched)


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    session.flush()
    refresh_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


def fresh(session: Session) -> None:
    """Before reading model_milestone: this session's own writes are in it."""
    if session.info.get(_PENDING) or session.new or session.dirty or session.deleted:
        session.flush()
        refresh_pending(session)

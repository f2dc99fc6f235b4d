"""Each model's value of every calendar month, kept in step with what it is computed from.

Value delivered in a period (docs/product.md, "Model value") is a sum over the calendar months
it touches of each model's *monthly value* — measured from its KPI observations, or estimated
from its PERT annual value and its days in production — pro-rated to the days of the month
inside the period; compute cost likewise. The monthly figures do not depend on the period, and
computing them on every view (production overlaps, KPI sums and exact NUMERIC arithmetic for
every model and month of twelve quarters: ~15 s at L) is what made the value dashboard slow.
So `month_values` computes them once per (model, month) into `model_value_month`, and a read
pro-rates those rows (app/value/queries.py `_value_rows`); the live answer is the same
`month_values` over the months asked for, so the figures are the same to the last digit.

- **Marks.** A flush that changes a model's deployed/retired events, KPI observations, KPIs,
  compute costs or annual values marks the model; its rows are recomputed before the
  transaction commits and before a read of them in that session (app/core/derived.py).
- **Horizon.** A model still in production has estimated value in every month to come, so the
  rows stop at a horizon (`model_value_state`): `HORIZON_MONTHS` after today's month, which
  covers the last quarter the dashboards offer whatever the fiscal year's start. A read of a
  month past it, or with a filter the rows do not answer, is live. `northstar maintain` rolls
  the horizon forward (the new months' rows are added; the others do not change).
"""

from collections.abc import Callable, Hashable, Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Connection, Date, Integer, and_, case, delete, func, insert, inspect, literal, or_, select,
    text, union_all, update,
)
from sqlalchemy.orm import Session

from app.core import clock
from app.core.clock import utcnow
from app.core.derived import Kept, attribute_values, keep, lock_table
from app.core.formula_ops import EPOCH
from app.core.sql import SQL, utc_day_number
from app.ml_models.models import ComputeCost, EventType, LifecycleEvent, MLModel
from app.pain_points.cost import day_number
from app.value import formulas as f
from app.value.models import (
    Kpi, KpiObservation, ModelValueMonth, ModelValueState,
)
from app.value.production import period_rows, touched_models
from app.velocity.milestones import MAX_PENDING

# The dashboards offer four quarters after the current one (app/dashboards/filters.py): the
# last of them ends at most 2 + 12 months after today's month, whatever the fiscal year.
HORIZON_MONTHS = 14
FIGURES = ("low", "value", "high", "measured", "estimated", "compute")
_COLUMNS = ["month", "model_id", *FIGURES]  # the order of `month_values`

Scope = Callable[[Any, Any], Any]  # (query, model id column) -> the query restricted


def horizon(today: date) -> date:
    """The first day of the last month the rows cover."""
    month = f.month_start(today)
    for _ in range(HORIZON_MONTHS):
        month = f.next_month(month)
    return month


def calendar(months: Iterable[date]):
    """One row per calendar month, with the day numbers and the year's days the estimate needs
    (exact numeric constants, so that SQLite never divides integers)."""
    rows = [select(literal(month, Date()).label("month"),
                   literal(day_number(month), Integer()).label("start_day"),
                   literal(day_number(f.next_month(month)), Integer()).label("end_day"),
                   SQL.num(f.days_in_year(month.year)).label("year_days"))
            for month in months]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).cte("value_calendar")


def month_values(months: Any, production: Any, scope: Scope):
    """(month, model_id, low, value, high, measured, estimated, compute) of every model in
    `scope` with production days, a KPI observation or a compute cost in one of `months`
    (a `calendar`): the whole month's figures. `production` holds the [start_day, end_day)
    stretches in production (model_id, start_day, end_day; end_day NULL: still is)."""
    prod = production
    overlap = SQL.greatest(
        SQL.least(func.coalesce(prod.c.end_day, months.c.end_day), months.c.end_day)
        - SQL.greatest(prod.c.start_day, months.c.start_day), SQL.whole(0))
    produced = select(months.c.month, prod.c.model_id, func.sum(overlap).label("days"),
                      literal(0).label("has"), SQL.num(0).label("measured"),
                      SQL.num(0).label("compute")).join(
        prod, and_(prod.c.start_day < months.c.end_day,
                   or_(prod.c.end_day.is_(None), prod.c.end_day > months.c.start_day))
    ).group_by(months.c.month, prod.c.model_id)
    ko = KpiObservation
    measured = scope(select(months.c.month, ko.model_id, literal(0).label("days"),
                            literal(1).label("has"),
                            func.sum(ko.amount * Kpi.value_per_unit).label("measured"),
                            SQL.num(0).label("compute"))
                     .join(Kpi, Kpi.id == ko.kpi_id)
                     .join(months, months.c.month == ko.month), ko.model_id
                     ).group_by(months.c.month, ko.model_id)
    cc = ComputeCost  # one per (model, month)
    compute = scope(select(months.c.month, cc.model_id, literal(0).label("days"),
                           literal(0).label("has"), SQL.num(0).label("measured"),
                           cc.amount.label("compute"))
                    .join(months, months.c.month == cc.month), cc.model_id)
    parts = union_all(produced, measured, compute).subquery()
    per_month = select(parts.c.month, parts.c.model_id, func.sum(parts.c.days).label("days"),
                       func.max(parts.c.has).label("has"),
                       func.sum(parts.c.measured).label("measured"),
                       func.sum(parts.c.compute).label("compute")).group_by(
        parts.c.month, parts.c.model_id).subquery()
    m = MLModel
    is_measured = per_month.c.has == 1

    def month_value(annual: Any) -> Any:
        return case((is_measured, per_month.c.measured),
                    else_=func.coalesce(f.estimated_month_value(annual, per_month.c.days,
                                                                months.c.year_days),
                                        SQL.num(0)))

    expected = month_value(f.pert(m.annual_value_low, m.annual_value_likely,
                                  m.annual_value_high, SQL))
    return select(
        per_month.c.month, per_month.c.model_id, month_value(m.annual_value_low).label("low"),
        expected.label("value"), month_value(m.annual_value_high).label("high"),
        case((is_measured, expected), else_=SQL.num(0)).label("measured"),
        case((is_measured, SQL.num(0)), else_=expected).label("estimated"),
        per_month.c.compute.label("compute"),
    ).join(months, months.c.month == per_month.c.month).join(m, m.id == per_month.c.model_id)


# --- kept in step ---------------------------------------------------------------------------

def _among(model_ids: set[int] | None) -> Scope:
    if model_ids is None:
        return lambda query, _column: query
    return lambda query, column: query.where(column.in_(model_ids))


def _first_month(connection: Connection, model_ids: set[int] | None) -> date | None:
    """The first month in which one of the models may have production days (that of its first
    deployment), a KPI observation or a compute cost (None: none has)."""
    scope = _among(model_ids)
    e, ko, cc = LifecycleEvent, KpiObservation, ComputeCost
    first_day = connection.scalar(scope(select(func.min(utc_day_number(e.occurred_at)))
                                        .where(e.type == EventType.deployed), e.model_id))
    months = [connection.scalar(scope(select(func.min(ko.month)), ko.model_id)),
              connection.scalar(scope(select(func.min(cc.month)), cc.model_id))]
    if first_day is not None:
        months.append(EPOCH + timedelta(days=first_day))
    found = [f.month_start(f.as_date(m)) for m in months if m is not None]
    return min(found) if found else None


def covered_months(connection: Connection, model_ids: set[int] | None = None) -> list[date]:
    """The months the rows of the models (None: all) cover: from the first in which one has
    production days, a KPI observation or a compute cost, to the horizon (none: not built)."""
    state = _state(connection)
    first = _first_month(connection, model_ids)
    if state is None or first is None:
        return []
    return f.months_touching(first, f.as_date(state.horizon))


def _fill(connection: Connection, model_ids: set[int] | None, months: list[date]) -> None:
    """Inserts the rows of the models (None: all) for `months`."""
    if not months:
        return
    # The periods from the events, not production_period: a refresh of these rows never
    # depends on whether that table's own marks were refreshed first.
    periods = period_rows(model_ids).subquery("production")
    rows = month_values(calendar(months), periods, _among(model_ids))
    connection.execute(insert(ModelValueMonth.__table__).from_select(_COLUMNS, rows))


def _state(connection: Connection) -> Any:
    return connection.execute(select(ModelValueState.__table__)).one_or_none()


def _refresh(connection: Connection, model_ids: set[int]) -> None:
    """Recomputes the marked models' rows up to the horizon the rows were built for. Not
    built yet: nothing to keep."""
    state = _state(connection)
    if state is None:
        return
    table = ModelValueMonth.__table__
    connection.execute(delete(table).where(table.c.model_id.in_(model_ids)))
    _fill(connection, model_ids, covered_months(connection, model_ids))


def rebuild(connection: Connection, *, today: date | None = None) -> None:
    """Every row afresh, up to the horizon of `today` (migrate, restore, the bench's bulk
    load, `northstar rebuild`)."""
    last = horizon(today or clock.today())
    table = ModelValueState.__table__
    state = {"id": 1, "horizon": last, "built_at": utcnow()}
    if connection.execute(update(table).values(**state)).rowcount == 0:
        connection.execute(insert(table).values(**state))
    connection.execute(delete(ModelValueMonth.__table__))
    _fill(connection, None, covered_months(connection))
    if connection.dialect.name == "postgresql":
        # Hundreds of thousands of new rows: the planner's statistics now, not at autovacuum's
        # leisure (a team filter otherwise scans every month's rows).
        connection.execute(text("ANALYZE model_value_month"))


def maintain(connection: Connection, *, today: date | None = None) -> bool:
    """`northstar maintain`: rolls the horizon forward when today's month has moved on (the
    new months' rows are added; reads past the old horizon were live until then)."""
    last = horizon(today or clock.today())
    state = _state(connection)
    if state is not None and f.as_date(state.horizon) >= last:
        return False
    lock_table(connection, MONTHS)
    state = _state(connection)
    if state is None:
        rebuild(connection, today=today)
        return True
    _fill(connection, None, f.months_touching(f.next_month(f.as_date(state.horizon)), last))
    connection.execute(update(ModelValueState.__table__).values(horizon=last,
                                                                built_at=utcnow()))
    return True


def covers(session: Session, last: date) -> bool:
    """Whether the rows are built and reach the month of `last`."""
    built = session.scalar(select(ModelValueState.horizon))
    return built is not None and f.month_start(last) <= f.as_date(built)


# What a model's monthly value depends on, besides its events and facts rows.
_MODEL_INPUTS = ("annual_value_low", "annual_value_likely", "annual_value_high")


def _touched(session: Session) -> set[Hashable]:
    models: set[Hashable] = set(touched_models(session))
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, (KpiObservation, ComputeCost, Kpi)):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            models.update(m for m in attribute_values(obj, "model_id") if m is not None)
        elif isinstance(obj, MLModel):
            attrs = inspect(obj).attrs
            if obj in session.dirty and not any(attrs[name].history.has_changes()
                                                for name in _MODEL_INPUTS):
                continue
            if obj.id is not None:
                models.add(obj.id)
    return models


MONTHS = keep(Kept(
    name="model_value_month",  # with model_value_state
    depends_on=("lifecycle_event", "kpi_observation", "kpi", "compute_cost", "ml_model"),
    touched=_touched,
    refresh=lambda connection, scopes: _refresh(connection, set(scopes)),  # type: ignore[arg-type]
    rebuild=rebuild,
    lock_keys=lambda model_id: (model_id,),  # type: ignore[arg-type,return-value]
    # The value queries filter the rows by model id, which every value filter names.
    answers=frozenset({"team_ids", "model_ids"}),
    lock_class=1802,
    max_scopes=MAX_PENDING,
    maintain=maintain,
))

"""Quarter totals of pain-point cost, kept in step with every write they depend on.

Whole quarters are what the dashboards, the metrics API and the quarterly report ask for, and
evaluating docs/product.md's cost formula on every pain point for each of them grows with the
organisation (seconds at 100 000 pain points). So the formula runs ahead, once per (quarter,
team, persona, stage), with exactly the expressions of the live query (`queries.period_measures`),
and a read sums those rows. Correctness rests on two rules:

- **Same transaction.** Every flush that changes a pain point, a team's hourly cost for a persona
  or a persona's default hourly cost marks the (team, persona, stage) scopes it touched
  (app/core/derived.py); their rows are recomputed before the transaction commits, and before
  any summary read in that same session. A reader never sees a total that disagrees with the
  pain points it can see. Writers of different teams lock different keys and never wait for
  each other; a change that spans teams (a persona's default cost) locks the whole table.
- **Run-rates.** Each live recurring pain point's as-if-open run-rate is stored beside the
  dates that decide whether it runs on a day (pain_point_run_rate), so the costliest pain
  points are read off an index; the figures shown are still computed from the pain points.
- **Covered or live.** The rows cover the quarters the dashboards offer (`WINDOW_PAST` back from
  the current quarter, `WINDOW_FUTURE` ahead) for the org settings they were built with
  (pain_point_cost_summary). A period that is not a run of covered whole quarters, a filter
  outside `KEPT.answers`, other weeks or fiscal year than the rows were built with, or a
  database without a built summary is computed live, by the same formula. No request rebuilds
  them: `northstar maintain` (scheduled) rolls the window forward when a quarter begins and
  rebuilds after a change of the org's weeks or fiscal year.

Writes that bypass the ORM call `derived.rebuild_all` (the benchmark's COPY, a restore) or
`derived.mark` (an import's bulk INSERT: `Added`).
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Connection, Date, and_, bindparam, case, delete, func, insert, inspect, literal, or_, select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core import clock
from app.core.bulk import among, among_parameter
from app.core.derived import Kept, answers, fresh, keep, lock_table
from app.core.periods import Quarter, last_quarters, quarter_of
from app.core.sql import SQL
from app.core.clock import utcnow
from app.pain_points.models import (
    CostQuarter, CostSummaryState, PainPoint, PainPointKind, RunRateRank,
)
from app.pain_points.measures import (
    CostFigures, GridCell, GroupBy, PainPointFilters, PeriodCost, cost_in_period, exact_sum,
    figures_from_rows, grid_from_rows, group_columns, period_measures, resolved_by, run_rate,
    to_decimal, with_costs,
)
from app.settings.models import OrgSettings
from app.teams.models import Persona, Stage, Team, TeamPersona

# The dashboards' quarter selects offer 20 quarters back and 4 ahead (app/dashboards/filters.py).
WINDOW_PAST = 20
WINDOW_FUTURE = 4
# More scopes than this in one transaction (an import, a bulk change): rebuild everything.
MAX_SCOPES = 200

Scope = tuple[int | None, int | None, int | None]  # (team, persona, stage); None: any
EVERYTHING: Scope = (None, None, None)
_MEASURES = ("cost", "cost_low", "cost_high", "run_rate", "run_rate_low", "run_rate_high",
             "hours_per_week", "pain_points", "active_pain_points")


def window(today: date, start_month: int) -> list[Quarter]:
    quarters = last_quarters(quarter_of(today, start_month), WINDOW_PAST)
    for _ in range(WINDOW_FUTURE):
        quarters.append(quarters[-1].next())
    return quarters


# --- building -------------------------------------------------------------------------------

def _scope_condition(scopes: Iterable[Scope], team: Any, persona: Any, stage: Any) -> Any:
    clauses = []
    for scope in scopes:
        parts = [column == value for column, value in zip((team, persona, stage), scope)
                 if value is not None]
        clauses.append(and_(*parts) if parts else literal(True))
    return or_(*clauses)


def _quarter_rows(quarter: Quarter, weeks: Decimal, condition: Any) -> Any:
    first, last = quarter.first_day, quarter.last_day
    measures = period_measures(first, last, weeks)
    cost_resolved = exact_sum(case((resolved_by(last),
                                    cost_in_period("expected", weeks, first, last)),
                                   else_=SQL.num(0)))
    return (with_costs(select(
        literal(first, Date()), literal(last, Date()), PainPoint.team_id, PainPoint.persona_id,
        PainPoint.stage_id, *(measures[name] for name in _MEASURES), cost_resolved))
        .where(PainPoint.deleted_at.is_(None), PainPoint.observed_since <= last, condition)
        .group_by(PainPoint.team_id, PainPoint.persona_id, PainPoint.stage_id))


_COLUMNS = ["quarter_first", "quarter_last", "team_id", "persona_id", "stage_id", *_MEASURES,
            "cost_resolved"]


def _recompute(connection: Connection, state: Any, scopes: set[Scope]) -> None:
    """Replaces the rows of `scopes`: each pain point's run-rate, and every quarter of the
    state's window (one INSERT … SELECT per quarter, an aggregate over the scopes' pain
    points)."""
    condition = _scope_condition(scopes, PainPoint.team_id, PainPoint.persona_id,
                                 PainPoint.stage_id)
    ranks = RunRateRank.__table__
    connection.execute(delete(ranks).where(_scope_condition(
        scopes, ranks.c.team_id, ranks.c.persona_id, ranks.c.stage_id)))
    connection.execute(insert(ranks).from_select(
        ["pain_point_id", "team_id", "persona_id", "stage_id", "observed_since", "resolved_on",
         "run_rate"],
        with_costs(select(PainPoint.id, PainPoint.team_id, PainPoint.persona_id,
                          PainPoint.stage_id, PainPoint.observed_since, PainPoint.resolved_on,
                          run_rate("expected", state.working_weeks_per_year)))
        .where(PainPoint.deleted_at.is_(None), PainPoint.kind == PainPointKind.recurring,
               condition)))
    table = CostQuarter.__table__
    connection.execute(delete(table).where(_scope_condition(
        scopes, table.c.team_id, table.c.persona_id, table.c.stage_id)))
    quarter = quarter_of(state.first_day, state.fiscal_year_start_month)
    [scope] = scopes if len(scopes) == 1 else [None]
    while quarter.first_day <= state.last_day:
        if scope is not None:  # one save: a statement built once, its scope as parameters
            statement = _one_scope_insert(quarter.first_day, state.fiscal_year_start_month,
                                          state.working_weeks_per_year,
                                          tuple(v is not None for v in scope))
            connection.execute(statement, {name: v for name, v in zip(_SCOPE_PARAMS, scope)
                                           if v is not None})
        else:
            connection.execute(insert(table).from_select(
                _COLUMNS, _quarter_rows(quarter, state.working_weeks_per_year, condition)))
        quarter = quarter.next()


_SCOPE_PARAMS = ("scope_team", "scope_persona", "scope_stage")


@lru_cache(maxsize=256)
def _one_scope_insert(first: date, start_month: int, weeks: Decimal,
                      shape: tuple[bool, bool, bool]) -> Any:
    """The INSERT … SELECT of one quarter for one scope of this shape (which of team, persona,
    stage it names), its values left as parameters: building the cost formula's expression
    took longer than running it, on every save."""
    columns = (PainPoint.team_id, PainPoint.persona_id, PainPoint.stage_id)
    parts = [column == bindparam(name) for column, name, named
             in zip(columns, _SCOPE_PARAMS, shape, strict=True) if named]
    condition = and_(*parts) if parts else literal(True)
    return insert(CostQuarter.__table__).from_select(
        _COLUMNS, _quarter_rows(quarter_of(first, start_month), weeks, condition))


def _org(connection: Connection) -> tuple[int, Decimal] | None:
    row = connection.execute(select(OrgSettings.fiscal_year_start_month,
                                    OrgSettings.working_weeks_per_year)).one_or_none()
    return None if row is None else (row[0], row[1])


def rebuild(connection: Connection, *, today: date | None = None) -> None:
    """Builds every row afresh for the current window and org settings (after a bulk load, a
    restore, a change of weeks or fiscal year: `derived.rebuild_all`, `northstar maintain`)."""
    org = _org(connection)
    if org is None:
        return
    start_month, weeks = org
    quarters = window(today or clock.today(), start_month)
    state = {"id": 1, "fiscal_year_start_month": start_month, "working_weeks_per_year": weeks,
             "first_day": quarters[0].first_day, "last_day": quarters[-1].last_day,
             "anchor": quarter_of(today or clock.today(), start_month).first_day,
             "built_at": utcnow()}
    table = CostSummaryState.__table__
    if connection.execute(update(table).values(**state)).rowcount == 0:
        connection.execute(insert(table).values(**state))
    _recompute(connection, SimpleNamespace(**state), {EVERYTHING})


def _roll_forward(connection: Connection, state: Any, quarters: list[Quarter]) -> None:
    """Moves the window to `quarters` (same settings): the quarters that left it are deleted,
    the new ones computed for every scope; the rows of the others are unchanged."""
    table = CostQuarter.__table__
    first, last = quarters[0].first_day, quarters[-1].last_day
    connection.execute(delete(table).where(or_(table.c.quarter_first < first,
                                               table.c.quarter_first > last)))
    weeks = state.working_weeks_per_year
    for quarter in quarters:
        if state.first_day <= quarter.first_day <= state.last_day:
            continue
        connection.execute(insert(table).from_select(
            _COLUMNS, _quarter_rows(quarter, weeks, literal(True))))
    connection.execute(update(CostSummaryState.__table__).values(
        first_day=first, last_day=last, anchor=quarters[-1 - WINDOW_FUTURE].first_day,
        built_at=utcnow()))


def maintain(connection: Connection, *, today: date | None = None) -> bool:
    """`northstar maintain`: rebuilds when the org's weeks or fiscal year differ from what the
    rows were built with (reads are live until then), and rolls the window forward when the
    current quarter has moved on (reads of quarters past it are live until then)."""
    today = today or clock.today()
    org = _org(connection)
    state = connection.execute(select(CostSummaryState.__table__)).one_or_none()
    if org is None:
        return False
    start_month, _ = org
    quarters = window(today, start_month)
    stale = state is None or (state.fiscal_year_start_month,
                              state.working_weeks_per_year) != org
    if not stale and (state.first_day, state.last_day) == (quarters[0].first_day,
                                                           quarters[-1].last_day):
        return False
    lock_table(connection, KEPT)
    state = connection.execute(select(CostSummaryState.__table__)).one_or_none()
    if stale or state is None or quarters[0].first_day < state.first_day:
        rebuild(connection, today=today)
    else:
        _roll_forward(connection, state, quarters)
    return True


@dataclass(frozen=True)
class Added:
    """Pain points inserted in bulk (an import, `service.add_pain_points`): their figures are
    added to the stored totals instead of recomputing every scope they fall in."""
    rows: tuple[tuple[int, int, int, int], ...]  # (pain point, team, persona, stage)


def _covered(scopes: set[Hashable], team: int, persona: int, stage: int) -> bool:
    """Whether one of `scopes` (None: any) contains (team, persona, stage)."""
    return any((t, p, s) in scopes for t in (team, None) for p in (persona, None)
               for s in (stage, None))


# IN lists of an added batch stay well under SQLite's limit of bound parameters.
ADD_CHUNK = 5000


def _add(connection: Connection, state: Any, ids: list[int]) -> None:
    """Adds the figures of the new pain points `ids` to every quarter's rows of their scopes
    (an upsert: the totals are sums) and their run-rates to the index."""
    weeks = state.working_weeks_per_year
    dialect = connection.dialect.name
    # PostgreSQL takes the ids as one array parameter: no chunks.
    size = len(ids) if dialect == "postgresql" else ADD_CHUNK
    for start in range(0, len(ids), size):
        new = among(PainPoint.id, ids[start:start + size], dialect)
        connection.execute(insert(RunRateRank.__table__).from_select(
            ["pain_point_id", "team_id", "persona_id", "stage_id", "observed_since",
             "resolved_on", "run_rate"],
            with_costs(select(PainPoint.id, PainPoint.team_id, PainPoint.persona_id,
                              PainPoint.stage_id, PainPoint.observed_since,
                              PainPoint.resolved_on, run_rate("expected", weeks)))
            .where(PainPoint.deleted_at.is_(None), PainPoint.kind == PainPointKind.recurring,
                   new)))
        quarter = quarter_of(state.first_day, state.fiscal_year_start_month)
        while quarter.first_day <= state.last_day:
            connection.execute(_added_upsert(quarter.first_day, state.fiscal_year_start_month,
                                             weeks, dialect),
                               {"added": ids[start:start + size]})
            quarter = quarter.next()


@lru_cache(maxsize=256)
def _added_upsert(first: date, start_month: int, weeks: Decimal, dialect: str) -> Any:
    """The upsert of one quarter's figures of the pain points `added` (an import's new rows)
    into their scopes' rows, the ids left as a parameter: built once, as `_one_scope_insert`
    is; building the cost formula's expression for every quarter of the window took four
    times longer than running the statements, on every import."""
    table = CostQuarter.__table__
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new = among_parameter(PainPoint.id, "added", dialect)
    statement = upsert(table).from_select(
        _COLUMNS, _quarter_rows(quarter_of(first, start_month), weeks, new))
    return statement.on_conflict_do_update(
        index_elements=["quarter_first", "team_id", "persona_id", "stage_id"],
        set_={name: table.c[name] + statement.excluded[name]
              for name in (*_MEASURES, "cost_resolved")})


def _refresh(connection: Connection, marks: set[Hashable]) -> None:
    """Recomputes the rows of the marked scopes (and adds those of pain points added in bulk)
    for the window and settings the rows were built with (a change of settings, or a new
    quarter, waits for `northstar maintain`; reads that the rows no longer answer are live
    until then). Not built yet: nothing to keep."""
    state = connection.execute(select(CostSummaryState.__table__)).one_or_none()
    if state is None:
        return
    scopes = {m for m in marks if not isinstance(m, Added)}
    if EVERYTHING in scopes:
        rebuild(connection)
        return
    if scopes:
        _recompute(connection, state, scopes)  # type: ignore[arg-type]
    added = [pain_point for mark in marks if isinstance(mark, Added)
             for pain_point, *scope in mark.rows if not _covered(scopes, *scope)]
    if added:
        _add(connection, state, added)


def _replay(marks: set[Hashable]) -> set[Hashable]:
    """After a savepoint rolled back: added rows are recomputed by their scopes instead (adding
    them twice would count them twice)."""
    return ({m for m in marks if not isinstance(m, Added)}
            | {tuple(row[1:]) for m in marks if isinstance(m, Added) for row in m.rows})


def _lock_keys(mark: Hashable) -> Iterable[int] | None:
    if isinstance(mark, Added):
        return {row[1] for row in mark.rows}
    team = mark[0]  # type: ignore[index]
    return None if team is None else (team,)


# --- what a flush touched -------------------------------------------------------------------

def _old_and_new(obj: Any, *names: str) -> list[tuple[Any, ...]]:
    """The values of `names` now, and before this flush where any of them changed."""
    state = inspect(obj)
    now = tuple(getattr(obj, name) for name in names)
    before = tuple(
        (h.deleted[0] if h.deleted else getattr(obj, name))
        for name in names for h in [state.attrs[name].history]
    )
    return [now] if before == now else [now, before]


# What a pain point's cost depends on (not its title, description, status or evidence).
_COST_INPUTS = ("team_id", "persona_id", "stage_id", "kind", "hours_low", "hours_likely",
                "hours_high", "people_affected", "observed_since", "resolved_on", "deleted_at")


def _touched(session: Session) -> set[Scope]:
    scopes: set[Scope] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, PainPoint):
            attrs = inspect(obj).attrs
            if obj in session.dirty and not any(attrs[name].history.has_changes()
                                                for name in _COST_INPUTS):
                continue
            for team, persona, stage in _old_and_new(obj, "team_id", "persona_id", "stage_id"):
                scopes.add((team, persona, stage))
        elif isinstance(obj, TeamPersona):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            for team, persona in _old_and_new(obj, "team_id", "persona_id"):
                scopes.add((team, persona, None))
        elif isinstance(obj, Persona):
            if obj in session.new or inspect(obj).attrs.hourly_cost.history.has_changes() \
                    or obj in session.deleted:
                scopes.add((None, obj.id, None))
    return scopes


KEPT = keep(Kept(
    name="pain_point_cost_quarter",  # with pain_point_run_rate and pain_point_cost_summary
    depends_on=("pain_point", "team_persona", "persona", "org_settings"),
    touched=_touched,  # type: ignore[arg-type]
    refresh=_refresh,
    rebuild=rebuild,
    lock_keys=_lock_keys,
    replay=_replay,
    answers=frozenset({"team_ids", "persona_id", "stage_id"}),
    lock_class=1301,
    max_scopes=MAX_SCOPES,
    maintain=maintain,
))


# --- reading --------------------------------------------------------------------------------

_SIMPLE = PainPointFilters()


def _state(session: Session, filters: PainPointFilters, weeks: Decimal) -> Any:
    """The summary's state when its rows can answer these filters and weeks, else None."""
    if not answers(KEPT, filters):
        return None
    fresh(session, KEPT.name)
    state = session.execute(select(CostSummaryState)).scalar_one_or_none()
    if state is None or state.working_weeks_per_year != weeks:
        return None  # built for other weeks: live until `northstar maintain` rebuilds
    # A quarter's rows do not depend on the fiscal year (only on its first and last day):
    # after a change of its start they answer the periods that are still stored quarters.
    return state


def _quarters(state: Any, first: date, last: date) -> tuple[date, date] | None:
    """(first day of the first quarter, first day of the last quarter) when [first, last] is a
    run of whole quarters the rows cover; None when it must be live."""
    month = state.fiscal_year_start_month
    head, tail = quarter_of(first, month), quarter_of(last, month)
    if (head.first_day != first or tail.last_day != last or first < state.first_day
            or last > state.last_day):
        return None
    return head.first_day, tail.first_day


def _filtered(query: Any, filters: PainPointFilters, table: Any = CostQuarter) -> Any:
    """The filters a derived table can answer (team, persona, stage) on its own columns."""
    if filters.team_ids is not None:
        query = query.where(table.team_id.in_(filters.team_ids))
    if filters.persona_id is not None:
        query = query.where(table.persona_id == filters.persona_id)
    if filters.stage_id is not None:
        query = query.where(table.stage_id == filters.stage_id)
    return query


def _joined(query: Any, group: GroupBy | None) -> Any:
    if group is GroupBy.stage:
        return query.join(Stage, Stage.id == CostQuarter.stage_id)
    if group is GroupBy.persona:
        return query.join(Persona, Persona.id == CostQuarter.persona_id)
    if group is GroupBy.team:
        return query.join(Team, Team.id == CostQuarter.team_id)
    return query


def cost_figures(session: Session, filters: PainPointFilters, *, first: date, last: date,
                 weeks: Decimal, group_by: GroupBy | None = None) -> list[CostFigures] | None:
    """queries.cost_figures from the quarter rows, or None when they cannot answer it: cost
    summed over the quarters, run-rate, hours and counts of the last quarter (as of `last`)."""
    state = _state(session, filters, weeks)
    covered = state and _quarters(state, first, last)
    if not covered:
        return None
    _, last_quarter = covered
    at_end = CostQuarter.quarter_first == last_quarter

    def ending(column: Any) -> Any:
        return case((at_end, column), else_=0)

    keys = list(group_columns(group_by)) if group_by else []
    query = _joined(select(
        *keys,
        exact_sum(CostQuarter.cost), exact_sum(CostQuarter.cost_low),
        exact_sum(CostQuarter.cost_high), exact_sum(ending(CostQuarter.run_rate)),
        exact_sum(ending(CostQuarter.run_rate_low)), exact_sum(ending(CostQuarter.run_rate_high)),
        exact_sum(ending(CostQuarter.hours_per_week)),
        func.sum(ending(CostQuarter.pain_points)), func.sum(ending(CostQuarter.active_pain_points)),
    ), group_by)
    query = _filtered(query, filters).where(CostQuarter.quarter_first.between(*covered))
    if keys:
        query = query.group_by(*keys).order_by(keys[2])
    return figures_from_rows(session.execute(query), len(keys))


def run_rate_grid(session: Session, filters: PainPointFilters, *, day: date, weeks: Decimal,
                  rows: GroupBy, columns: GroupBy) -> list[GridCell] | None:
    """queries.run_rate_grid from the rows of the quarter that ends on `day`, or None."""
    state = _state(session, filters, weeks)
    if state is None:
        return None
    quarter = quarter_of(day, state.fiscal_year_start_month)
    covered = _quarters(state, quarter.first_day, day)
    if not covered:
        return None
    row_cols, column_cols = group_columns(rows), group_columns(columns)
    query = _joined(_joined(select(
        *row_cols, *column_cols,
        exact_sum(CostQuarter.run_rate), exact_sum(CostQuarter.run_rate_low),
        exact_sum(CostQuarter.run_rate_high), exact_sum(CostQuarter.hours_per_week),
        func.sum(CostQuarter.active_pain_points)), rows), columns)
    query = (_filtered(query, filters).where(CostQuarter.quarter_first == covered[0])
             .group_by(*row_cols, *column_cols)
             .having(func.sum(CostQuarter.active_pain_points) > 0)
             .order_by(row_cols[2], column_cols[2]))
    return grid_from_rows(session.execute(query))


def cost_by_period(session: Session, filters: PainPointFilters, *,
                   periods: list[tuple[date, date]], weeks: Decimal) -> list[PeriodCost] | None:
    """queries.cost_by_period when every period is one covered quarter, else None."""
    state = _state(session, filters, weeks)
    if state is None:
        return None
    starts = []
    for first, last in periods:
        covered = _quarters(state, first, last)
        if not covered or covered[0] != covered[1]:
            return None
        starts.append(first)
    query = _filtered(select(
        CostQuarter.quarter_first,
        exact_sum(CostQuarter.cost - CostQuarter.cost_resolved), exact_sum(CostQuarter.cost_resolved),
        exact_sum(CostQuarter.cost_low), exact_sum(CostQuarter.cost_high),
    ), filters).where(CostQuarter.quarter_first.in_(starts)).group_by(CostQuarter.quarter_first)
    found = {row[0]: row[1:] for row in session.execute(query)}
    return [PeriodCost(first, last, *(to_decimal(v) for v in found.get(first, (None,) * 4)))
            for first, last in periods]


def stored_run_rates(session: Session, weeks: Decimal) -> bool:
    """Whether pain_point_run_rate holds every live recurring pain point's run-rate for `weeks`
    (this session's own writes included)."""
    return _state(session, _SIMPLE, weeks) is not None


def costliest_ids(session: Session, filters: PainPointFilters, *, day: date, weeks: Decimal,
                  limit: int) -> Any | None:
    """A subquery of the `limit` pain points with the largest run-rate that run on `day` (as
    queries.top_run_rates orders them), read off the run-rate index; None when the stored
    run-rates cannot answer (not built, other weeks, a filter they do not hold)."""
    if _state(session, filters, weeks) is None:
        return None
    query = _filtered(select(RunRateRank.pain_point_id).where(
        RunRateRank.observed_since <= day,
        or_(RunRateRank.resolved_on.is_(None), RunRateRank.resolved_on > day)),
        filters, RunRateRank)
    return (query.order_by(RunRateRank.run_rate.desc(), RunRateRank.pain_point_id.desc())
            .limit(limit).scalar_subquery())

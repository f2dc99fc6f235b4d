"""Reads of pain points: the ledger list, one pain point, and the cost aggregates.

Costs are computed by the database with the expressions of `cost.py` (through `core.sql.SQL`),
so a list row, a dashboard tile and the metrics API all run the same arithmetic.
"""

import enum
import statistics
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.sql import SQL
from app.pain_points import cost
from app.pain_points import summary
from app.pain_points.measures import (
    CostFigures, GridCell, GroupBy, PainPointFilters, PeriodCost, active_on, annual_cost,
    cost_in_period, exact_sum, figures_from_rows, grid_from_rows, group_columns, hourly_cost,
    hours_of, one_time, period_measures, resolved_by, run_rate, to_decimal, with_costs,
)
from app.pain_points.models import Confirmation, PainPoint, PainPointKind, PainPointStatus
from app.teams.models import Persona, Stage, Team, TeamPersona



# --- filters ----------------------------------------------------------------------------------

class Sort(enum.StrEnum):
    cost = "cost"
    hours = "hours"
    newest = "newest"


def _apply(query, filters: PainPointFilters):
    if not filters.include_deleted:
        query = query.where(PainPoint.deleted_at.is_(None))
    if filters.team_ids is not None:
        query = query.where(PainPoint.team_id.in_(filters.team_ids))
    if filters.persona_id is not None:
        query = query.where(PainPoint.persona_id == filters.persona_id)
    if filters.stage_id is not None:
        query = query.where(PainPoint.stage_id == filters.stage_id)
    if filters.statuses:
        query = query.where(PainPoint.status.in_(filters.statuses))
    if filters.text:
        # autoescape: a % or _ typed by the user matches itself, not everything
        text = filters.text.lower()
        query = query.where(or_(func.lower(PainPoint.title).contains(text, autoescape=True),
                                func.lower(PainPoint.description).contains(text, autoescape=True)))
    if filters.observed_from is not None:
        query = query.where(PainPoint.observed_since >= filters.observed_from)
    if filters.observed_to is not None:
        query = query.where(PainPoint.observed_since <= filters.observed_to)
    return query


# --- the ledger -----------------------------------------------------------------------------

@dataclass
class LedgerRow:
    pain_point: PainPoint
    team: str
    team_slug: str
    persona: str
    stage: str
    hourly_cost: Decimal
    annual_cost: Decimal
    annual_cost_low: Decimal
    annual_cost_high: Decimal
    expected_hours: Decimal


def list_pain_points(
    session: Session, filters: PainPointFilters, *, weeks: Decimal, sort: Sort = Sort.cost,
    offset: int = 0, limit: int = 50,
) -> tuple[list[LedgerRow], int]:
    """One page of the ledger with each row's costs, and the total count, in two statements."""
    expected = annual_cost("expected", weeks)
    base = _apply(select(PainPoint.id), filters)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    order = {
        Sort.cost: [expected.desc(), PainPoint.id.desc()],
        Sort.hours: [hours_of("expected").desc(), PainPoint.id.desc()],
        Sort.newest: [PainPoint.observed_since.desc(), PainPoint.id.desc()],
    }[sort]
    query = _apply(with_costs(select(
        PainPoint, Team.name, Team.slug, Persona.name, Stage.name, hourly_cost(), expected,
        annual_cost("low", weeks), annual_cost("high", weeks), hours_of("expected"),
    ).join(Team, Team.id == PainPoint.team_id).join(Stage, Stage.id == PainPoint.stage_id)),
        filters).order_by(*order).offset(offset).limit(limit)
    rows = [
        LedgerRow(pp, team, slug, persona, stage, to_decimal(rate), to_decimal(exp),
                  to_decimal(low), to_decimal(high), to_decimal(hours))
        for pp, team, slug, persona, stage, rate, exp, low, high, hours in session.execute(query)
    ]
    return rows, total


@dataclass(frozen=True)
class LedgerTotals:
    """What the filtered ledger adds up to: the run-rate of its recurring pain points that are
    not resolved (they go on costing), and the one-time efforts once. Deleted rows shown to
    an editor count nowhere."""

    recurring: int
    run_rate: Decimal
    run_rate_low: Decimal
    run_rate_high: Decimal
    one_time: int
    one_time_cost: Decimal
    one_time_low: Decimal
    one_time_high: Decimal


def ledger_totals(session: Session, filters: PainPointFilters, *,
                  weeks: Decimal) -> LedgerTotals:
    """One aggregate over the ledger's filters (all pages)."""
    recurring = and_(PainPoint.kind == PainPointKind.recurring,
                     PainPoint.status != PainPointStatus.resolved)
    once = PainPoint.kind == PainPointKind.one_time

    def total(condition: ColumnElement[bool], expression: ColumnElement[Decimal]) -> Any:
        return func.coalesce(exact_sum(case((condition, expression))), 0)

    live = replace(filters, include_deleted=False)
    row = session.execute(_apply(with_costs(select(
        func.count(case((recurring, 1))),
        *(total(recurring, run_rate(w, weeks)) for w in ("expected", "low", "high")),
        func.count(case((once, 1))),
        *(total(once, one_time(w)) for w in ("expected", "low", "high")),
    ).select_from(PainPoint)), live)).one()
    return LedgerTotals(row[0], *map(to_decimal, row[1:4]), row[4], *map(to_decimal, row[5:8]))


def get_row(session: Session, pain_point_id: int, *, weeks: Decimal,
            include_deleted: bool = True) -> LedgerRow | None:
    query = with_costs(select(
        PainPoint, Team.name, Team.slug, Persona.name, Stage.name, hourly_cost(),
        annual_cost("expected", weeks), annual_cost("low", weeks), annual_cost("high", weeks),
        hours_of("expected"),
    ).join(Team, Team.id == PainPoint.team_id).join(Stage, Stage.id == PainPoint.stage_id)
    ).where(PainPoint.id == pain_point_id)
    if not include_deleted:
        query = query.where(PainPoint.deleted_at.is_(None))
    found = session.execute(query).one_or_none()
    if found is None:
        return None
    pp, team, slug, persona, stage, rate, exp, low, high, hours = found
    return LedgerRow(pp, team, slug, persona, stage, to_decimal(rate), to_decimal(exp),
                     to_decimal(low), to_decimal(high), to_decimal(hours))


def org_headcount(session: Session, persona_id: int) -> int:
    """Everyone of a persona across the active teams (for the org-wide extrapolation)."""
    return session.scalar(
        select(func.coalesce(func.sum(TeamPersona.headcount), 0))
        .join(Team, Team.id == TeamPersona.team_id)
        .where(TeamPersona.persona_id == persona_id, Team.is_archived.is_(False))
    ) or 0


# --- confirmations -------------------------------------------------------------------------

MEDIAN_FROM = 3  # fewer answers would let one person's estimate be singled out


@dataclass
class ConfirmationSummary:
    count: int
    median_hours: Decimal | None
    mine: Confirmation | None = None


def confirmation_summary(session: Session, pain_point_id: int,
                         user_id: int | None) -> ConfirmationSummary:
    # A pain point has a handful of confirmations: bounded, not a scan of a table.
    rows = session.scalars(select(Confirmation).where(
        Confirmation.pain_point_id == pain_point_id)).all()
    hours = [to_decimal(c.hours) for c in rows]
    median = statistics.median(hours) if len(hours) >= MEDIAN_FROM else None
    mine = next((c for c in rows if c.user_id == user_id), None)
    return ConfirmationSummary(len(rows), median, mine)


# --- cost aggregates (the metrics API and the dashboards) ----------------------------------


def cost_figures(
    session: Session, filters: PainPointFilters, *, first: date, last: date, weeks: Decimal,
    group_by: GroupBy | None = None,
) -> list[CostFigures]:
    """Cost in [first, last], annual run-rate and hours lost per week as of `last`, in total or
    per group, in one aggregate statement. Whole quarters come from the quarter totals that
    `summary.py` keeps (the same expressions, summed ahead); any other period is computed live."""
    found = summary.cost_figures(session, filters, first=first, last=last, weeks=weeks,
                                 group_by=group_by)
    if found is None:
        found = live_cost_figures(session, filters, first=first, last=last, weeks=weeks,
                                  group_by=group_by)
    return found


def live_cost_figures(
    session: Session, filters: PainPointFilters, *, first: date, last: date, weeks: Decimal,
    group_by: GroupBy | None = None,
) -> list[CostFigures]:
    """cost_figures evaluated on every pain point, for any period and filter."""
    measures = list(period_measures(first, last, weeks).values())
    keys = list(group_columns(group_by)) if group_by else []
    query = with_costs(select(*keys, *measures))
    if group_by is GroupBy.stage:
        query = query.join(Stage, Stage.id == PainPoint.stage_id)
    if group_by is GroupBy.team:
        query = query.join(Team, Team.id == PainPoint.team_id)
    # Pain points first observed after the period cost nothing in it and are not yet active.
    query = _apply(query, filters).where(PainPoint.observed_since <= last)
    if keys:
        query = query.group_by(*keys).order_by(keys[2])
    return figures_from_rows(session.execute(query), len(keys))


# --- reads for the JSON API (appended) -------------------------------------------------------

def get_pain_point(session: Session, pain_point_id: int) -> PainPoint | None:
    """The pain point itself, deleted or not (callers decide what a deleted one means)."""
    return session.get(PainPoint, pain_point_id)


def id_by_slug(session: Session, model: type[Team] | type[Persona] | type[Stage],
               slug: str) -> int | None:
    return session.scalar(select(model.id).where(model.slug == slug))


def slugs_by_id(session: Session,
                model: type[Team] | type[Persona] | type[Stage]) -> dict[int, str]:
    """Reference tables are a few dozen rows: one read turns every row's id into its slug."""
    return {id_: slug for id_, slug in session.execute(select(model.id, model.slug))}


# --- for the pages: the rate a pain point gets, and its audit history ---------------------

@dataclass
class Rate:
    """What a team+persona pair brings to a pain point: the default `people_affected` and the
    hourly cost (the team's override, else the persona's default)."""

    headcount: int
    hourly_cost: Decimal
    is_override: bool


def rate_for(session: Session, team_id: int, persona_id: int) -> Rate | None:
    row = session.execute(
        select(Persona.hourly_cost, TeamPersona.headcount, TeamPersona.hourly_cost)
        .select_from(Persona)
        .outerjoin(TeamPersona, and_(TeamPersona.persona_id == Persona.id,
                                     TeamPersona.team_id == team_id))
        .where(Persona.id == persona_id)
    ).one_or_none()
    if row is None:
        return None
    default, count, override = row
    return Rate(count or 0, to_decimal(override if override is not None else default),
                override is not None)


@dataclass
class Change:
    field: str
    before: Any
    after: Any


@dataclass
class HistoryEntry:
    at: Any
    actor: str
    action: str
    changes: list[Change]


# A confirmation's entry names who answered with what hours: the page never shows that.
PRIVATE_ACTIONS = ("confirm",)
_NAMED = {"team_id": Team, "persona_id": Persona, "stage_id": Stage}


def history(session: Session, pain_point_id: int, *, limit: int = 100) -> list[HistoryEntry]:
    """The pain point's audit entries, newest first, each with the fields it changed (team,
    persona and stage by name)."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "pain_point",
               AuditEntry.entity_id == str(pain_point_id),
               AuditEntry.action.not_in(PRIVATE_ACTIONS))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    ).all()
    ids: dict[str, set[int]] = {name: set() for name in _NAMED}
    for entry in entries:
        for snap in (entry.before or {}, entry.after or {}):
            for name in _NAMED:
                if isinstance(snap.get(name), int):
                    ids[name].add(snap[name])
    names = {
        name: dict(session.execute(select(model.id, model.name).where(model.id.in_(ids[name]))).all())
        for name, model in _NAMED.items() if ids[name]
    }

    def shown(field_name: str, value: Any) -> Any:
        return names.get(field_name, {}).get(value, value)

    def same(a: Any, b: Any) -> bool:
        # Snapshots hold decimals as text: "2.00" read back and "2" as typed are one value.
        try:
            return Decimal(a) == Decimal(b)
        except (TypeError, ValueError, ArithmeticError):
            return a == b

    result = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        changes = [] if entry.action == "create" else [
            Change(key, shown(key, before.get(key)), shown(key, after.get(key)))
            for key in after if not same(before.get(key), after.get(key))
        ]
        result.append(HistoryEntry(entry.at, entry.actor, entry.action, changes))
    return result


# --- for the dashboards: two-key groups, the costliest pain points, cost per period (appended)


def run_rate_grid(session: Session, filters: PainPointFilters, *, day: date, weeks: Decimal,
                  rows: GroupBy, columns: GroupBy) -> list[GridCell]:
    """cost_figures' annual run-rate and hours lost per week as of `day`, split by two keys at
    once (e.g. persona × stage, the journey heat map), in one aggregate statement. Only pairs
    with a pain point that costs something come back. At a covered quarter's last day the
    quarter totals of `summary.py` answer; otherwise it is computed live."""
    if rows is columns:
        raise ValueError("a grid needs two different groups")
    found = summary.run_rate_grid(session, filters, day=day, weeks=weeks, rows=rows,
                                  columns=columns)
    if found is not None:
        return found
    row_cols, column_cols = group_columns(rows), group_columns(columns)
    query = with_costs(select(
        *row_cols, *column_cols,
        exact_sum(run_rate("expected", weeks)), exact_sum(run_rate("low", weeks)),
        exact_sum(run_rate("high", weeks)),
        exact_sum(hours_of("expected") * PainPoint.people_affected),
        func.count(PainPoint.id)))
    if GroupBy.stage in (rows, columns):
        query = query.join(Stage, Stage.id == PainPoint.stage_id)
    if GroupBy.team in (rows, columns):
        query = query.join(Team, Team.id == PainPoint.team_id)
    query = (_apply(query, filters).where(active_on(day))
             .group_by(*row_cols, *column_cols).order_by(row_cols[2], column_cols[2]))
    return grid_from_rows(session.execute(query))


@dataclass
class PainPointCost:
    id: int
    title: str
    team: str
    team_slug: str
    persona: str
    stage: str
    annual_run_rate: Decimal
    annual_run_rate_low: Decimal
    annual_run_rate_high: Decimal
    hours_per_week: Decimal


def top_run_rates(session: Session, filters: PainPointFilters, *, day: date, weeks: Decimal,
                  limit: int = 10) -> list[PainPointCost]:
    """The `limit` costliest pain points by annual run-rate as of `day`: the recurring ones
    that make up cost_figures' `annual_run_rate` (observed by then, not resolved)."""
    expected = run_rate("expected", weeks)
    costliest = summary.costliest_ids(session, filters, day=day, weeks=weeks, limit=limit)
    query = _apply(with_costs(select(
        PainPoint.id, PainPoint.title, Team.name, Team.slug, Persona.name, Stage.name, expected,
        run_rate("low", weeks), run_rate("high", weeks),
        hours_of("expected") * PainPoint.people_affected,
    ).join(Team, Team.id == PainPoint.team_id).join(Stage, Stage.id == PainPoint.stage_id)),
        filters).where(active_on(day)).order_by(expected.desc(), PainPoint.id.desc()).limit(limit)
    if costliest is not None:
        query = query.where(PainPoint.id.in_(costliest))
    return [PainPointCost(i, title, team, slug, persona, stage, to_decimal(e), to_decimal(lo),
                          to_decimal(hi), to_decimal(h))
            for i, title, team, slug, persona, stage, e, lo, hi, h in session.execute(query)]


def cost_by_period(session: Session, filters: PainPointFilters, *,
                   periods: list[tuple[date, date]], weeks: Decimal) -> list[PeriodCost]:
    """cost_figures' cost in each of `periods` (inclusive date pairs), split resolved by the
    period's end or not, in one statement: four columns per period instead of a statement each
    (or, when every period is a covered quarter, one row per quarter of `summary.py`'s totals)."""
    if not periods:
        return []
    found = summary.cost_by_period(session, filters, periods=periods, weeks=weeks)
    if found is not None:
        return found
    columns = []
    for first, last in periods:
        resolved = resolved_by(last)
        expected = cost_in_period("expected", weeks, first, last)
        columns += [exact_sum(case((resolved, SQL.num(0)), else_=expected)),
                    exact_sum(case((resolved, expected), else_=SQL.num(0))),
                    exact_sum(cost_in_period("low", weeks, first, last)),
                    exact_sum(cost_in_period("high", weeks, first, last))]
    latest = max(last for _, last in periods)
    query = _apply(with_costs(select(*columns)), filters).where(
        PainPoint.observed_since <= latest)
    row = session.execute(query).one()
    return [PeriodCost(first, last, *(to_decimal(v) for v in row[4 * i:4 * i + 4]))
            for i, (first, last) in enumerate(periods)]

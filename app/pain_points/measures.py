"""The cost measures of pain points as SQL: the expressions of `cost.py` over pain point rows,
the filters every read takes, and the shapes of the aggregates. Shared by the live reads
(`queries.py`) and the stored quarter totals that answer them ahead (`summary.py`)."""

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, and_, case, func, or_, type_coerce

from app.core.sql import SQL, day_number
from app.pain_points import cost
from app.pain_points.models import PainPoint, PainPointKind, PainPointStatus
from app.teams.models import Persona, Stage, Team, TeamPersona


ZERO = Decimal("0")


# Twelve places: far below a cent, far above the noise of PostgreSQL's finite-scale division
# (115000.00000000000092) and SQLite's doubles, so both backends hand the same value upward and
# a later half-even rounding cannot tip differently.
NOISE_FLOOR = Decimal("1e-12")


def to_decimal(value: Any) -> Decimal:
    """A figure from the database as an exact Decimal (SQLite returns REAL for NUMERIC
    arithmetic; PostgreSQL returns Decimal)."""
    if value is None:
        return ZERO
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(NOISE_FLOOR)


def hourly_cost() -> ColumnElement[Decimal]:
    """The team's override for the persona, else the persona's default (docs/product.md)."""
    return func.coalesce(TeamPersona.hourly_cost, Persona.hourly_cost)


def hours_of(which: str) -> ColumnElement[Decimal]:
    if which == "expected":
        return cost.expected_hours(PainPoint.hours_low, PainPoint.hours_likely,
                                   PainPoint.hours_high, SQL)
    return {"low": PainPoint.hours_low, "high": PainPoint.hours_high}[which]


def run_rate(which: str, weeks: Decimal) -> ColumnElement[Decimal]:
    """As-if-open annual run-rate of a recurring pain point (expected, low or high)."""
    return cost.annual_run_rate(hours_of(which), PainPoint.people_affected, SQL.num(weeks),
                                hourly_cost())


def one_time(which: str) -> ColumnElement[Decimal]:
    return cost.one_time_cost(hours_of(which), PainPoint.people_affected, hourly_cost())


def annual_cost(which: str, weeks: Decimal) -> ColumnElement[Decimal]:
    """What a list row shows: the run-rate of a recurring pain point, the cost of a one-time one."""
    return case((PainPoint.kind == PainPointKind.recurring, run_rate(which, weeks)),
                else_=one_time(which))


def active_on(day: date) -> ColumnElement[bool]:
    """Observed by `day` and not resolved by then: the friction goes on (run-rate counts)."""
    return and_(PainPoint.kind == PainPointKind.recurring, PainPoint.observed_since <= day,
                or_(PainPoint.resolved_on.is_(None), PainPoint.resolved_on > day))


def resolved_by(day: date) -> ColumnElement[bool]:
    """Resolved on or before `day`: the part of a period's cost the trend shows as resolved."""
    return and_(PainPoint.resolved_on.is_not(None), PainPoint.resolved_on <= day)


def cost_in_period(which: str, weeks: Decimal, first: date, last: date) -> ColumnElement[Decimal]:
    """docs/product.md's cost in a period: pro-rated by weekdays for recurring pain points; the whole
    cost in the period holding `observed_since` for one-time ones."""
    resolved = func.coalesce(day_number(PainPoint.resolved_on), cost.OPEN_ENDED)
    share = cost.period_share(day_number(PainPoint.observed_since), resolved,
                              cost.year_slices(first, last), SQL)
    return case(
        (PainPoint.kind == PainPointKind.recurring, run_rate(which, weeks) * share),
        (PainPoint.observed_since.between(first, last), one_time(which)),
        else_=SQL.num(0),
    )


def exact_sum(expression: ColumnElement[Any]) -> ColumnElement[Decimal]:
    # Untyped scale: money columns would otherwise round every sum to cents on SQLite, and
    # docs/product.md rounds only when a figure is shown.
    return type_coerce(func.sum(expression), Numeric(asdecimal=True))


def with_costs(query):
    return (query.join(Persona, Persona.id == PainPoint.persona_id)
            .outerjoin(TeamPersona, and_(TeamPersona.team_id == PainPoint.team_id,
                                         TeamPersona.persona_id == PainPoint.persona_id)))


@dataclass(frozen=True)
class PainPointFilters:
    team_ids: frozenset[int] | None = None  # None: every team; the caller applies its scope
    persona_id: int | None = None
    stage_id: int | None = None
    statuses: tuple[PainPointStatus, ...] = ()
    text: str = ""
    include_deleted: bool = False
    observed_from: date | None = None
    observed_to: date | None = None


class GroupBy(enum.StrEnum):
    stage = "stage"
    persona = "persona"
    team = "team"


@dataclass
class CostFigures:
    key: str | None
    label: str | None
    cost: Decimal = ZERO
    cost_low: Decimal = ZERO
    cost_high: Decimal = ZERO
    annual_run_rate: Decimal = ZERO
    annual_run_rate_low: Decimal = ZERO
    annual_run_rate_high: Decimal = ZERO
    hours_per_week: Decimal = ZERO
    pain_points: int = 0  # observed by the period's end: the sample of the period's cost
    active_pain_points: int = 0  # recurring and unresolved at the end: behind the run-rate
    extra: dict[str, Any] = field(default_factory=dict)


def period_measures(first: date, last: date, weeks: Decimal) -> dict[str, ColumnElement[Any]]:
    """The aggregates of cost_figures over pain point rows, by name: cost in [first, last],
    annual run-rate and hours lost per week as of `last`, and the counts behind them."""
    active = active_on(last)
    return {
        "cost": exact_sum(cost_in_period("expected", weeks, first, last)),
        "cost_low": exact_sum(cost_in_period("low", weeks, first, last)),
        "cost_high": exact_sum(cost_in_period("high", weeks, first, last)),
        "run_rate": exact_sum(case((active, run_rate("expected", weeks)), else_=SQL.num(0))),
        "run_rate_low": exact_sum(case((active, run_rate("low", weeks)), else_=SQL.num(0))),
        "run_rate_high": exact_sum(case((active, run_rate("high", weeks)), else_=SQL.num(0))),
        "hours_per_week": exact_sum(case((active, hours_of("expected") * PainPoint.people_affected),
                                         else_=SQL.num(0))),
        "pain_points": func.count(PainPoint.id),
        "active_pain_points": func.count(case((active, 1))),
    }


def figures_from_rows(rows: Any, key_columns: int) -> list[CostFigures]:
    """CostFigures of result rows laid out as (key, label, order)? + the period measures."""
    result = []
    for row in rows:
        key, label = (row[0], row[1]) if key_columns else (None, None)
        values = [to_decimal(v) for v in row[key_columns:key_columns + 7]]
        result.append(CostFigures(key, label, *values, pain_points=row[-2] or 0,
                                  active_pain_points=row[-1] or 0))
    return result


def group_columns(group: GroupBy) -> tuple[Any, Any, Any]:
    """(key, label, sort order) of a group, as cost_figures groups."""
    return {GroupBy.stage: (Stage.slug, Stage.name, Stage.position),
            GroupBy.persona: (Persona.slug, Persona.name, Persona.position),
            GroupBy.team: (Team.slug, Team.name, Team.name)}[group]


@dataclass
class GridCell:
    """Annual run-rate (as of a day) of the pain points of one (row, column) pair of groups."""

    row_key: str
    row_label: str
    column_key: str
    column_label: str
    annual_run_rate: Decimal
    annual_run_rate_low: Decimal
    annual_run_rate_high: Decimal
    hours_per_week: Decimal
    pain_points: int  # those that make up the run-rate: recurring, observed, not resolved


def grid_from_rows(result: Any) -> list[GridCell]:
    """GridCells of rows laid out as (row key, label, order, column key, label, order,
    run-rate, low, high, hours per week, pain points)."""
    return [GridCell(r[0], r[1], r[3], r[4], *(to_decimal(v) for v in r[6:10]), r[10] or 0)
            for r in result]


@dataclass
class PeriodCost:
    """Cost in a period split by what had happened by its last day: `resolved` is the cost of
    the pain points resolved by then (up to their resolution), `unresolved` the rest."""

    first: date
    last: date
    unresolved: Decimal
    resolved: Decimal
    cost_low: Decimal
    cost_high: Decimal

    @property
    def cost(self) -> Decimal:
        return self.unresolved + self.resolved

"""docs/product.md's cost formulas, written once.

Every function here is plain arithmetic over "numbers" and works unchanged on Python Decimals
(a single pain point's breakdown, tests) and on SQLAlchemy column expressions (the aggregates
the dashboards and the API run in the database). The few operations that differ between the two
— min, max, floor division, and typed constants — come in through `Ops`. No I/O, no ORM, no
FastAPI.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.core.formula_ops import EPOCH, PY, Ops


def day_number(day: date) -> int:
    return (day - EPOCH).days


def expected_hours(low: Any, likely: Any, high: Any, ops: Ops = PY) -> Any:
    """PERT mean of a three-point estimate: (low + 4·likely + high) / 6."""
    return (low + ops.num(4) * likely + high) / ops.num(6)


def annual_run_rate(hours: Any, people: Any, weeks_per_year: Any, hourly_cost: Any) -> Any:
    """Yearly cost of a recurring pain point: hours × people × working weeks × hourly cost."""
    return hours * people * weeks_per_year * hourly_cost


def one_time_cost(hours: Any, people: Any, hourly_cost: Any) -> Any:
    """Cost of a one-time pain point: hours × people × hourly cost."""
    return hours * people * hourly_cost


def org_wide_factor(org_headcount: Any, people_affected: Any) -> Any:
    """Scale of the org-wide extrapolation: every person of the persona in the org affected."""
    return org_headcount / people_affected


def weekdays_before(n: Any, ops: Ops = PY) -> Any:
    """Monday–Friday days in [EPOCH, EPOCH + n), for a day number n >= 0."""
    # Whole numbers throughout: in SQL the weekday arithmetic stays in integers, which is
    # exact and several times cheaper per row than NUMERIC.
    return ops.whole(5) * ops.floor_div(n, 7) + ops.least(n % 7, ops.whole(5))


def weekdays_between(start: Any, end: Any, ops: Ops = PY) -> Any:
    """Monday–Friday days in the half-open interval [start, end) of day numbers; 0 if empty."""
    return ops.greatest(weekdays_before(end, ops) - weekdays_before(start, ops), ops.whole(0))


@dataclass(frozen=True)
class YearSlice:
    """The part of a period that falls in one calendar year, as day numbers [start, end)."""

    year: int
    start: int
    end: int
    weekdays_in_year: int


def year_slices(first: date, last: date) -> list[YearSlice]:
    """Splits the inclusive period [first, last] at calendar-year boundaries."""
    if last < first:
        raise ValueError("a period's 'to' must not come before its 'from'")
    slices = []
    for year in range(first.year, last.year + 1):
        lo = max(first, date(year, 1, 1))
        hi = min(last, date(year, 12, 31))
        year_start, year_end = day_number(date(year, 1, 1)), day_number(date(year + 1, 1, 1))
        slices.append(YearSlice(year, day_number(lo), day_number(hi + timedelta(days=1)),
                                int(weekdays_between(year_start, year_end))))
    return slices


def period_share(observed: Any, resolved: Any, slices: list[YearSlice], ops: Ops = PY) -> Any:
    """Σ over the years the period touches of weekdays(period ∩ year ∩ [observed, resolved)) ÷
    weekdays(year): the share of a year's run-rate that a recurring pain point costs in the
    period. `observed` and `resolved` are day numbers (resolved: a far-future day when open)."""
    total = ops.num(0)
    for s in slices:
        # Day numbers stay whole numbers (plain ints), so floor division stays exact in SQL.
        overlap = weekdays_between(ops.greatest(observed, s.start), ops.least(resolved, s.end),
                                   ops)
        total = total + overlap / ops.num(s.weekdays_in_year)
    return total


OPEN_ENDED = day_number(date(9999, 12, 31))

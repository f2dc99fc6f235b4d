"""docs/product.md's model-value formulas ("Model value — what ML earns"), written once.

The arithmetic (PERT mean, a month's estimated value, pro-rating, weekly value, cost of delay,
the degraded test) is plain operators over "numbers": it runs unchanged on Python Decimals and
on SQLAlchemy column expressions, as `app/pain_points/cost.py` does, so the database aggregates
and this module cannot drift. The rest are the day-by-day definitions (in production, quality
status, staleness, value at risk) over one model's facts, in plain Python: the model page uses
them, and the tests use `summarize` as the reference the SQL aggregates must equal.
No I/O, no ORM, no FastAPI.
"""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.core.formula_ops import PY, Ops

ZERO = Decimal("0")
WEEKS_PER_YEAR = 52
DAYS_PER_WEEK = 7
# Names that mean "lower is better" unless the metric says otherwise (docs/product.md).
LOWER_IS_BETTER_WORDS = ("error", "rmse", "mae", "loss", "latency")
DEFAULT_TOLERANCE = Decimal("0.05")


def as_date(value: Any) -> date:
    """A date as a database hands it back: a date, a datetime (its UTC date) or ISO text
    (SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    return value


# --- arithmetic shared with the SQL aggregates ---------------------------------------------

def pert(low: Any, likely: Any, high: Any, ops: Ops = PY) -> Any:
    """PERT mean of the annual value estimate: (low + 4·likely + high) / 6."""
    return (low + ops.num(4) * likely + high) / ops.num(6)


def estimated_month_value(annual: Any, production_days: Any, year_days: Any) -> Any:
    """A month's estimated value: annual value × (days of the month in production) ÷ (days in
    the month's calendar year)."""
    return annual * production_days / year_days


def prorated(month_amount: Any, days_inside: Any, month_days: Any) -> Any:
    """A month's figure counted in a period: × (days of the month inside the period) ÷ (days
    in the month). Value delivered and compute cost alike."""
    return month_amount * days_inside / month_days


def weekly_value(annual: Any, ops: Ops = PY) -> Any:
    """What a week in production is worth: annual value ÷ 52."""
    return annual / ops.num(WEEKS_PER_YEAR)


def delay_cost(annual: Any, lead_time_days: Any, target_days: Any, ops: Ops = PY) -> Any:
    """Cost of delay of one model: weekly value × max(0, lead time − target) ÷ 7."""
    excess = ops.greatest(lead_time_days - target_days, ops.num(0))
    return weekly_value(annual, ops) * excess / ops.num(DAYS_PER_WEEK)


def degraded(latest: Any, baseline: Any, tolerance: Any, higher_is_better: bool,
             ops: Ops = PY) -> Any:
    """The latest value is worse than the baseline by more than |baseline| × tolerance."""
    margin = ops.greatest(baseline, -baseline) * tolerance
    if higher_is_better:
        return latest < baseline - margin
    return latest > baseline + margin


def default_higher_is_better(metric: str) -> bool:
    name = metric.lower()
    return not any(word in name for word in LOWER_IS_BETTER_WORDS)


# --- calendar -------------------------------------------------------------------------------

def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def days_in_month(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def months_touching(first: date, last: date) -> list[date]:
    """The first day of every calendar month the inclusive period touches."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months


def days_inside(month: date, first: date, last: date) -> int:
    """Days of the month inside the inclusive period [first, last]."""
    start = max(month, first)
    end = min(next_month(month) - timedelta(days=1), last)
    return max(0, (end - start).days + 1)


def previous_months(day: date, count: int = 3) -> list[date]:
    """The `count` calendar months before day's month, oldest first."""
    months, current = [], month_start(day)
    for _ in range(count):
        current = month_start(current - timedelta(days=1))
        months.append(current)
    return months[::-1]


# --- one model's facts ----------------------------------------------------------------------

@dataclass(frozen=True)
class Triple:
    """A money figure with its range: low ≤ expected ≤ high."""

    low: Decimal = ZERO
    expected: Decimal = ZERO
    high: Decimal = ZERO

    def __add__(self, other: "Triple") -> "Triple":
        return Triple(self.low + other.low, self.expected + other.expected,
                      self.high + other.high)

    def scaled(self, factor: Decimal) -> "Triple":
        return Triple(self.low * factor, self.expected * factor, self.high * factor)

    @classmethod
    def flat(cls, value: Decimal) -> "Triple":
        return cls(value, value, value)


@dataclass(frozen=True)
class AnnualValue:
    low: Decimal
    likely: Decimal
    high: Decimal

    @property
    def triple(self) -> Triple:
        return Triple(self.low, pert(self.low, self.likely, self.high), self.high)


@dataclass(frozen=True)
class Event:
    """A lifecycle event as the value formulas need it: deployed, retired or rolled_back."""

    type: str
    at: datetime


@dataclass(frozen=True)
class Observation:
    value: float
    at: datetime


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    tolerance: Decimal
    observations: Sequence[Observation] = ()


@dataclass(frozen=True)
class ModelFacts:
    """Everything the value figures of one model depend on."""

    name: str
    annual: AnnualValue | None = None
    events: Sequence[Event] = ()
    measured: dict[date, Decimal] = field(default_factory=dict)  # month → Σ amount × per unit
    compute: dict[date, Decimal] = field(default_factory=dict)  # month → spend
    metrics: Sequence[Metric] = ()
    lead_time_days: Decimal | None = None
    first_deployed: date | None = None


def _ordered(events: Iterable[Event], types: tuple[str, ...]) -> list[Event]:
    # On the same instant a retirement wins over a deployment ("deployed" < "retired").
    return sorted((e for e in events if e.type in types), key=lambda e: (e.at, e.type))


def in_production(events: Iterable[Event], day: date) -> bool:
    """A deployed event on or before day, and the latest deployed/retired event on or before it
    is a deployment. A rollback does not end production: the previous version serves."""
    known = [e for e in _ordered(events, ("deployed", "retired")) if e.at.date() <= day]
    return bool(known) and known[-1].type == "deployed"


def production_days(events: Iterable[Event], first: date, last: date) -> int:
    """Days of the inclusive period on which the model is in production."""
    return sum(in_production(events, first + timedelta(days=i))
               for i in range((last - first).days + 1))


def latest_deployment(events: Iterable[Event], day: date) -> datetime | None:
    deployed = [e.at for e in events if e.type == "deployed" and e.at.date() <= day]
    return max(deployed) if deployed else None


@dataclass(frozen=True)
class MonthValue:
    value: Triple
    measured: bool


def monthly_value(facts: ModelFacts, month: date) -> MonthValue:
    """Measured (Σ amount × value per unit) when the month has KPI observations; otherwise the
    PERT annual value × production days of the month ÷ days in its year; 0 without either."""
    if month in facts.measured:
        return MonthValue(Triple.flat(facts.measured[month]), measured=True)
    if facts.annual is None:
        return MonthValue(Triple(), measured=False)
    days = production_days(facts.events, month, next_month(month) - timedelta(days=1))
    year = days_in_year(month.year)
    annual = facts.annual.triple
    return MonthValue(Triple(estimated_month_value(annual.low, days, year),
                             estimated_month_value(annual.expected, days, year),
                             estimated_month_value(annual.high, days, year)), measured=False)


@dataclass(frozen=True)
class Delivered:
    value: Triple
    measured: Decimal
    estimated: Decimal


def value_delivered(facts: ModelFacts, first: date, last: date) -> Delivered:
    """Σ over the months the period touches of monthly value × days inside ÷ days in month."""
    total, measured, estimated = Triple(), ZERO, ZERO
    for month in months_touching(first, last):
        month_value = monthly_value(facts, month)
        part = month_value.value.scaled(Decimal(days_inside(month, first, last))
                                        / Decimal(days_in_month(month)))
        total += part
        if month_value.measured:
            measured += part.expected
        else:
            estimated += part.expected
    return Delivered(total, measured, estimated)


def compute_cost(facts: ModelFacts, first: date, last: date) -> Decimal:
    """Compute spend of the months the period touches, pro-rated like value delivered."""
    return sum((prorated(amount, days_inside(month, first, last), days_in_month(month))
                for month, amount in facts.compute.items()
                if days_inside(month, first, last)), ZERO)


def net_value(value: Decimal, compute: Decimal) -> Decimal:
    return value - compute


def value_per_compute_dollar(value: Decimal, compute: Decimal) -> Decimal | None:
    """Value delivered ÷ compute cost; none when nothing was spent."""
    return None if compute == 0 else value / compute


@dataclass(frozen=True)
class QualityStatus:
    metric: str
    baseline: float | None
    latest: float | None
    status: str  # ok | degraded | unknown


def quality_status(metric: Metric, events: Iterable[Event], day: date) -> QualityStatus:
    """Baseline: the first observation at or after the latest deployment on or before day;
    latest: the last observation on or before day. Unknown without a baseline."""
    deployed = latest_deployment(events, day)
    seen = sorted((o for o in metric.observations if o.at.date() <= day), key=lambda o: o.at)
    latest = seen[-1].value if seen else None
    after = [o for o in seen if deployed is not None and o.at >= deployed]
    baseline = after[0].value if after else None
    if baseline is None or latest is None:
        return QualityStatus(metric.name, baseline, latest, "unknown")
    # Floats, as the database compares them (quality values are DOUBLE PRECISION).
    bad = degraded(latest, baseline, float(metric.tolerance), metric.higher_is_better)
    return QualityStatus(metric.name, baseline, latest, "degraded" if bad else "ok")


def is_stale(events: Iterable[Event], day: date, staleness_days: int) -> bool:
    """In production, and the latest deployment is more than staleness_days before day."""
    events = list(events)
    deployed = latest_deployment(events, day)
    return (in_production(events, day) and deployed is not None
            and (day - deployed.date()).days > staleness_days)


def at_risk_annual_value(facts: ModelFacts, day: date) -> Triple:
    """The average measured monthly value over those of the three months before day's month
    that have KPI observations × 12; with none, the PERT annual value (low/high likewise)."""
    months = [m for m in previous_months(day) if m in facts.measured]
    if months:
        return Triple.flat(sum((facts.measured[m] for m in months), ZERO)
                           / Decimal(len(months)) * 12)
    return facts.annual.triple if facts.annual else Triple()


@dataclass(frozen=True)
class Risk:
    reasons: list[str]
    annual_value: Triple


def risk(facts: ModelFacts, day: date, staleness_days: int) -> Risk | None:
    """Why the model's value is at risk at day (stale, degraded metrics), or None."""
    if not in_production(facts.events, day):
        return None
    reasons = []
    if is_stale(facts.events, day, staleness_days):
        deployed = latest_deployment(facts.events, day)
        since = deployed.date() + timedelta(days=staleness_days + 1)
        reasons.append(f"stale since {since} (last deployed {deployed.date()})")
    for metric in facts.metrics:
        status = quality_status(metric, facts.events, day)
        if status.status == "degraded":
            reasons.append(f"{metric.name} degraded: {status.baseline:g} → {status.latest:g}")
    return Risk(reasons, at_risk_annual_value(facts, day)) if reasons else None


# --- a portfolio ----------------------------------------------------------------------------

@dataclass
class Summary:
    """Every figure of GET /api/v1/metrics/value for a set of models, unrounded."""

    value: Triple = Triple()
    measured: Decimal = ZERO
    estimated: Decimal = ZERO
    compute: Decimal = ZERO
    cost_of_delay: Triple = Triple()
    delay_models: int = 0
    week_value: Triple = Triple()
    at_risk: Triple = Triple()
    at_risk_models: list[str] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return net_value(self.value.expected, self.compute)

    @property
    def per_compute_dollar(self) -> Decimal | None:
        return value_per_compute_dollar(self.value.expected, self.compute)


def risk_day(first: date, last: date, today: date) -> date:
    """Value at risk is read on the period's last day, or today while the period runs."""
    return min(last, today)


def summarize(models: Sequence[ModelFacts], first: date, last: date, *, today: date,
              target_lead_time_days: int, staleness_days: int) -> Summary:
    """The portfolio's figures over the inclusive period, model by model (the reference)."""
    summary = Summary()
    day = risk_day(first, last, today)
    for facts in models:
        delivered = value_delivered(facts, first, last)
        summary.value += delivered.value
        summary.measured += delivered.measured
        summary.estimated += delivered.estimated
        summary.compute += compute_cost(facts, first, last)
        if facts.first_deployed is not None and first <= facts.first_deployed <= last:
            summary.delay_models += 1
            if facts.annual is not None and facts.lead_time_days is not None:
                annual = facts.annual.triple
                summary.cost_of_delay += Triple(
                    *(delay_cost(v, facts.lead_time_days, Decimal(target_lead_time_days))
                      for v in (annual.low, annual.expected, annual.high)))
                summary.week_value += Triple(*(weekly_value(v) for v in
                                               (annual.low, annual.expected, annual.high)))
        at_risk = risk(facts, day, staleness_days)
        if at_risk is not None:
            summary.at_risk += at_risk.annual_value
            summary.at_risk_models.append(facts.name)
    return summary

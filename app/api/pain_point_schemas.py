"""Output shapes of /api/v1/pain-points and /api/v1/metrics/cost, and the date-range rules the
two share. Amounts leave as decimal strings (`Money`), hours as strings with two decimals."""

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.api.types import Money
from app.core.errors import FieldError
from app.core.periods import parse_quarter
from app.pain_points.models import PainPointKind, PainPointStatus
from app.pain_points.measures import GroupBy
from app.pain_points.service import EARLIEST


def _two_decimals(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


# Hours are stored with two decimals; a PERT mean (13/6 = 2.1666…) is shown with two as well.
HoursOut = Annotated[
    Decimal,
    PlainSerializer(_two_decimals, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["2.17"]},
                   mode="serialization"),
]


class PainPointOut(BaseModel):
    id: int
    team: str = Field(description="Team slug.")
    persona: str = Field(description="Persona slug.")
    stage: str = Field(description="Lifecycle stage slug.")
    title: str
    description: str
    evidence: str
    kind: PainPointKind
    hours_low: HoursOut
    hours_likely: HoursOut
    hours_high: HoursOut
    expected_hours: HoursOut = Field(description="PERT mean (low + 4·likely + high) / 6.")
    people_affected: int
    status: PainPointStatus
    observed_since: date
    resolved_on: date | None
    hourly_cost: Money = Field(description="The team's override for the persona, else the "
                                           "persona's default.")
    annual_cost: Money = Field(description="Run-rate of a recurring pain point (as if open), "
                                           "the whole cost of a one-time one.")
    annual_cost_low: Money
    annual_cost_high: Money
    version: int = Field(description="Send it back as `If-Match: \"<version>\"` (or `version`) "
                                     "when changing the pain point.")
    created_at: datetime
    updated_at: datetime
    deleted: bool


class MyConfirmation(BaseModel):
    hours: HoursOut
    comment: str
    created_at: datetime


class ConfirmationsOut(BaseModel):
    """How many people confirmed, their median from three answers on, and your own answer.
    Nobody else's answer is ever shown."""

    count: int
    median_hours: HoursOut | None = Field(description="Null below three confirmations, so that "
                                                      "no one's answer can be singled out.")
    mine: MyConfirmation | None


class CostFiguresOut(BaseModel):
    cost: Money = Field(description="Cost in [from, to].")
    cost_low: Money
    cost_high: Money
    annual_run_rate: Money = Field(description="Of the recurring pain points active on `to`.")
    annual_run_rate_low: Money
    annual_run_rate_high: Money
    hours_per_week: HoursOut = Field(description="Hours lost per week as of `to`.")
    pain_points: int = Field(description="Pain points counted (observed by `to`).")
    active_pain_points: int = Field(description="Recurring pain points unresolved at `to`: "
                                                "those behind annual_run_rate.")


class CostGroupOut(CostFiguresOut):
    key: str = Field(description="The slug of the stage, persona or team.")
    label: str


class CostMetricsOut(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    currency: str
    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy | None
    total: CostFiguresOut
    groups: list[CostGroupOut]


def latest_allowed(today: date) -> date:
    """A year after today (28 February when today is a leap day)."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return today.replace(year=today.year + 1, day=28)


def period_errors(first: date | None, last: date | None, today: date) -> list[FieldError]:
    """A date range's bounds within 2000 … a year from today, and `to` not before `from`."""
    errors = []
    latest = latest_allowed(today)
    for name, value in (("from", first), ("to", last)):
        if value is None:
            continue
        if value < EARLIEST:
            errors.append(FieldError(name, f"cannot be before {EARLIEST.isoformat()}"))
        elif value > latest:
            errors.append(FieldError(name, f"cannot be after {latest.isoformat()} "
                                           "(a year from today)"))
    if first is not None and last is not None and last < first and not errors:
        errors.append(FieldError("to", f"must not be before from ({first.isoformat()})"))
    return errors


QuarterQuery = Annotated[str | None, Query(
    description="A (fiscal) quarter such as 2026-Q3: the period from its first to its last "
                "day, instead of `from` and `to`.", examples=["2026-Q3"])]


def quarter_period(quarter: str | None, first: date | None, last: date | None,
                   start_month: int) -> tuple[date | None, date | None, list[FieldError]]:
    """`quarter=2026-Q3` as the period [first day, last day] of that fiscal quarter, or the
    `from`/`to` given. Both at once is ambiguous and refused."""
    if quarter is None:
        return first, last, []
    if first is not None or last is not None:
        return first, last, [FieldError("quarter", "give either quarter or from/to, not both")]
    try:
        found = parse_quarter(quarter, start_month)
    except ValueError as exc:
        return None, None, [FieldError("quarter", str(exc))]
    return found.first_day, found.last_day, []

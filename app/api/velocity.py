"""/api/v1/metrics/velocity (and its narrow answers, /lead-time and /deployments by month or
quarter) and /api/v1/metrics/compute: the velocity dashboard's figures."""

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy.orm import Session

from app.api.pagination import Window
from app.api.pain_point_schemas import QuarterQuery, period_errors, quarter_period
from app.api.types import Money, problem_responses
from app.auth.deps import Reader
from app.auth.permissions import Principal
from app.core import clock
from app.core.errors import FieldError, ValidationFailed
from app.core.periods import quarter_of, quarters_between
from app.db import SessionDep
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.velocity import queries
from app.velocity.queries import By, VelocityFilters

router = APIRouter(prefix="/metrics", tags=["metrics"])


def _decimal_string(exponent: Decimal):
    def serialize(value: Decimal) -> str:
        return str(value.quantize(exponent, rounding=ROUND_HALF_EVEN))

    return serialize


# Days and other figures leave as exact decimal strings with two places; ratios with four.
Days = Annotated[
    Decimal,
    PlainSerializer(_decimal_string(Decimal("0.01")), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["41.50"]},
                   mode="serialization"),
]
Rate = Annotated[
    Decimal,
    PlainSerializer(_decimal_string(Decimal("0.0001")), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{4}$", "examples": ["0.2500"]},
                   mode="serialization"),
]


class _Period(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date


class LeadTimeOut(BaseModel):
    median: Days | None
    p90: Days | None
    count: int = Field(description="Models whose first deployment falls in the period.")


class RestoreOut(BaseModel):
    median: Days | None
    count: int = Field(description="Rollbacks in the period followed by a deployment.")
    unrestored: int = Field(description="Rollbacks in the period with no deployment after them "
                                        "(yet).")


class DwellOut(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from", description="The earlier milestone.")
    to: str = Field(description="The later milestone, which falls in the period.")
    median: Days | None
    count: int


class CohortOut(BaseModel):
    cohort: str = Field(description="Quarter of first ideation, e.g. 2026-Q1.")
    ideated: int
    deployed: int = Field(description="Deployed within 180 days of ideation.")
    rate: Rate | None
    provisional: bool = Field(description="Fewer than 180 days have passed since the "
                                          "quarter's last day.")


class QuarterLeadTimeOut(BaseModel):
    quarter: str
    median: Days | None
    p90: Days | None
    count: int


class VelocityOut(_Period):
    lead_time_days: LeadTimeOut
    deployments: int
    rollbacks: int
    deployment_frequency_per_week: Days
    change_failure_rate: Rate | None = Field(description="Null when nothing was deployed.")
    time_to_restore_days: RestoreOut
    stage_dwell_days: list[DwellOut]
    production_rate: list[CohortOut]
    lead_time_by_quarter: list[QuarterLeadTimeOut]


class MonthSpendOut(BaseModel):
    month: date = Field(description="First day of the month.")
    amount: Money
    gpu_hours: Days


class ModelSpendOut(BaseModel):
    model_id: int
    model: str
    amount: Money
    gpu_hours: Days


class ComputeOut(_Period):
    currency: str
    total: Money
    gpu_hours: Days
    by_month: list[MonthSpendOut]
    by_model_total: int = Field(description="Models with spend in the period; `by_model` holds "
                                            "at most `limit` of them from `offset`.")
    limit: int
    offset: int
    by_model: list[ModelSpendOut] = Field(description="Highest spend first, then by model id.")


class _BucketOut(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    period: str = Field(description="The calendar month (2026-03) or fiscal quarter (2026-Q1).",
                        examples=["2026-Q1"])
    from_: date = Field(alias="from", description="The bucket's first day inside [`from`, `to`].")
    to: date = Field(description="The bucket's last day inside [`from`, `to`].")


class LeadTimeBucketOut(_BucketOut):
    median: Days | None
    p90: Days | None
    count: int = Field(description="Models whose first deployment falls in the bucket.")


class LeadTimeBucketsOut(_Period):
    by: By
    buckets: list[LeadTimeBucketOut] = Field(description="Every month or quarter that overlaps "
                                                         "the period, in order, empty ones too.")


class DeploymentBucketOut(_BucketOut):
    deployments: int
    rollbacks: int
    deployment_frequency_per_week: Days
    change_failure_rate: Rate | None = Field(description="Null when nothing was deployed.")


class DeploymentBucketsOut(_Period):
    by: By
    buckets: list[DeploymentBucketOut] = Field(description="Every month or quarter that "
                                                           "overlaps the period, in order, "
                                                           "quiet ones too.")


FromQuery = Annotated[date | None, Query(
    alias="from", description="First day (inclusive); defaults to the first day of the current "
                              "fiscal quarter.")]
ToQuery = Annotated[date | None, Query(
    description="Last day (inclusive); defaults to the last day of the current fiscal quarter.")]
TeamQuery = Annotated[str | None, Query(description="Team slug.")]


# At most ten years of buckets in one answer, as the dashboards' 40 quarters.
MAX_BUCKETS = {By.month: 120, By.quarter: 40}


ByQuery = Annotated[By, Query(description=f"Split the period into calendar months or quarters "
                                          f"of the fiscal year: at most "
                                          f"{MAX_BUCKETS[By.month]} months or "
                                          f"{MAX_BUCKETS[By.quarter]} quarters.")]


def _scope(session: Session, principal: Principal, from_: date | None, to: date | None,
           team: str | None, start_month: int,
           quarter: str | None = None) -> tuple[date, date, VelocityFilters]:
    """The period (a quarter, or by default the current fiscal quarter) and the teams the
    figures cover."""
    today = clock.today()
    current = quarter_of(today, start_month)
    from_, to, errors = quarter_period(quarter, from_, to, start_month)
    first, last = from_ or current.first_day, to or current.last_day
    errors += period_errors(first, last, today) if not errors else []
    team_ids, team_errors = team_queries.team_scope(session, principal, team)
    errors += team_errors
    if errors:
        raise ValidationFailed(errors)
    return first, last, VelocityFilters(team_ids=team_ids)


@router.get("/velocity", name="api.metrics.velocity", summary="Velocity: idea to production",
            response_model=VelocityOut, responses=problem_responses(401, 403, 422))
def velocity_metrics(session: SessionDep, principal: Reader, from_: FromQuery = None,
                     to: ToQuery = None, team: TeamQuery = None,
                     quarter: QuarterQuery = None) -> VelocityOut:
    """docs/product.md's velocity figures over [`from`, `to`] (both inclusive; or a whole
    `quarter`; by default the current fiscal quarter): ideation-to-production lead time of the
    models first deployed in the period, deployments and rollbacks, deployment frequency, change
    failure rate, time to restore, stage dwell, production rate of the ideation cohorts whose
    quarter overlaps the period, and lead time by (fiscal) quarter of first deployment. For
    lead time or deployments alone, per month or quarter, `metrics/velocity/lead-time` and
    `metrics/velocity/deployments` answer the same figures without computing the rest.

    Days are decimal strings with two places, rates with four; a figure with nothing to measure
    is null. A team the token may not read is a 422 naming `team`, as an unknown one."""
    org = get_org_settings(session)
    start_month = org.fiscal_year_start_month
    first, last, filters = _scope(session, principal, from_, to, team, start_month, quarter)
    quarters = quarters_between(quarter_of(first, start_month), quarter_of(last, start_month))
    lead = queries.lead_time(session, filters, first, last)
    deploys = queries.deployment_figures(session, filters, first, last)
    dwell = queries.stage_dwell(session, filters, first, last)
    cohorts = queries.production_rate(session, filters, quarters, clock.today())
    by_quarter = queries.lead_time_by_quarter(session, filters, quarters)
    return VelocityOut.model_validate({
        "from": first, "to": last,
        "lead_time_days": LeadTimeOut(median=lead.median, p90=lead.p90, count=lead.count),
        "deployments": deploys.deployments, "rollbacks": deploys.rollbacks,
        "deployment_frequency_per_week": deploys.frequency_per_week,
        "change_failure_rate": deploys.change_failure_rate,
        "time_to_restore_days": RestoreOut(median=deploys.time_to_restore.median,
                                           count=deploys.time_to_restore.count,
                                           unrestored=deploys.unrestored),
        "stage_dwell_days": [DwellOut.model_validate({"from": d.from_milestone,
                                                      "to": d.to_milestone, "median": d.median,
                                                      "count": d.count}) for d in dwell],
        "production_rate": [CohortOut(cohort=c.quarter.label, ideated=c.ideated,
                                      deployed=c.deployed, rate=c.rate,
                                      provisional=c.provisional) for c in cohorts],
        "lead_time_by_quarter": [QuarterLeadTimeOut(quarter=q.label, median=d.median, p90=d.p90,
                                                    count=d.count)
                                 for q, d in by_quarter.items()],
    })


def _bucketed(session: Session, principal: Principal, from_: date | None, to: date | None,
              team: str | None, quarter: str | None,
              by: By) -> tuple[date, date, VelocityFilters, int]:
    """`_scope`, and a period of at most MAX_BUCKETS months or quarters; the fiscal year's
    first month."""
    start_month = get_org_settings(session).fiscal_year_start_month
    first, last, filters = _scope(session, principal, from_, to, team, start_month, quarter)
    if len(queries.buckets(first, last, by, start_month)) > MAX_BUCKETS[by]:
        raise ValidationFailed([FieldError("from", f"a range spans at most {MAX_BUCKETS[by]} "
                                                   f"{by}s with by={by}")])
    return first, last, filters, start_month


@router.get("/velocity/lead-time", name="api.metrics.velocity_lead_time",
            summary="Lead time by month or quarter", response_model=LeadTimeBucketsOut,
            responses=problem_responses(401, 403, 422))
def lead_time_metrics(session: SessionDep, principal: Reader, from_: FromQuery = None,
                      to: ToQuery = None, team: TeamQuery = None, quarter: QuarterQuery = None,
                      by: ByQuery = By.quarter) -> LeadTimeBucketsOut:
    """Ideation-to-production lead time (docs/product.md: first `deployed` minus first
    `ideated`, or the earliest event without one) of the models first deployed in [`from`,
    `to`] (both inclusive; or a whole `quarter`; by default the current fiscal quarter), split
    by the calendar month or fiscal quarter of the first deployment: median, p90 and count of
    each bucket. A bucket's figures are `metrics/velocity`'s `lead_time_days` for its `from` and
    `to` (the bucket clipped to the period); a bucket with no deployment has null median and
    p90 and count 0.

    Days are decimal strings with two places. A team the token may not read is a 422 naming
    `team`, as an unknown one."""
    first, last, filters, start_month = _bucketed(session, principal, from_, to, team, quarter,
                                                  by)
    rows = queries.lead_time_by_bucket(session, filters, first, last, by, start_month)
    return LeadTimeBucketsOut.model_validate({
        "from": first, "to": last, "by": by,
        "buckets": [LeadTimeBucketOut.model_validate({
            "period": b.label, "from": b.first, "to": b.last, "median": d.median, "p90": d.p90,
            "count": d.count}) for b, d in rows],
    })


@router.get("/velocity/deployments", name="api.metrics.velocity_deployments",
            summary="Deployments by month or quarter", response_model=DeploymentBucketsOut,
            responses=problem_responses(401, 403, 422))
def deployment_metrics(session: SessionDep, principal: Reader, from_: FromQuery = None,
                       to: ToQuery = None, team: TeamQuery = None, quarter: QuarterQuery = None,
                       by: ByQuery = By.month) -> DeploymentBucketsOut:
    """`deployed` and `rolled_back` events in [`from`, `to`] (both inclusive; or a whole
    `quarter`; by default the current fiscal quarter) per calendar month or fiscal quarter, as
    the velocity dashboard's deployment chart shows them, with each bucket's deployment
    frequency (per week) and change failure rate (docs/product.md). A bucket's figures are
    `metrics/velocity`'s for its `from` and `to` (the bucket clipped to the period).

    Frequencies are decimal strings with two places, rates with four; the rate is null when
    nothing was deployed. A team the token may not read is a 422 naming `team`, as an unknown
    one."""
    first, last, filters, start_month = _bucketed(session, principal, from_, to, team, quarter,
                                                  by)
    rows = queries.deployments_by_bucket(session, filters, first, last, by, start_month)
    return DeploymentBucketsOut.model_validate({
        "from": first, "to": last, "by": by,
        "buckets": [DeploymentBucketOut.model_validate({
            "period": b.label, "from": b.first, "to": b.last, "deployments": d.deployments,
            "rollbacks": d.rollbacks, "deployment_frequency_per_week": d.frequency_per_week,
            "change_failure_rate": d.change_failure_rate}) for b, d in rows],
    })


@router.get("/compute", name="api.metrics.compute", summary="Compute and LLM spend",
            response_model=ComputeOut, responses=problem_responses(401, 403, 422))
def compute_metrics(session: SessionDep, principal: Reader, window: Window,
                    from_: FromQuery = None, to: ToQuery = None,
                    team: TeamQuery = None, quarter: QuarterQuery = None) -> ComputeOut:
    """Compute spend and GPU hours of the months that overlap [`from`, `to`] (by default the
    current fiscal quarter), in total, per month and per model (highest spend first, then by
    model id): `limit` models (default 100, at most 500) from `offset`, with
    `by_model_total`. The totals always cover every model."""
    org = get_org_settings(session)
    first, last, filters = _scope(session, principal, from_, to, team,
                                  org.fiscal_year_start_month, quarter)
    total, hours = queries.compute_total(session, filters, first, last)
    by_model, models = queries.compute_by_model(session, filters, first, last,
                                                offset=window.offset, limit=window.limit)
    return ComputeOut.model_validate({
        "from": first, "to": last, "currency": org.currency, "total": total, "gpu_hours": hours,
        "by_month": [MonthSpendOut(month=s.month, amount=s.amount, gpu_hours=s.gpu_hours)
                     for s in queries.compute_by_month(session, filters, first, last)],
        "by_model_total": models, "limit": window.limit, "offset": window.offset,
        "by_model": [ModelSpendOut(model_id=i, model=name, amount=amount, gpu_hours=gpu_hours)
                     for i, name, amount, gpu_hours in by_model],
    })

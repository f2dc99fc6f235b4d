"""/api/v1 model value: KPIs, bulk KPI and quality observations, quality metrics, and
`metrics/value` (value delivered, compute, cost of delay, value at risk)."""

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field, GetPydanticSchema, PlainSerializer
from pydantic import WithJsonSchema
from sqlalchemy.orm import Session

from app.api.ml_models import _as_list, _one_or_many, _team_scope, readable_model
from app.api.pagination import Page, Paging, Window
from app.api.pain_point_schemas import period_errors
from app.api.types import PROBLEM_SCHEMA, IdPath, Money, problem_responses
from app.api.velocity import Days
from app.auth.deps import Editor, Reader
from app.auth.permissions import Principal
from app.core import clock
from app.core.errors import FieldError, PermissionDenied, ValidationFailed
from app.core.periods import quarter_of
from app.db import SessionDep
from app.ml_models.models import EventSource, ModelKind
from app.settings.service import get_org_settings
from app.value import queries, service
from app.value.formulas import Triple
from app.value.models import Kpi, QualityMetric
from app.value.queries import KpiObservationRow, ObservationFilters, ValueFilters
from app.value.schemas import (
    KpiIn, KpiObservationIn, KpiPatch, QualityMetricIn, QualityObservationIn,
)
from app.velocity import queries as velocity_queries

router = APIRouter()

ModelId = IdPath("The model's id.")
KpiKeyPath = Annotated[str, Path(max_length=60, description="The KPI's key.")]
MetricPath = Annotated[str, Path(max_length=80, description="The quality metric's name.")]
MAX_BULK = 1000


def _places(exponent: str):
    def serialize(value: Decimal) -> str:
        return str(value.quantize(Decimal(exponent), rounding=ROUND_HALF_EVEN))
    return serialize


UnitMoney = Annotated[Decimal, PlainSerializer(_places("0.0001"), return_type=str,
                                               when_used="json"),
                      WithJsonSchema({"type": "string", "examples": ["4.5000"]},
                                     mode="serialization")]
Ratio = Annotated[Decimal, PlainSerializer(_places("0.0001"), return_type=str, when_used="json"),
                  WithJsonSchema({"type": "string", "examples": ["3.2500"]},
                                 mode="serialization")]

CONFLICT = {409: {"description": "The `source` + `external_id` is already stored with other "
                                 "content; nothing was changed.",
                  "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}}


# --- KPIs -----------------------------------------------------------------------------------

class KpiOut(BaseModel):
    model_id: int
    key: str
    name: str
    unit: str
    value_per_unit: UnitMoney = Field(description="Money per unit, in the org's currency.")
    archived: bool
    version: int = Field(description="Send it back with a change (optimistic locking).")


def _kpi_out(kpi: Kpi) -> KpiOut:
    return KpiOut(model_id=kpi.model_id, key=kpi.key, name=kpi.name, unit=kpi.unit,
                  value_per_unit=kpi.value_per_unit, archived=kpi.archived_at is not None,
                  version=kpi.version)


def _editable(session: Session, model_id: int, principal: Principal):
    return readable_model(session, model_id, principal).model


@router.get("/models/{model_id}/kpis", name="api.kpis.list", summary="List a model's KPIs",
            tags=["model value"], response_model=list[KpiOut],
            responses=problem_responses(401, 404, 422))
def list_kpis(session: SessionDep, principal: Reader, model_id: ModelId,
              archived: Annotated[bool | None, Query(
                  description="Only archived (true) or only active (false) KPIs; all when "
                              "absent.")] = None) -> list[KpiOut]:
    readable_model(session, model_id, principal)
    return [_kpi_out(k) for k in queries.kpis_of(session, model_id, archived=archived)]


@router.post("/models/{model_id}/kpis", name="api.kpis.create", summary="Add a KPI to a model",
             tags=["model value"], status_code=201, response_model=KpiOut,
             responses=problem_responses(401, 403, 404, 422))
def create_kpi(request: Request, response: Response, session: SessionDep, principal: Editor,
               model_id: ModelId, data: KpiIn) -> KpiOut:
    """A business KPI: its monthly amounts × `value_per_unit` are the model's measured value.
    Keys are unique per model."""
    kpi = service.create_kpi(session, _editable(session, model_id, principal), data,
                             actor=principal)
    response.headers["Location"] = str(request.url_for("api.kpis.get", model_id=model_id,
                                                       key=kpi.key))
    return _kpi_out(kpi)


@router.get("/models/{model_id}/kpis/{key}", name="api.kpis.get", summary="Read a KPI",
            tags=["model value"], response_model=KpiOut, responses=problem_responses(401, 404))
def get_kpi(session: SessionDep, principal: Reader, model_id: ModelId,
            key: KpiKeyPath) -> KpiOut:
    model = readable_model(session, model_id, principal).model
    return _kpi_out(service.kpi_by_key(session, model, key))


@router.patch("/models/{model_id}/kpis/{key}", name="api.kpis.update", summary="Change a KPI",
              tags=["model value"], response_model=KpiOut,
              responses=problem_responses(401, 403, 404, 422)
              | {409: {"description": "Someone changed the KPI after the `version` you sent.",
                       "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}})
def update_kpi(session: SessionDep, principal: Editor, model_id: ModelId, key: KpiKeyPath,
               data: KpiPatch) -> KpiOut:
    """Name, unit or value per unit; `version` (the one you read) is required."""
    model = _editable(session, model_id, principal)
    kpi = service.kpi_by_key(session, model, key)
    return _kpi_out(service.update_kpi(session, model, kpi, data, actor=principal))


@router.delete("/models/{model_id}/kpis/{key}", name="api.kpis.delete",
               summary="Remove a KPI", tags=["model value"], response_model=KpiOut,
               responses={200: {"description": "The KPI has observations: it was archived "
                                               "(its months keep counting)."},
                          204: {"description": "The KPI had no observations: deleted."}}
               | problem_responses(401, 403, 404))
def delete_kpi(session: SessionDep, principal: Editor, model_id: ModelId,
               key: KpiKeyPath) -> Any:
    """A KPI without observations is deleted (204); one with observations is archived and
    answered (200)."""
    model = _editable(session, model_id, principal)
    kpi = service.kpi_by_key(session, model, key)
    if service.remove_kpi(session, model, kpi, actor=principal):
        return Response(status_code=204)
    return _kpi_out(kpi)


# --- bulk observations ----------------------------------------------------------------------

class BulkResultOut(BaseModel):
    index: int = Field(description="Position in the request (0 for a single one).")
    id: int
    created: bool = Field(description="False when it replaced a stored month or was already "
                                      "stored.")
    changed: bool = Field(description="False when the same content was already stored.")


class BulkOut(BaseModel):
    results: list[BulkResultOut]


def _bulk(item_type: type) -> Any:
    return Annotated[
        list[item_type],
        BeforeValidator(_as_list),
        GetPydanticSchema(get_pydantic_json_schema=_one_or_many),
        Body(min_length=1, max_length=MAX_BULK,
             description=f"One observation or a list of at most {MAX_BULK}."),
    ]


def _results(results: list[service.WriteResult]) -> BulkOut:
    return BulkOut(results=[BulkResultOut(index=i, id=r.row.id, created=r.created,
                                          changed=r.changed) for i, r in enumerate(results)])


@router.post("/kpi-observations", name="api.kpi_observations.bulk",
             summary="Record KPI observations in bulk", tags=["model value"],
             response_model=BulkOut, responses=problem_responses(401, 403, 422) | CONFLICT)
def record_kpi_observations(session: SessionDep, principal: Editor,
                            data: _bulk(KpiObservationIn)) -> BulkOut:
    """Each names its model by team slug and model name, and the KPI by key. One amount per
    (model, KPI, month): writing a month again replaces it (the audit log keeps both). The
    same `source` + `external_id` with the same content is a no-op; with other content a
    409. All or nothing: one refused observation stores none (`<index>.<field>`)."""
    return _results(service.record_kpi_observations(session, data, actor=principal,
                                                    today=clock.today()))


class KpiObservationOut(BaseModel):
    id: int
    team: str
    model: str
    kpi: str
    month: str = Field(examples=["2026-05"])
    amount: UnitMoney
    value: Money = Field(description="amount × the KPI's value per unit.")
    source: EventSource
    external_id: str | None
    note: str


def _observation_out(row: KpiObservationRow) -> KpiObservationOut:
    o = row.observation
    return KpiObservationOut(id=o.id, team=row.team_slug, model=row.model_name, kpi=row.kpi.key,
                             month=o.month.strftime("%Y-%m"), amount=o.amount, value=row.value,
                             source=o.source, external_id=o.external_id, note=o.note)


@router.get("/kpi-observations", name="api.kpi_observations.list",
            summary="List KPI observations", tags=["model value"],
            response_model=Page[KpiObservationOut], responses=problem_responses(401, 422))
def list_kpi_observations(
    session: SessionDep, principal: Reader, paging: Paging,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
    model: Annotated[str | None, Query(max_length=120, description="Model name (with `team`, "
                                                                   "or across teams).")] = None,
    from_: Annotated[date | None, Query(alias="from", description="Months overlapping the "
                                                                  "period from this day.")] = None,
    to: Annotated[date | None, Query(description="… to this day (inclusive).")] = None,
) -> Page[KpiObservationOut]:
    """Newest month first."""
    errors = period_errors(from_, to, clock.today())
    team_ids = _team_scope(session, principal, team, errors)
    if errors:
        raise ValidationFailed(errors)
    model_ids = None
    if model is not None:
        model_ids = queries.model_ids_named(session, model, team_ids)
    rows, total = queries.list_kpi_observations(
        session, ObservationFilters(team_ids=team_ids, model_ids=model_ids, first=from_,
                                    last=to), offset=paging.offset, limit=paging.limit)
    return Page[KpiObservationOut].of([_observation_out(r) for r in rows], total, paging)


@router.post("/quality-observations", name="api.quality_observations.bulk",
             summary="Record quality observations in bulk", tags=["model value"],
             response_model=BulkOut, responses=problem_responses(401, 403, 422) | CONFLICT)
def record_quality_observations(session: SessionDep, principal: Editor,
                                data: _bulk(QualityObservationIn)) -> BulkOut:
    """Each names its model by team slug and model name; a metric seen for the first time is
    created (higher is better unless its name contains error, rmse, mae, loss or latency;
    tolerance 0.05). `observed_at` needs a time zone. Idempotent per `source` +
    `external_id`, as events; all or nothing."""
    return _results(service.record_quality_observations(session, data, actor=principal))


class QualityMetricOut(BaseModel):
    model_id: int
    name: str
    higher_is_better: bool
    tolerance: Ratio


def _metric_out(metric: QualityMetric) -> QualityMetricOut:
    return QualityMetricOut(model_id=metric.model_id, name=metric.name,
                            higher_is_better=metric.higher_is_better, tolerance=metric.tolerance)


@router.get("/models/{model_id}/quality-metrics", name="api.quality_metrics.list",
            summary="List a model's quality metrics", tags=["model value"],
            response_model=list[QualityMetricOut], responses=problem_responses(401, 404, 422))
def list_quality_metrics(session: SessionDep, principal: Reader,
                         model_id: ModelId) -> list[QualityMetricOut]:
    readable_model(session, model_id, principal)
    return [_metric_out(m) for m in queries.quality_metrics_of(session, model_id)]


@router.put("/models/{model_id}/quality-metrics/{name}", name="api.quality_metrics.put",
            summary="Set how a quality metric reads", tags=["model value"],
            response_model=QualityMetricOut, status_code=200,
            responses={201: {"description": "The metric was created.",
                             "model": QualityMetricOut}}
            | problem_responses(401, 403, 404, 422))
def put_quality_metric(response: Response, session: SessionDep, principal: Editor,
                       model_id: ModelId, name: MetricPath,
                       data: QualityMetricIn) -> QualityMetricOut:
    """`higher_is_better` (default from the name) and the relative `tolerance` (0–1) beyond
    which the latest value counts as degraded against the baseline."""
    metric_name = name.strip()
    if not metric_name:
        raise ValidationFailed([FieldError("name", "cannot be empty")])
    metric, created = service.put_quality_metric(
        session, _editable(session, model_id, principal), metric_name, data, actor=principal)
    if created:
        response.status_code = 201
    return _metric_out(metric)


# --- metrics/value --------------------------------------------------------------------------

class RangeOut(BaseModel):
    total: Money
    low: Money
    high: Money


def _range(t: Triple) -> RangeOut:
    return RangeOut(total=t.expected, low=t.low, high=t.high)


class ValueOut(RangeOut):
    measured: Money = Field(description="The part from months with KPI observations.")
    estimated: Money = Field(description="The part from the annual value estimate.")


class DelayOut(RangeOut):
    models: int = Field(description="Models whose first deployment falls in the period (the "
                                    "lead-time models).")


class RiskModelOut(BaseModel):
    model: str = Field(description="The model's name.")
    team: str = Field(description="Team slug.")
    reasons: list[str]
    annual_value: Money = Field(description="Measured over the three months before the day's "
                                            "month, × 12; else the PERT estimate.")
    annual_value_low: Money
    annual_value_high: Money


class RiskOut(RangeOut):
    as_of: date = Field(description="The period's last day, or today while it runs.")
    count: int = Field(description="Models at risk (the list holds the most valuable 50).")
    models: list[RiskModelOut]


class QualityOut(BaseModel):
    metric: str
    baseline: float | None
    latest: float | None
    status: str = Field(description="`ok`, `degraded` or `unknown` (no baseline).")


class ModelValueOut(BaseModel):
    model: str
    team: str
    kind: ModelKind
    value: Money
    value_low: Money
    value_high: Money
    measured: Money
    estimated: Money
    compute_cost: Money
    net_value: Money
    value_per_compute_dollar: Ratio | None
    lead_time_days: Days | None
    quality: list[QualityOut]


class ModelValuePage(BaseModel):
    items: list[ModelValueOut]
    total: int
    limit: int
    offset: int


class ValueMetricsOut(BaseModel):
    currency: str
    from_: date = Field(alias="from")
    to: date
    value: ValueOut
    compute_cost: Money
    net_value: Money
    value_per_compute_dollar: Ratio | None
    cost_of_delay: DelayOut
    week_value: RangeOut = Field(description="Σ weekly value of the lead-time models: what "
                                             "each week cut from their lead time was worth.")
    value_at_risk: RiskOut
    by_model: ModelValuePage


def value_scope(session: Session, principal: Principal, team: str | None,
                errors: list[FieldError]) -> frozenset[int] | None:
    """The principal's teams, narrowed to `team`; another team's figures are a 403."""
    if team is None:
        return principal.visible_team_ids
    team_id = velocity_queries.team_id_by_slug(session, team)
    if team_id is None:
        errors.append(FieldError("team", f"unknown team '{team}'"))
        return principal.visible_team_ids
    if not principal.can_read_team(team_id):
        raise PermissionDenied(f"You may read the figures of your own teams only, not of "
                               f"'{team}'.", field="team")
    return frozenset({team_id})


def value_metrics_out(report: queries.ValueReport, currency: str,
                      window_limit: int, window_offset: int) -> ValueMetricsOut:
    fig = report.figures
    return ValueMetricsOut.model_validate({
        "currency": currency, "from": report.first, "to": report.last,
        "value": ValueOut(total=fig.value.expected, low=fig.value.low, high=fig.value.high,
                          measured=fig.measured, estimated=fig.estimated),
        "compute_cost": fig.compute, "net_value": fig.net,
        "value_per_compute_dollar": fig.per_compute_dollar,
        "cost_of_delay": DelayOut(total=report.delay.cost.expected, low=report.delay.cost.low,
                                  high=report.delay.cost.high, models=report.delay.models),
        "week_value": _range(report.delay.week_value),
        "value_at_risk": RiskOut(
            total=report.risk.value.expected, low=report.risk.value.low,
            high=report.risk.value.high, as_of=report.risk.day, count=report.risk.count,
            models=[RiskModelOut(model=m.name, team=m.team_slug, reasons=m.reasons,
                                 annual_value=m.annual_value.expected,
                                 annual_value_low=m.annual_value.low,
                                 annual_value_high=m.annual_value.high)
                    for m in report.risk.models]),
        "by_model": ModelValuePage(items=[ModelValueOut(
            model=m.name, team=m.team_slug, kind=m.kind, value=m.figures.value.expected,
            value_low=m.figures.value.low, value_high=m.figures.value.high,
            measured=m.figures.measured, estimated=m.figures.estimated,
            compute_cost=m.figures.compute, net_value=m.figures.net,
            value_per_compute_dollar=m.figures.per_compute_dollar,
            lead_time_days=m.lead_time_days,
            quality=[QualityOut(metric=q.metric, baseline=q.baseline, latest=q.latest,
                                status=q.status) for q in m.quality])
            for m in report.models], total=report.models_total, limit=window_limit,
            offset=window_offset),
    })


@router.get("/metrics/value", name="api.metrics.value", summary="Model value",
            tags=["metrics"], response_model=ValueMetricsOut, response_model_by_alias=True,
            responses=problem_responses(401, 403, 422))
def value_metrics(
    session: SessionDep, principal: Reader, window: Window,
    from_: Annotated[date | None, Query(
        alias="from", description="First day (inclusive); defaults to the first day of the "
                                  "current fiscal quarter.")] = None,
    to: Annotated[date | None, Query(
        description="Last day (inclusive); defaults to the current quarter's last day.")] = None,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
) -> ValueMetricsOut:
    """What the models earn in the period, as docs/product.md defines it: value delivered (a
    month with KPI observations is measured, Σ amount × value per unit; otherwise the PERT
    annual value × production days ÷ days in the year), pro-rated to the period; compute cost
    pro-rated alike; net value and value per compute dollar; cost of delay of the models first
    deployed in the period (weekly value × days beyond the org's target lead time ÷ 7); value
    at risk at the period's last day (or today) over the models in production that are stale
    or have a degraded quality metric. `by_model` lists the models with value or compute in
    the period by value, `limit` from `offset`. Money is a decimal string, rounded half-even
    to cents."""
    today = clock.today()
    org = get_org_settings(session)
    current = quarter_of(today, org.fiscal_year_start_month)
    first, last = from_ or current.first_day, to or current.last_day
    errors = period_errors(first, last, today)
    team_ids = value_scope(session, principal, team, errors)
    if errors:
        raise ValidationFailed(errors)
    report = queries.value_report(
        session, ValueFilters(team_ids=team_ids), first, last, today=today,
        target_lead_time_days=org.target_lead_time_days, staleness_days=org.staleness_days,
        offset=window.offset, limit=window.limit)
    return value_metrics_out(report, org.currency, window.limit, window.offset)

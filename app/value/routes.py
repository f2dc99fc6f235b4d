"""A model's value page (/models/{id}/value): its value month by month (measured or estimated),
its KPIs with their observations, its quality metrics over time with the deployments, the
baseline and the tolerance band, its compute and net value; the forms that add a KPI and record
a month's KPI amounts. And the live PERT preview of the annual value on the model form.

Plain form posts with Post/Redirect/Get; a refused form comes back with 422 and each message
beside its field; the service validates before it writes, so nothing is stored then.
"""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.deps import Editor, Reader
from app.auth.permissions import Principal
from app.core import clock
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.periods import quarter_of
from app.core.clock import utcnow
from app.db import SessionDep
from app.web.forms import Errors, FormDep, field_errors, form_text, redirect_with_flash
from app.ml_models import queries as model_queries
from app.ml_models.models import EventSource, MLModel
from app.settings.service import get_org_settings
from app.web.templating import render
from app.value import figures, formulas, queries, service
from app.value.queries import ObservationFilters, ValueFilters
from app.value.schemas import KpiIn, KpiObservationIn
from app.velocity import queries as velocity_queries

router = APIRouter(include_in_schema=False)

MONTHS_SHOWN = 12
KPI_FIELDS = ["key", "name", "unit", "value_per_unit"]
LABELS = {"key": "Key", "name": "Name", "unit": "Unit", "value_per_unit": "Value per unit",
          "month": "Month", "note": "Note", "kpi": "KPI", "external_id": "External id"}


def _model(session: Session, principal: Principal, model_id: int) -> MLModel:
    model = session.get(MLModel, model_id)
    if model is None or not principal.can_read_team(model.team_id):
        raise NotFound(f"There is no model {model_id}.")
    return model


def _month_buckets(today: date) -> list[tuple[int, date, date]]:
    months = formulas.previous_months(today, MONTHS_SHOWN - 1) + [today.replace(day=1)]
    return [(i, m, formulas.next_month(m) - timedelta(days=1)) for i, m in enumerate(months)]


def _value_page(request: Request, session: Session, principal: Principal, model_id: int, *,
                errors: Errors | None = None, kpi_form: dict[str, str] | None = None,
                month_form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    model = _model(session, principal, model_id)
    org = get_org_settings(session)
    today = clock.today()
    scope = ValueFilters(model_ids=frozenset({model.id}))
    buckets = _month_buckets(today)
    monthly = queries.value_by_bucket(session, scope, buckets)
    bars = [figures.MonthBar(first, v.value.expected, v.measured != 0)
            for (_, first, _), v in zip(buckets, monthly.values(), strict=True)]
    quarter = quarter_of(today, org.fiscal_year_start_month)
    this_quarter = queries.value_figures(session, scope, quarter.first_day, quarter.last_day)
    events, _ = model_queries.model_events(session, model.id)
    facts = [formulas.Event(e.type.value, e.occurred_at) for e in events]
    deployments = [e.occurred_at for e in events if e.type.value == "deployed"]
    kpis = queries.kpis_of(session, model.id)
    observations, _ = queries.list_kpi_observations(
        session, ObservationFilters(model_ids=frozenset({model.id}), first=buckets[0][1]))
    amounts = {(o.kpi.key, o.observation.month): o for o in observations}
    statuses = {q.metric: q for q in queries.quality_of(session, [model.id], today).get(
        model.id, [])}
    points = queries.quality_observations_of(session, model.id)
    series = []
    for metric in queries.quality_metrics_of(session, model.id):
        status = statuses.get(metric.name)
        series.append(figures.QualitySeries(
            metric.name, metric.higher_is_better, metric.tolerance,
            [figures.QualityPoint(o.observed_at, o.value, o.version)
             for name, o in points if name == metric.name],
            status.baseline if status else None, status.status if status else "unknown"))
    currency = org.currency
    active = [k for k in kpis if k.archived_at is None]
    context = {
        "path_for": request.app.url_path_for, "model": model, "currency": currency,
        "team": velocity_queries.get_model_row(session, model.id, now=utcnow()).team_slug,
        "bars": bars, "monthly_figure": figures.monthly_value(bars, currency),
        "quarter": quarter, "this_quarter": this_quarter,
        "in_production": formulas.in_production(facts, today),
        "stale": formulas.is_stale(facts, today, org.staleness_days), "org": org,
        "kpis": kpis, "active_kpis": active, "months": [b[1] for b in buckets],
        "amounts": amounts, "series": [(s, figures.quality_over_time(s, deployments))
                                       for s in series],
        "can_edit": principal.can_edit_team(model.team_id),
        "kpi_form": kpi_form or {"key": "", "name": "", "unit": currency,
                                 "value_per_unit": "1"},
        "month_form": month_form or {"month": (today.replace(day=1) - timedelta(days=1))
                                     .strftime("%Y-%m"), "note": ""},
        "this_month": today.strftime("%Y-%m"),
        "errors": errors or {}, "labels": LABELS,
        "other_errors": [f"{LABELS.get(f, f)}: {m}" for f, m in (errors or {}).items()
                         if f not in KPI_FIELDS + ["month", "note"]
                         and not f.startswith("amount_")],
        "money_short": figures.money_short, "number": figures.number,
    }
    return render(request, "ml_models/value.html", context, status_code=status_code)


@router.get("/models/{model_id}/value", name="ml_models.value")
def value_page(request: Request, session: SessionDep, principal: Reader,
               model_id: int) -> Response:
    return _value_page(request, session, principal, model_id)


def _url(request: Request, model_id: int) -> str:
    return request.app.url_path_for("ml_models.value", model_id=model_id)


@router.post("/models/{model_id}/kpis", name="ml_models.add_kpi")
def add_kpi(request: Request, session: SessionDep, principal: Editor, form: FormDep,
            model_id: int) -> Response:
    model = _model(session, principal, model_id)
    submitted = {name: form_text(form, name) for name in KPI_FIELDS}
    try:
        kpi = service.create_kpi(session, model, KpiIn(**submitted), actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _value_page(request, session, principal, model_id, errors=field_errors(exc),
                           kpi_form=submitted, status_code=422)
    except PermissionDenied as exc:
        return _value_page(request, session, principal, model_id, errors={"form": exc.message},
                           kpi_form=submitted, status_code=403)
    return redirect_with_flash(request, _url(request, model.id), f"KPI “{kpi.name}” added.")


@router.post("/models/{model_id}/kpi-values", name="ml_models.record_kpis")
def record_kpis(request: Request, session: SessionDep, principal: Editor, form: FormDep,
                model_id: int) -> Response:
    """One month's amount of each KPI filled in (a blank one is left as it is)."""
    model = _model(session, principal, model_id)
    team = velocity_queries.get_model_row(session, model.id, now=utcnow()).team_slug
    submitted = {"month": form_text(form, "month"), "note": form_text(form, "note")}
    kpis = [k for k in queries.kpis_of(session, model.id) if k.archived_at is None]
    items, errors = [], {}
    for kpi in kpis:
        field = f"amount_{kpi.key}"
        submitted[field] = form_text(form, field)
        if not submitted[field]:
            continue
        try:
            items.append((field, KpiObservationIn(
                team=team, model=model.name, kpi=kpi.key, month=submitted["month"],
                amount=submitted[field], source=EventSource.manual, note=submitted["note"])))
        except ValidationError as exc:
            for name, message in field_errors(exc).items():
                errors[field if name == "amount" else name] = message
    if not items and not errors:
        errors["form"] = "fill in the amount of at least one KPI"
    if not errors:
        try:
            service.record_kpi_observations(session, [item for _, item in items],
                                            actor=principal, today=clock.today())
        except ValidationFailed as exc:
            for e in exc.errors:
                index, _, name = e.field.partition(".")
                errors[items[int(index)][0] if name == "amount" else name] = e.message
        except (Conflict, PermissionDenied) as exc:
            errors["form"] = exc.message
    if errors:
        return _value_page(request, session, principal, model_id, errors=errors,
                           month_form=submitted, status_code=422)
    return redirect_with_flash(request, _url(request, model.id),
                               f"KPI values of {submitted['month']} saved.")


@router.get("/model-value/preview", name="ml_models.value_preview")
def preview(request: Request, principal: Reader, session: SessionDep) -> Response:
    """The PERT mean of the annual value as it is typed in the model form (a fragment)."""
    values: dict[str, Decimal | None] = {}
    for name in ("annual_value_low", "annual_value_likely", "annual_value_high"):
        raw = request.query_params.get(name, "").strip()
        try:
            values[name] = Decimal(raw) if raw else None
        except InvalidOperation:
            values[name] = None
    low, likely, high = values.values()
    complete = None not in (low, likely, high) and all(
        v.is_finite() and v >= 0 for v in (low, likely, high)) and low <= likely <= high
    expected = formulas.pert(low, likely, high) if complete else None
    return render(request, "ml_models/_value_preview.html", {
        "expected": expected, "currency": get_org_settings(session).currency,
        "money_short": figures.money_short, "complete": complete,
        "any": any(v is not None for v in (low, likely, high))})

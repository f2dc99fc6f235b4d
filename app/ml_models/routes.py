"""Model pages: the list, the create/edit form, and the model page with its lifecycle timeline,
velocity figures, compute cost and the forms that add events and costs.

Plain form posts with Post/Redirect/Get; a refused form comes back with 422 (409 for a
conflicting event id, 403 for another team's model), the values as typed and each message
beside its field. The service validates before it writes, so nothing is stored then.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.deps import Editor, Reader
from app.auth.permissions import Permission, Principal
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.locking import StaleVersion, form_version
from app.core.periods import parse_quarter
from app.core.types import parse_id
from app.core.clock import utcnow
from app.db import SessionDep
from app.web.forms import (
    Errors, FormDep, conflict_rows, field_errors, form_text, redirect_with_flash,
)
from app.ml_models import queries as model_queries
from app.ml_models import service
from app.ml_models.models import EventSource, EventType, MLModel, ModelKind
from app.ml_models.schemas import ComputeCostIn, EventIn, ModelIn, ModelPatch
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.teams.models import Team
from app.web.templating import is_htmx, render
from app.velocity import figures, metrics, queries
from app.velocity.queries import ModelListFilters, VelocityFilters

router = APIRouter(prefix="/models", include_in_schema=False)

PAGE_SIZE = 50
# Compute cost is shown over the model's whole life: from the service's earliest event year.
COMPUTE_FROM = date(2000, 1, 1)

MODEL_FIELDS = ["team", "name", "use_case", "kind", "annual_value_low", "annual_value_likely",
                "annual_value_high"]
EVENT_FIELDS = ["type", "occurred_at", "version"]
COST_FIELDS = ["month", "gpu_hours", "amount"]
LABELS = {
    "team": "Team", "name": "Name", "use_case": "Use case", "kind": "Kind",
    "annual_value_low": "Annual value, low", "annual_value_likely": "Annual value, likely",
    "annual_value_high": "Annual value, high", "type": "Event type",
    "occurred_at": "Occurred at (UTC)", "version": "Version", "source": "Source",
    "external_id": "External id", "month": "Month", "gpu_hours": "GPU hours",
    "amount": "Amount", "note": "Note", "archived": "Status", "page": "Page",
}
KIND_LABELS = {"classical": "Classical ML", "llm": "LLM"}
SOURCE_LABELS = {"manual": "Manual", "api": "API", "mlflow": "MLflow", "csv": "CSV"}
ARCHIVED_CHOICES = {"active": False, "archived": True, "all": None}
ARCHIVED_LABELS = {"active": "Active", "archived": "Archived", "all": "All"}


# --- helpers ----------------------------------------------------------------------------------


def _error_context(errors: Errors, shown: Iterable[str]) -> dict[str, Any]:
    """Errors of fields on the page link to them from the summary; the others are listed
    there in words."""
    fields = list(shown)
    return {"errors": errors,
            "shown_errors": [(f, LABELS.get(f, f), errors[f]) for f in fields if f in errors],
            "other_errors": [f"{LABELS.get(f, f)}: {m}" if f != "form" else m
                             for f, m in errors.items() if f not in fields]}


def _page(request: Request, template: str, context: dict[str, Any], *,
          block: str | None = None, status_code: int = 200) -> Response:
    base = {"path_for": request.app.url_path_for, "errors": {}, "other_errors": [],
            "shown_errors": [], "labels": LABELS, "kind_labels": KIND_LABELS,
            "source_labels": SOURCE_LABELS, "event_label": figures.event_label}
    return render(request, template, base | context, block=block, status_code=status_code)


def _detail_url(request: Request, model_id: int) -> str:
    return request.app.url_path_for("ml_models.detail", model_id=model_id)


def _model(session: Session, principal: Principal, model_id: int) -> MLModel:
    """Another team's model is as absent as a missing one for those who may not read it."""
    model = session.get(MLModel, model_id)
    if model is None or not principal.can_read_team(model.team_id):
        raise NotFound(f"There is no model {model_id}.")
    return model


def _editable_model(session: Session, principal: Principal, model_id: int) -> MLModel:
    model = _model(session, principal, model_id)
    if not principal.can_edit_team(model.team_id):
        raise PermissionDenied("You may change models of your own teams only.")
    return model


def _visible_teams(session: Session, principal: Principal) -> list[Team]:
    teams, _ = team_queries.list_teams(session, visible_team_ids=principal.visible_team_ids,
                                       include_archived=True)
    return list(teams)


def _editable_teams(session: Session, principal: Principal) -> list[Team]:
    return [t for t in _visible_teams(session, principal)
            if principal.can_edit_team(t.id) and not t.is_archived]


# --- the list ---------------------------------------------------------------------------------


class ListQuery(BaseModel):
    """The list's filters as the URL carries them (slugs, so a filtered view is a link)."""

    model_config = ConfigDict(extra="ignore")

    team: str = ""
    kind: ModelKind | None = None
    archived: Literal["active", "archived", "all"] = "active"
    # Drill-downs from the velocity dashboard: an ideation cohort, a milestone it reached, a
    # month with a deployment.
    cohort: Annotated[str, Field(pattern=r"^\d{4}-Q[1-4]$",
                                 description="quarter of first ideation, like 2026-Q1")] = ""
    reached: Literal[metrics.MILESTONES] | None = None  # type: ignore[valid-type]
    deployed_in: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                                      description="a month, like 2026-03")] = ""
    page: Annotated[int, Field(ge=1, le=100_000)] = 1


def _list_query(request: Request) -> tuple[ListQuery, Errors]:
    raw = {k: request.query_params[k].strip() for k in request.query_params
           if request.query_params[k].strip()}
    try:
        return ListQuery.model_validate(raw), {}
    except ValidationError as exc:
        errors = field_errors(exc)
        return ListQuery.model_validate({k: v for k, v in raw.items() if k not in errors}), errors


def _query_string(query: ListQuery, **extra: Any) -> str:
    pairs: list[tuple[str, Any]] = []
    if query.team:
        pairs.append(("team", query.team))
    if query.kind:
        pairs.append(("kind", query.kind.value))
    if query.archived != "active":
        pairs.append(("archived", query.archived))
    pairs += [(name, getattr(query, name)) for name in ("cohort", "reached", "deployed_in")
              if getattr(query, name)]
    pairs += list(extra.items())
    return urlencode(pairs)


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


@router.get("", name="ml_models.index")
def index(request: Request, session: SessionDep, principal: Reader) -> Response:
    query, errors = _list_query(request)
    teams = _visible_teams(session, principal)
    team = next((t for t in teams if t.slug == query.team), None) if query.team else None
    # A team one may not see is reported exactly like one that does not exist.
    if query.team and team is None:
        errors["team"] = f"unknown team '{query.team}'"
    cohort = (parse_quarter(query.cohort, get_org_settings(session).fiscal_year_start_month)
              if query.cohort else None)
    month = date.fromisoformat(f"{query.deployed_in}-01") if query.deployed_in else None
    rows: list[queries.ModelRow] = []
    total = 0
    if not errors:
        filters = ModelListFilters(
            team_ids=frozenset({team.id}) if team else principal.visible_team_ids,
            kind=query.kind, archived=ARCHIVED_CHOICES[query.archived],
            ideated_between=(cohort.first_day, cohort.last_day) if cohort else None,
            reached=query.reached,
            deployed_between=(month, _month_end(month)) if month else None)
        rows, total = queries.list_models(session, filters, now=utcnow(),
                                          offset=(query.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    drilled = [text for text in (
        f"ideated in {query.cohort}" if query.cohort else "",
        f"reached {query.reached.replace('_', ' ')}" if query.reached else "",
        f"deployed in {month:%B %Y}" if month else "") if text]
    response = _page(request, "ml_models/index.html", {
        "query": query, "teams": teams, "drilled": drilled,
        "clear_drill_qs": _query_string(query.model_copy(update={
            "cohort": "", "reached": None, "deployed_in": ""})), "rows": rows, "total": total, "page": query.page,
        "pages": pages, "kinds": list(ModelKind), "archived_labels": ARCHIVED_LABELS,
        "may_edit": principal.has(Permission.edit), "list_errors": errors,
        "page_qs": {n: _query_string(query, page=n) for n in (query.page - 1, query.page + 1)},
    }, block="results")
    if is_htmx(request) and not errors:
        # The link people share: the filters that apply, without the form's blank fields.
        qs = _query_string(query, **({"page": query.page} if query.page > 1 else {}))
        response.headers["HX-Push-Url"] = request.url.path + (f"?{qs}" if qs else "")
    return response


# --- create and edit --------------------------------------------------------------------------


def _form_values(form: Any) -> dict[str, str]:
    return {name: form_text(form, name) if name != "use_case" else (form.get(name) or "")
            for name in MODEL_FIELDS}


def _blank_is_none(value: str) -> str | None:
    return value or None


def _form_page(request: Request, session: Session, principal: Principal, *,
               values: dict[str, str], model: MLModel | None = None, team: Team | None = None,
               errors: Errors | None = None, status_code: int = 200,
               version: int | None = None, conflict: dict[str, Any] | None = None) -> Response:
    currency = get_org_settings(session).currency
    if version is None and model is not None:
        version = model.version
    return _page(request, "ml_models/form.html", {
        "model": model, "team": team, "values": values, "currency": currency,
        "version": version, "conflict": conflict,
        "teams": _editable_teams(session, principal) if model is None else [],
        "kinds": list(ModelKind),
        **_error_context(errors or {}, MODEL_FIELDS),
    }, status_code=status_code)


@router.get("/new", name="ml_models.new")
def new(request: Request, session: SessionDep, principal: Editor) -> Response:
    teams = _editable_teams(session, principal)
    wanted = request.query_params.get("team", "")
    team = next((t for t in teams if t.slug == wanted), teams[0] if teams else None)
    values = {name: "" for name in MODEL_FIELDS} | {
        "team": team.slug if team else "", "kind": ModelKind.classical.value}
    return _form_page(request, session, principal, values=values)


@router.post("", name="ml_models.create")
def create(request: Request, session: SessionDep, principal: Editor, form: FormDep) -> Response:
    values = _form_values(form)
    try:
        data = ModelIn(team=values["team"], name=values["name"], use_case=values["use_case"],
                       kind=values["kind"] or ModelKind.classical,
                       **_annual_values(values))
        model = service.create_model(session, data, actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _form_page(request, session, principal, values=values, errors=field_errors(exc),
                          status_code=422)
    except PermissionDenied as exc:
        return _form_page(request, session, principal, values=values,
                          errors={"team": exc.message}, status_code=403)
    return redirect_with_flash(request, _detail_url(request, model.id), f"Model “{model.name}” created.")


def _annual_values(values: dict[str, str]) -> dict[str, str | None]:
    return {name: _blank_is_none(values[name])
            for name in ("annual_value_low", "annual_value_likely", "annual_value_high")}


def _plain(value: Any) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _values_of(model: MLModel) -> dict[str, str]:
    return {"team": "", "name": model.name, "use_case": model.use_case or "",
            "kind": ModelKind(model.kind).value,
            "annual_value_low": _plain(model.annual_value_low),
            "annual_value_likely": _plain(model.annual_value_likely),
            "annual_value_high": _plain(model.annual_value_high)}


@router.get("/{model_id}/edit", name="ml_models.edit")
def edit(request: Request, session: SessionDep, principal: Editor, model_id: int) -> Response:
    model = _editable_model(session, principal, model_id)
    return _form_page(request, session, principal, values=_values_of(model), model=model,
                      team=session.get(Team, model.team_id))


@router.post("/{model_id}", name="ml_models.update")
def update(request: Request, session: SessionDep, principal: Editor, form: FormDep,
           model_id: int) -> Response:
    model = _model(session, principal, model_id)
    values = _form_values(form)
    typed = form_text(form, "version")
    try:
        patch = ModelPatch(name=values["name"], use_case=values["use_case"],
                           kind=values["kind"] or ModelKind.classical,
                           **_annual_values(values),
                           version=form_version(typed))
        service.update_model(session, model, patch, actor=principal, require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        return _form_page(request, session, principal, values=values, model=model,
                          team=session.get(Team, model.team_id), errors=field_errors(exc),
                          version=parse_id(typed),
                          status_code=422)
    except StaleVersion as exc:
        current = exc.current
        labels = {name: LABELS.get(name, name) for name in MODEL_FIELDS if name != "team"}

        def shown(v: dict[str, str]) -> dict[str, str]:
            return v | {"kind": KIND_LABELS.get(v["kind"], v["kind"])}

        # The form now carries their version: saving again is a deliberate overwrite.
        return _form_page(request, session, principal, values=values, model=current,
                          team=session.get(Team, current.team_id), version=current.version,
                          status_code=409, conflict={
                              "message": exc.message,
                              "rows": conflict_rows(labels, shown(_values_of(current)),
                                                    shown(values))})
    except PermissionDenied as exc:
        return _form_page(request, session, principal, values=values, model=model,
                          team=session.get(Team, model.team_id), errors={"form": exc.message},
                          status_code=403)
    return redirect_with_flash(request, _detail_url(request, model.id), f"Model “{model.name}” saved.")


@router.post("/{model_id}/archive", name="ml_models.archive")
def archive(request: Request, session: SessionDep, principal: Editor,
            model_id: int) -> Response:
    model = _model(session, principal, model_id)
    service.update_model(session, model, ModelPatch(archived=True), actor=principal)
    return redirect_with_flash(request, _detail_url(request, model.id),
                     f"Model “{model.name}” archived: it is kept with its history.")


@router.post("/{model_id}/unarchive", name="ml_models.unarchive")
def unarchive(request: Request, session: SessionDep, principal: Editor,
              model_id: int) -> Response:
    model = _model(session, principal, model_id)
    service.update_model(session, model, ModelPatch(archived=False), actor=principal)
    return redirect_with_flash(request, _detail_url(request, model.id),
                     f"Model “{model.name}” is active again.")


# --- the model page and its forms -------------------------------------------------------------


def _now_minute() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M")


def _detail_page(request: Request, session: Session, principal: Principal, model_id: int, *,
                 errors: Errors | None = None, event_form: dict[str, str] | None = None,
                 cost_form: dict[str, str] | None = None, message: str = "",
                 status_code: int = 200) -> Response:
    model = _model(session, principal, model_id)
    row = queries.get_model_row(session, model.id, now=utcnow())
    events, _ = model_queries.model_events(session, model.id)
    spend = queries.compute_by_month(session, VelocityFilters(model_id=model.id), COMPUTE_FROM,
                                     utcnow().date())
    currency = get_org_settings(session).currency
    return _page(request, "ml_models/detail.html", {
        "row": row, "model": model, "events": events, "spend": spend, "currency": currency,
        "timeline": figures.lifecycle_timeline(events),
        "compute_figure": figures.compute_cost_bars(spend, currency),
        "can_edit": principal.can_edit_team(model.team_id),
        "event_types": [EventType(t) for t in figures.EVENT_ORDER],
        "event_form": event_form or {
            "type": (EventType.deployed if events else EventType.ideated).value,
            "occurred_at": _now_minute(), "version": ""},
        "cost_form": cost_form or {"month": utcnow().strftime("%Y-%m"), "gpu_hours": "",
                                   "amount": ""},
        "this_month": utcnow().strftime("%Y-%m"), "message": message,
        **_error_context(errors or {}, EVENT_FIELDS + COST_FIELDS),
    }, status_code=status_code)


@router.get("/{model_id}", name="ml_models.detail")
def detail(request: Request, session: SessionDep, principal: Reader, model_id: int) -> Response:
    return _detail_page(request, session, principal, model_id)


def _utc_moment(value: str) -> datetime | str:
    """A datetime-local value ("2026-05-01T12:00") read as UTC, as the label says; anything
    unparseable is handed on as typed for the schema to refuse."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@router.post("/{model_id}/events", name="ml_models.add_event")
def add_event(request: Request, session: SessionDep, principal: Editor, form: FormDep,
              model_id: int) -> Response:
    model = _model(session, principal, model_id)
    submitted = {name: form_text(form, name) for name in EVENT_FIELDS}
    try:
        data = EventIn(type=submitted["type"], occurred_at=_utc_moment(submitted["occurred_at"]),
                       version=submitted["version"] or None, source=EventSource.manual)
        result = service.record_event(session, model, data, actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _detail_page(request, session, principal, model_id, errors=field_errors(exc),
                            event_form=submitted, status_code=422)
    except Conflict as exc:
        return _detail_page(request, session, principal, model_id,
                            errors={exc.field or "form": exc.message}, event_form=submitted,
                            status_code=409)
    except PermissionDenied as exc:
        return _detail_page(request, session, principal, model_id, message=exc.message,
                            event_form=submitted, status_code=403)
    event = result.event
    return redirect_with_flash(request, _detail_url(request, model.id),
                     f"Event “{figures.event_label(event.type)}” of "
                     f"{event.occurred_at:%Y-%m-%d %H:%M} UTC added.")


def _month(value: str) -> str:
    """An <input type=month> value ("2026-05") as the first day of that month."""
    return f"{value}-01" if len(value) == 7 else value


@router.post("/{model_id}/compute-costs", name="ml_models.add_compute_cost")
def add_compute_cost(request: Request, session: SessionDep, principal: Editor, form: FormDep,
                     model_id: int) -> Response:
    model = _model(session, principal, model_id)
    submitted = {name: form_text(form, name) for name in COST_FIELDS}
    try:
        data = ComputeCostIn(month=_month(submitted["month"]),
                             gpu_hours=submitted["gpu_hours"] or "0", amount=submitted["amount"])
        row, _created = service.upsert_compute_cost(session, model, data, actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _detail_page(request, session, principal, model_id, errors=field_errors(exc),
                            cost_form=submitted, status_code=422)
    except PermissionDenied as exc:
        return _detail_page(request, session, principal, model_id, message=exc.message,
                            cost_form=submitted, status_code=403)
    return redirect_with_flash(request, _detail_url(request, model.id),
                     f"Compute cost of {row.month:%B %Y} saved.")

"""/api/v1/models, their lifecycle events (one at a time or in bulk) and compute costs."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field, GetPydanticSchema
from sqlalchemy.orm import Session

from app.api.locking import IfMatch, locking_responses, set_etag, versioned
from app.api.pagination import Page, Paging
from app.api.pain_point_schemas import period_errors
from app.api.types import MAX_ID, PROBLEM_SCHEMA, IdPath, Money, problem_responses
from app.api.velocity import Days
from app.auth.deps import Editor, Reader
from app.auth.permissions import Principal
from app.core import clock
from app.core.clock import utcnow
from app.core.errors import FieldError, ValidationFailed
from app.db import SessionDep
from app.ml_models import queries as model_queries
from app.ml_models import service
from app.ml_models.models import ComputeCost, EventSource, EventType, LifecycleEvent, ModelKind
from app.ml_models.queries import ComputeCostFilters
from app.ml_models.schemas import BulkEventIn, ComputeCostIn, EventIn, ModelIn, ModelPatch
from app.teams import queries as team_queries
from app.velocity import queries
from app.velocity.queries import ModelListFilters, ModelRow

router = APIRouter()

ModelId = IdPath("The model's id.")
MAX_BULK_EVENTS = 1000


# --- answers --------------------------------------------------------------------------------

class ModelOut(BaseModel):
    id: int
    team: str = Field(description="Team slug.")
    name: str
    use_case: str
    kind: ModelKind
    annual_value_low: Money | None = Field(description="Money a year while in production, in "
                                                       "the org's currency: lowest estimate.")
    annual_value_likely: Money | None = Field(description="… most likely.")
    annual_value_high: Money | None = Field(description="… highest.")
    archived: bool
    created_at: datetime
    first_ideated_at: datetime | None
    first_deployed_at: datetime | None
    lead_time_days: Days | None = Field(description="First deployed minus first ideated (or, "
                                                    "with no ideated, the earliest event).")
    deployments: int
    last_deployed_at: datetime | None
    retrain_cadence_days: Days | None = Field(description="Median days between successive "
                                                          "deployments.")
    staleness_days: Days | None = Field(description="Days since the last deployment; null if "
                                                    "never deployed.")
    version: int = Field(description="Send it back (or `If-Match`) when changing the model.")


class EventOut(BaseModel):
    id: int
    model_id: int
    type: EventType
    occurred_at: datetime
    version: str | None
    source: EventSource
    external_id: str | None
    created_at: datetime


class BulkResultOut(BaseModel):
    index: int = Field(description="Position of the event in the request (0 for a single one).")
    id: int = Field(description="The stored event's id.")
    created: bool = Field(description="False when the same source + external_id was already "
                                      "stored: the existing event is answered.")
    model_id: int


class BulkOut(BaseModel):
    results: list[BulkResultOut]


class ComputeCostOut(BaseModel):
    id: int
    model_id: int
    model: str = Field(description="The model's name.")
    team: str = Field(description="Team slug.")
    month: date = Field(description="First day of the month.")
    gpu_hours: Days
    amount: Money
    note: str


def _model_out(row: ModelRow) -> ModelOut:
    m = row.model
    return ModelOut(
        id=m.id, team=row.team_slug, name=m.name, use_case=m.use_case, kind=m.kind,
        annual_value_low=m.annual_value_low, annual_value_likely=m.annual_value_likely,
        annual_value_high=m.annual_value_high,
        archived=m.archived_at is not None, created_at=m.created_at,
        first_ideated_at=row.first_ideated_at, first_deployed_at=row.first_deployed_at,
        lead_time_days=row.lead_time_days, deployments=row.deployments,
        last_deployed_at=row.last_deployed_at, retrain_cadence_days=row.retrain_cadence_days,
        staleness_days=row.staleness_days, version=m.version)


def _event_out(event: LifecycleEvent) -> EventOut:
    return EventOut(id=event.id, model_id=event.model_id, type=event.type,
                    occurred_at=event.occurred_at, version=event.version, source=event.source,
                    external_id=event.external_id, created_at=event.created_at)


def _cost_out(cost: ComputeCost, model_name: str, team_slug: str) -> ComputeCostOut:
    return ComputeCostOut(id=cost.id, model_id=cost.model_id, model=model_name, team=team_slug,
                          month=cost.month, gpu_hours=cost.gpu_hours, amount=cost.amount,
                          note=cost.note)


def readable_model(session: Session, model_id: int, principal: Principal) -> ModelRow:
    """A model the principal may read; another team's (for a viewer) is as good as absent."""
    return queries.get_visible_model_row_or_404(session, model_id, principal=principal,
                                                now=utcnow())


def _team_scope(session: Session, principal: Principal, team: str | None,
                errors: list[FieldError]) -> frozenset[int] | None:
    """The teams a list covers (`Principal.scope`); an unknown or unreadable team is added to
    `errors`."""
    team_ids, team_errors = team_queries.team_scope(session, principal, team)
    errors += team_errors
    return principal.scope() if team_errors else team_ids


# --- models ---------------------------------------------------------------------------------

@router.get("/models", name="api.models.list", summary="List ML models", tags=["models"],
            response_model=Page[ModelOut], responses=problem_responses(401, 422))
def list_models(
    session: SessionDep, principal: Reader, paging: Paging,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
    kind: Annotated[ModelKind | None, Query(description="`classical` or `llm`.")] = None,
    archived: Annotated[bool, Query(description="Archived models instead of active ones.")]
    = False,
    q: Annotated[str, Query(max_length=200, description="Text in the name or use case.")] = "",
) -> Page[ModelOut]:
    """Models of the teams the token may read, ordered by team and name, each with its lead
    time, deployments, retrain cadence and staleness. An unknown slug is a 422, and so is a team
    outside the token's scope (answered as an unknown one)."""
    errors: list[FieldError] = []
    team_ids = _team_scope(session, principal, team, errors)
    if errors:
        raise ValidationFailed(errors)
    rows, total = queries.list_models(
        session, ModelListFilters(team_ids=team_ids, kind=kind, archived=archived, text=q.strip()),
        now=utcnow(), offset=paging.offset, limit=paging.limit)
    return Page[ModelOut].of([_model_out(r) for r in rows], total, paging)


@router.post("/models", name="api.models.create", summary="Create an ML model", tags=["models"],
             status_code=201, response_model=ModelOut,
             responses=problem_responses(401, 403, 422))
def create_model(request: Request, response: Response, session: SessionDep, principal: Editor,
                 data: ModelIn) -> ModelOut:
    """The team by slug; a PM creates models of its own teams only. Names are unique per team,
    whatever their case."""
    model = service.create_model(session, data, actor=principal)
    response.headers["Location"] = str(request.url_for("api.models.get", model_id=model.id))
    return _model_out(readable_model(session, model.id, principal))


@router.get("/models/{model_id}", name="api.models.get", summary="Read an ML model",
            tags=["models"], response_model=ModelOut, responses=problem_responses(401, 404))
def get_model(response: Response, session: SessionDep, principal: Reader,
              model_id: ModelId) -> ModelOut:
    row = readable_model(session, model_id, principal)
    set_etag(response, row.model.version)
    return _model_out(row)


@router.patch("/models/{model_id}", name="api.models.update", summary="Change an ML model",
              tags=["models"], response_model=ModelOut,
              responses=problem_responses(401, 403, 404, 422) | locking_responses("model"))
def update_model(response: Response, session: SessionDep, principal: Editor,
                 model_id: ModelId, data: ModelPatch, if_match: IfMatch = None) -> ModelOut:
    """Changes the fields given; `archived: true` archives the model (nothing is deleted: it
    leaves the default list, its events keep counting), `false` brings it back. The version
    you read is required (`If-Match` or `version`); a stale one is refused with 409."""
    row = readable_model(session, model_id, principal)
    data = versioned(data, if_match)
    service.update_model(session, row.model, data, actor=principal, require_version=True)
    row = readable_model(session, model_id, principal)
    set_etag(response, row.model.version)
    return _model_out(row)


# --- events ---------------------------------------------------------------------------------

@router.get("/models/{model_id}/events", name="api.models.events",
            summary="List a model's lifecycle events", tags=["events"],
            response_model=Page[EventOut], responses=problem_responses(401, 404, 422))
def list_events(session: SessionDep, principal: Reader, paging: Paging,
                model_id: ModelId) -> Page[EventOut]:
    """In the order they happened (`occurred_at`), not the order they arrived."""
    readable_model(session, model_id, principal)
    events, total = model_queries.model_events(session, model_id, offset=paging.offset,
                                         limit=paging.limit)
    return Page[EventOut].of([_event_out(e) for e in events], total, paging)


@router.post(
    "/models/{model_id}/events", name="api.models.record_event",
    summary="Record a lifecycle event", tags=["events"], status_code=201,
    response_model=EventOut,
    responses={200: {"description": "The same `source` + `external_id` was already stored with "
                                    "the same content: the stored event, nothing added.",
                     "model": EventOut}}
    | problem_responses(401, 403, 404, 422)
    | {409: {"description": "The `source` + `external_id` is already stored with other content; "
                            "nothing was changed.",
             "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}},
)
def record_event(response: Response, session: SessionDep, principal: Editor, model_id: ModelId,
                 data: EventIn) -> EventOut:
    """Idempotent with an `external_id`: posting the same event again answers the stored one
    with 200; the same id with other content is a 409. Events may arrive in any order.
    `occurred_at` needs a time zone (UTC is stored); events in the future, before 2000 or more
    than 365 days before the model's ideation are refused."""
    row = readable_model(session, model_id, principal)
    result = service.record_event(session, row.model, data, actor=principal)
    if not result.created:
        response.status_code = 200
    return _event_out(result.event)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


def _one_or_many(core_schema: Any, handler: Any) -> dict[str, Any]:
    many = handler(core_schema)
    return {"anyOf": [many["items"], many]}


BulkEvents = Annotated[
    list[BulkEventIn],
    # One event is a list of one: errors are named `0.occurred_at` either way.
    BeforeValidator(_as_list),
    GetPydanticSchema(get_pydantic_json_schema=_one_or_many),
    Body(min_length=1, max_length=MAX_BULK_EVENTS,
         description=f"One event or a list of at most {MAX_BULK_EVENTS}."),
]


@router.post("/events", name="api.events.bulk", summary="Record lifecycle events in bulk",
             tags=["events"], response_model=BulkOut,
             responses=problem_responses(401, 403, 422))
def record_events(session: SessionDep, principal: Editor, data: BulkEvents) -> BulkOut:
    """For pipelines: each event names its model by team slug and model name, and a model seen
    for the first time is created (when the token may edit that team). All or nothing: one
    refused event stores none, and the problem names it as `<index>.<field>`. Idempotent per
    `source` + `external_id`, as the single-event endpoint; events may arrive in any order."""
    results = service.record_events(session, data, actor=principal)
    return BulkOut(results=[BulkResultOut(index=i, id=r.event.id, created=r.created,
                                          model_id=r.event.model_id)
                            for i, r in enumerate(results)])


# --- compute costs --------------------------------------------------------------------------

@router.get("/compute-costs", name="api.compute_costs.list", summary="List compute costs",
            tags=["compute costs"], response_model=Page[ComputeCostOut],
            responses=problem_responses(401, 422))
def list_compute_costs(
    session: SessionDep, principal: Reader, paging: Paging,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
    model: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Model id.")] = None,
    from_: Annotated[date | None, Query(alias="from", description="Months overlapping the "
                                                                  "period from this day.")] = None,
    to: Annotated[date | None, Query(description="… to this day (inclusive).")] = None,
) -> Page[ComputeCostOut]:
    """GPU hours and spend per model and month, newest month first."""
    errors = period_errors(from_, to, clock.today())
    team_ids = _team_scope(session, principal, team, errors)
    if errors:
        raise ValidationFailed(errors)
    rows, total = model_queries.list_compute_costs(
        session, ComputeCostFilters(team_ids=team_ids, model_id=model, first=from_, last=to),
        offset=paging.offset, limit=paging.limit)
    return Page[ComputeCostOut].of([_cost_out(r.cost, r.model_name, r.team_slug) for r in rows],
                                   total, paging)


@router.post("/models/{model_id}/compute-costs", name="api.models.record_compute_cost",
             summary="Record a model's compute cost for a month", tags=["compute costs"],
             status_code=201, response_model=ComputeCostOut,
             responses={200: {"description": "The month was already recorded: its figures were "
                                             "replaced.", "model": ComputeCostOut}}
             | problem_responses(401, 403, 404, 422))
def record_compute_cost(response: Response, session: SessionDep, principal: Editor,
                        model_id: ModelId, data: ComputeCostIn) -> ComputeCostOut:
    """One row per model and month (any day of the month names it): posting a month again
    replaces its figures and answers 200."""
    row = readable_model(session, model_id, principal)
    cost, created = service.upsert_compute_cost(session, row.model, data, actor=principal)
    if not created:
        response.status_code = 200
    return _cost_out(cost, row.model.name, row.team_slug)

"""/api/v1/initiatives (CRUD, soft delete) and /api/v1/metrics/roi: the same queries, service
and roi.py as the initiative pages and the ROI dashboard."""

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy.orm import Session

from app.api.locking import IfMatch, locking_responses, set_etag, versioned
from app.api.pagination import Page, Paging, Window
from app.api.pain_point_schemas import QuarterQuery, period_errors, quarter_period
from app.api.types import IdPath, Money, problem_responses
from app.auth.deps import Editor, Reader
from app.auth.permissions import Principal
from app.core import clock
from app.core.errors import FieldError, ValidationFailed
from app.db import SessionDep
from app.initiatives import queries, service
from app.initiatives.models import InitiativeStatus
from app.initiatives.queries import InitiativeFilters, InitiativeRow
from app.initiatives.schemas import InitiativeIn, InitiativePatch
from app.teams import queries as team_queries
from app.settings.service import get_org_settings

router = APIRouter(tags=["initiatives"])

InitiativeId = IdPath("The initiative's id.")
# In a PATCH, null clears a date; every other field must have a value.
NULLABLE = frozenset({"started_on", "delivered_on"})


def _fixed(exponent: str, pattern: str, example: str):
    def serialize(value: Decimal) -> str:
        return str(value.quantize(Decimal(exponent), rounding=ROUND_HALF_EVEN))

    return (PlainSerializer(serialize, return_type=str, when_used="json"),
            WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]},
                           mode="serialization"))


# A reduction in percent with two decimals; ROI a ratio with four (0.0503 is +5.03 %);
# payback months with two.
PercentOut = Annotated[Decimal, *_fixed("0.01", r"^\d+\.\d{2}$", "50.00")]
RatioOut = Annotated[Decimal, *_fixed("0.0001", r"^-?\d+\.\d{4}$", "0.0503")]
MonthsOut = Annotated[Decimal, *_fixed("0.01", r"^\d+\.\d{2}$", "11.32")]


class LinkOut(BaseModel):
    pain_point: int = Field(description="Pain point id.")
    expected_reduction: PercentOut = Field(description="Percent of its cost expected to go.")


class InitiativeOut(BaseModel):
    id: int
    title: str
    description: str
    owner: str
    team: str | None = Field(description="Team slug; null for an org-wide initiative.")
    status: InitiativeStatus
    one_time_cost: Money
    yearly_run_cost: Money
    started_on: date | None
    delivered_on: date | None
    links: list[LinkOut] = Field(description="Links to pain points you may read.")
    hidden_links: int = Field(description="Links to pain points of teams you may not read: "
                                          "counted, never named; the savings leave them out.")
    expected_annual_savings: Money = Field(description="Σ linked pain points' run-rate as if "
                                                       "open × expected reduction.")
    expected_annual_savings_low: Money
    expected_annual_savings_high: Money
    realized_savings: Money = Field(description="Realized from the delivery to today.")
    created_at: datetime
    deleted: bool
    version: int = Field(description="Send it back (or `If-Match`) when changing it.")


class RoiItemOut(BaseModel):
    id: int
    title: str
    cost: Money = Field(description="cost(H) = one-time cost + yearly run cost × H.")
    expected_annual_savings: Money
    expected_annual_savings_low: Money
    expected_annual_savings_high: Money
    realized_savings: Money = Field(description="Realized in [from, to].")
    roi: RatioOut | None = Field(description="(expected annual savings × H − cost(H)) ÷ "
                                              "cost(H), four decimals; null when it costs "
                                              "nothing.")
    payback_months: MonthsOut | None = Field(description="one-time cost ÷ (expected annual "
                                                         "savings − yearly run cost) × 12; "
                                                         "null means never.")


class RoiMetricsOut(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    currency: str
    horizon_years: int
    from_: date = Field(alias="from", description="First day of the realized savings.")
    to: date
    total: int = Field(description="Initiatives in the scope; `initiatives` holds at most "
                                   "`limit` of them from `offset`.")
    limit: int
    offset: int
    initiatives: list[RoiItemOut] = Field(description="By title, then id.")


# --- building answers -----------------------------------------------------------------------

def _weeks(session: Session) -> Decimal:
    return get_org_settings(session).working_weeks_per_year


def _out(session: Session, rows: list[InitiativeRow], principal: Principal) -> list[InitiativeOut]:
    first, last = queries.realized_period(rows, clock.today())
    ids = [r.initiative.id for r in rows]
    found = queries.savings(session, ids, weeks=_weeks(session),
                            first=first, last=last, team_ids=principal.scope())
    link_teams = queries.linked_team_ids(session, ids)
    result = []
    for row in rows:
        i, s = row.initiative, found[row.initiative.id]
        readable = [link for link in i.links
                    if service.link_readable(principal, link_teams[i.id][link.pain_point_id])]
        result.append(InitiativeOut(
            id=i.id, title=i.title, description=i.description or "", owner=i.owner or "",
            team=row.team_slug, status=i.status, one_time_cost=i.one_time_cost,
            yearly_run_cost=i.yearly_run_cost, started_on=i.started_on,
            delivered_on=i.delivered_on,
            links=[LinkOut(pain_point=link.pain_point_id,
                           expected_reduction=link.expected_reduction)
                   for link in sorted(readable, key=lambda link: link.pain_point_id)],
            hidden_links=len(i.links) - len(readable),
            expected_annual_savings=s.expected, expected_annual_savings_low=s.expected_low,
            expected_annual_savings_high=s.expected_high, realized_savings=s.realized,
            created_at=i.created_at, deleted=i.deleted_at is not None, version=i.version))
    return result


def _readable(session: Session, principal: Principal, initiative_id: int, *,
              include_deleted: bool = False) -> InitiativeRow:
    """An initiative the principal may read; another team's is as good as absent."""
    return service.get_visible_row_or_404(session, initiative_id, principal=principal,
                                          include_deleted=include_deleted)


def _answer(session: Session, principal: Principal, initiative_id: int) -> InitiativeOut:
    row = _readable(session, principal, initiative_id, include_deleted=True)
    return _out(session, [row], principal)[0]


def _team_id(session: Session, principal: Principal, slug: str | None,
             errors: list[FieldError]) -> int | None:
    """The one team a filter names, within `Principal.scope` (an unknown or unreadable team
    is added to `errors`); None without one."""
    team_ids, team_errors = team_queries.team_scope(session, principal, slug)
    errors += team_errors
    return next(iter(team_ids)) if slug and team_ids and not team_errors else None


# --- initiatives ----------------------------------------------------------------------------

@router.get("/initiatives", name="api.initiatives.list", summary="List initiatives",
            response_model=Page[InitiativeOut], responses=problem_responses(401, 403, 422))
def list_initiatives(
    session: SessionDep, principal: Reader, paging: Paging,
    team: Annotated[str | None, Query(description="Team slug: that team's initiatives "
                                                  "(org-wide ones have none).")] = None,
    status: Annotated[list[InitiativeStatus] | None, Query(
        description="Repeat for several: `status=proposed&status=in_progress`.")] = None,
) -> Page[InitiativeOut]:
    """Initiatives of the teams the token may read and the org-wide ones, by title, each with
    its expected annual savings (and range) and the savings realized from its delivery to
    today. An unknown team is a 422 naming `team`, and so is a team outside the token's
    scope."""
    errors: list[FieldError] = []
    team_id = _team_id(session, principal, team, errors)
    if errors:
        raise ValidationFailed(errors)
    filters = InitiativeFilters(visible_team_ids=principal.scope(), team_id=team_id,
                                statuses=tuple(status or ()))
    rows, total = queries.list_initiatives(session, filters, offset=paging.offset,
                                           limit=paging.limit)
    return Page[InitiativeOut].of(_out(session, rows, principal), total, paging)


@router.post("/initiatives", name="api.initiatives.create", summary="Create an initiative",
             status_code=201, response_model=InitiativeOut,
             responses=problem_responses(401, 403, 422))
def create_initiative(request: Request, response: Response, session: SessionDep,
                      principal: Editor, data: InitiativeIn) -> InitiativeOut:
    """`team` by slug (none: org-wide); each link names a pain point and the percent of its
    cost expected to go (0–100). A PM creates initiatives of its own teams, and links pain
    points of its own teams only; a pain point linked twice, a delivery before the start or
    in the future, or a negative cost is refused with the field at fault. Nothing is stored
    then."""
    initiative = service.create_initiative(session, data, actor=principal,
                                           today=clock.today())
    response.headers["Location"] = str(request.url_for("api.initiatives.get",
                                                       initiative_id=initiative.id))
    return _answer(session, principal, initiative.id)


@router.get("/initiatives/{initiative_id}", name="api.initiatives.get",
            summary="Read an initiative", response_model=InitiativeOut,
            responses=problem_responses(401, 403, 404))
def get_initiative(response: Response, session: SessionDep, principal: Reader,
                   initiative_id: InitiativeId) -> InitiativeOut:
    """With its version as the `ETag`, to send back as `If-Match` when changing it."""
    row = _readable(session, principal, initiative_id)
    set_etag(response, row.initiative.version)
    return _out(session, [row], principal)[0]


@router.patch("/initiatives/{initiative_id}", name="api.initiatives.update",
              summary="Change an initiative", response_model=InitiativeOut,
              responses=problem_responses(401, 403, 404, 422) | locking_responses("initiative"))
def update_initiative(response: Response, session: SessionDep, principal: Editor,
                      initiative_id: InitiativeId, data: InitiativePatch,
                      if_match: IfMatch = None) -> InitiativeOut:
    """Changes the fields given; `links`, when given, replaces every link. Null clears
    `started_on` or `delivered_on`. The team cannot change. The version you read is required
    (`If-Match` or `version`); a stale one is refused with 409."""
    row = _readable(session, principal, initiative_id)
    data = versioned(data, if_match)
    nulls = [name for name in sorted(data.model_fields_set - NULLABLE)
             if getattr(data, name) is None]
    if nulls:
        raise ValidationFailed([FieldError(name, "may not be null") for name in nulls])
    service.update_initiative(session, row.initiative, data, actor=principal,
                              today=clock.today(), require_version=True)
    answer = _answer(session, principal, initiative_id)
    set_etag(response, answer.version)
    return answer


# 200 with the resource rather than 204, like DELETE /pain-points/{id}: every API route has a
# response model, and the answer shows what was deleted.
@router.delete("/initiatives/{initiative_id}", name="api.initiatives.delete",
               summary="Delete an initiative (soft)", response_model=InitiativeOut,
               responses=problem_responses(401, 403, 404))
def delete_initiative(session: SessionDep, principal: Editor,
                      initiative_id: InitiativeId) -> InitiativeOut:
    """Soft delete: the initiative leaves lists and every figure. Answers it with
    `deleted: true`."""
    row = _readable(session, principal, initiative_id)
    service.delete_initiative(session, row.initiative, actor=principal)
    return _answer(session, principal, initiative_id)


# --- metrics/roi ----------------------------------------------------------------------------

@router.get("/metrics/roi", name="api.metrics.roi", summary="Return on investment",
            tags=["metrics"], response_model=RoiMetricsOut,
            responses=problem_responses(401, 403, 422))
def roi_metrics(
    session: SessionDep, principal: Reader, window: Window,
    horizon_years: Annotated[int, Query(ge=1, le=3, description="H: 1, 2 or 3 years.")] = 3,
    team: Annotated[str | None, Query(description="Team slug: that team's initiatives and "
                                                  "org-wide ones, counting only the links to "
                                                  "the team's pain points.")]
    = None,
    from_: Annotated[date | None, Query(
        alias="from", description="First day of the realized savings; defaults to the "
                                  "earliest delivery among the initiatives answered.")] = None,
    to: Annotated[date | None, Query(description="Last day of the realized savings; defaults "
                                                 "to today.")] = None,
    quarter: QuarterQuery = None,
) -> RoiMetricsOut:
    """Per initiative (not deleted, of the teams the token may read and org-wide): cost(H),
    expected annual savings with their range, savings realized in [`from`, `to`], ROI over H
    years and payback in months, as docs/product.md defines them. Money is a decimal string
    rounded half-even to cents; `roi` a ratio with four decimals (null when the initiative
    costs nothing); `payback_months` two decimals (null: never, the savings do not exceed
    the run cost). A team the token may not read is a 422, as an unknown one.

    The initiatives come by title (then id), `limit` of them (default 100, at most 500) from
    `offset`, with the `total` in the scope. Nothing is realized before a delivery, so the
    default `from` (the earliest delivery of the initiatives answered) gives every page the
    figures it would have in one long answer."""
    from_, to, errors = quarter_period(quarter, from_, to,
                                       get_org_settings(session).fiscal_year_start_month)
    errors += period_errors(from_, to, clock.today()) if not errors else []
    team_id = _team_id(session, principal, team, errors)
    if errors:
        raise ValidationFailed(errors)
    org = get_org_settings(session)
    filters = InitiativeFilters(visible_team_ids=principal.scope(), team_id=team_id)
    rows, total = queries.list_initiatives(session, filters, offset=window.offset,
                                           limit=window.limit, with_links=False)
    default_first, default_last = queries.realized_period(rows, clock.today())
    first, last = from_ or default_first, to or default_last
    if last < first:
        raise ValidationFailed([FieldError("to" if to else "from",
                                           f"must not be before from ({first.isoformat()})"
                                           if to else f"must not be after to "
                                                      f"({last.isoformat()})")])
    found = queries.initiative_figures(session, rows, weeks=org.working_weeks_per_year,
                                       horizon_years=horizon_years, first=first, last=last,
                                       team_ids=principal.scope(
                                           frozenset({team_id}) if team_id is not None
                                           else None))
    items = []
    for row in rows:
        f = found[row.initiative.id]
        items.append(RoiItemOut(
            id=row.initiative.id, title=row.initiative.title, cost=f.cost,
            expected_annual_savings=f.expected, expected_annual_savings_low=f.expected_low,
            expected_annual_savings_high=f.expected_high, realized_savings=f.realized,
            roi=f.roi, payback_months=f.payback_months))
    return RoiMetricsOut.model_validate({"currency": org.currency,
                                         "horizon_years": horizon_years, "from": first,
                                         "to": last, "total": total,
                                         "limit": window.limit, "offset": window.offset,
                                         "initiatives": items})

"""/api/v1/pain-points and their confirmations."""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.api.pagination import Page, Paging
from app.api.pain_point_schemas import (
    ConfirmationsOut, MyConfirmation, PainPointOut, period_errors,
)
from app.api.types import MAX_ID, PROBLEM_SCHEMA, IdPath, problem_responses
from app.auth.deps import Editor, Reader
from app.auth.permissions import Permission, Principal
from app.core import clock
from app.core.errors import DomainError, FieldError, NotFound, PermissionDenied, ValidationFailed
from app.db import SessionDep
from app.pain_points import queries, service
from app.pain_points.models import PainPoint, PainPointStatus
from app.pain_points.measures import PainPointFilters
from app.pain_points.queries import LedgerRow, Sort
from app.pain_points.schemas import ConfirmationIn, PainPointIn, PainPointPatch
from app.settings.service import get_org_settings
from app.teams.models import Persona, Stage, Team
from app.web.errors import PROBLEM

router = APIRouter(prefix="/pain-points", tags=["pain points"])

PainPointId = IdPath("The pain point's id.")
# In a PATCH, null clears `resolved_on` and makes `people_affected` follow the team's headcount.
NULLABLE = frozenset({"resolved_on", "people_affected", "version"})


class PreconditionRequired(DomainError):
    status_code = 428
    title = "Precondition required"


def _extra_problem(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": description,
                     "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}}


# --- building answers -----------------------------------------------------------------------

class _Slugs:
    """Persona and stage slugs by id, read once per request (LedgerRow carries their names)."""

    def __init__(self, session: Session) -> None:
        self.persona = queries.slugs_by_id(session, Persona)
        self.stage = queries.slugs_by_id(session, Stage)


def pain_point_out(row: LedgerRow, slugs: _Slugs) -> PainPointOut:
    pp = row.pain_point
    return PainPointOut(
        id=pp.id, team=row.team_slug, persona=slugs.persona[pp.persona_id],
        stage=slugs.stage[pp.stage_id], title=pp.title, description=pp.description,
        evidence=pp.evidence, kind=pp.kind, hours_low=pp.hours_low,
        hours_likely=pp.hours_likely, hours_high=pp.hours_high,
        expected_hours=row.expected_hours, people_affected=pp.people_affected, status=pp.status,
        observed_since=pp.observed_since, resolved_on=pp.resolved_on,
        hourly_cost=row.hourly_cost, annual_cost=row.annual_cost,
        annual_cost_low=row.annual_cost_low, annual_cost_high=row.annual_cost_high,
        version=pp.version, created_at=pp.created_at, updated_at=pp.updated_at,
        deleted=pp.deleted_at is not None,
    )


def _weeks(session: Session) -> Decimal:
    return get_org_settings(session).working_weeks_per_year


def _etag(version: int) -> str:
    return f'"{version}"'


def _answer(session: Session, response: Response, pain_point_id: int) -> PainPointOut:
    """The pain point as stored now (costs included), with its version as the ETag."""
    row = queries.get_row(session, pain_point_id, weeks=_weeks(session))
    response.headers["ETag"] = _etag(row.pain_point.version)
    return pain_point_out(row, _Slugs(session))


def _not_found(pain_point_id: int) -> NotFound:
    return NotFound(f"There is no pain point {pain_point_id}.")


def _check_include_deleted(principal: Principal, include_deleted: bool) -> None:
    if include_deleted and not principal.has(Permission.edit):
        raise PermissionDenied(f"Your role ({principal.role}) may not see deleted pain points.",
                               field="include_deleted")


def readable_row(session: Session, pain_point_id: int, principal: Principal, *,
                 include_deleted: bool = False) -> LedgerRow:
    """A pain point the principal may read; another team's (for a viewer) is as good as absent."""
    row = queries.get_row(session, pain_point_id, weeks=_weeks(session),
                          include_deleted=include_deleted)
    if row is None or not principal.can_read_team(row.pain_point.team_id):
        raise _not_found(pain_point_id)
    return row


def visible_pain_point(session: Session, pain_point_id: int, principal: Principal) -> PainPoint:
    """For writes: deleted or not (the service decides), but never one the principal can't see."""
    pain_point = queries.get_pain_point(session, pain_point_id)
    if pain_point is None or not principal.can_read_team(pain_point.team_id):
        raise _not_found(pain_point_id)
    return pain_point


# --- the ledger -----------------------------------------------------------------------------

@router.get("", name="api.pain_points.list", summary="List pain points",
            response_model=Page[PainPointOut], responses=problem_responses(401, 403, 422))
def list_pain_points(
    session: SessionDep, principal: Reader, paging: Paging,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
    persona: Annotated[str | None, Query(description="Persona slug.")] = None,
    stage: Annotated[str | None, Query(description="Lifecycle stage slug.")] = None,
    status: Annotated[list[PainPointStatus] | None, Query(
        description="Repeat for several: `status=open&status=in_progress`.")] = None,
    q: Annotated[str, Query(max_length=200, description="Text in the title or description.")]
    = "",
    from_: Annotated[date | None, Query(alias="from", description="Observed on or after.")]
    = None,
    to: Annotated[date | None, Query(description="Observed on or before.")] = None,
    sort: Annotated[Sort, Query(description="`cost` (annual cost, highest first), `hours` "
                                            "(expected hours) or `newest` (observed since).")]
    = Sort.cost,
    include_deleted: Annotated[bool, Query(description="Editors only.")] = False,
) -> Page[PainPointOut]:
    """Pain points of the teams the token may read, each with its annual cost and range.

    A team outside the token's scope gives an empty page; an unknown slug is a 422."""
    _check_include_deleted(principal, include_deleted)
    errors = period_errors(from_, to, clock.today())
    ids: dict[str, int | None] = {}
    for name, model, slug in (("team", Team, team), ("persona", Persona, persona),
                              ("stage", Stage, stage)):
        ids[name] = None if slug is None else queries.id_by_slug(session, model, slug)
        if slug is not None and ids[name] is None:
            errors.append(FieldError(name, f"unknown {name} '{slug}'"))
    if errors:
        raise ValidationFailed(errors)
    team_ids = principal.visible_team_ids
    if ids["team"] is not None:
        wanted = frozenset({ids["team"]})
        team_ids = wanted if team_ids is None else wanted & team_ids
    filters = PainPointFilters(team_ids=team_ids, persona_id=ids["persona"],
                               stage_id=ids["stage"], statuses=tuple(status or ()),
                               text=q.strip(), include_deleted=include_deleted,
                               observed_from=from_, observed_to=to)
    rows, total = queries.list_pain_points(session, filters, weeks=_weeks(session), sort=sort,
                                           offset=paging.offset, limit=paging.limit)
    slugs = _Slugs(session)
    return Page[PainPointOut].of([pain_point_out(r, slugs) for r in rows], total, paging)


@router.post("", name="api.pain_points.create", summary="Log a pain point", status_code=201,
             response_model=PainPointOut, responses=problem_responses(401, 403, 422))
def create_pain_point(request: Request, response: Response, session: SessionDep,
                      principal: Editor, data: PainPointIn) -> PainPointOut:
    """Team, persona and stage by slug; `people_affected` defaults to the team's headcount for
    the persona, `observed_since` to today. A PM logs pain points of its own teams only."""
    pain_point = service.create_pain_point(session, data, actor=principal, today=clock.today())
    response.headers["Location"] = str(request.url_for("api.pain_points.get",
                                                       pain_point_id=pain_point.id))
    return _answer(session, response, pain_point.id)


@router.get("/{pain_point_id}", name="api.pain_points.get", summary="Read a pain point",
            response_model=PainPointOut, responses=problem_responses(401, 403, 404))
def get_pain_point(
    response: Response, session: SessionDep, principal: Reader, pain_point_id: PainPointId,
    include_deleted: Annotated[bool, Query(description="Editors only.")] = False,
) -> PainPointOut:
    """With its version as the `ETag`, to send back as `If-Match` when changing it."""
    _check_include_deleted(principal, include_deleted)
    row = readable_row(session, pain_point_id, principal, include_deleted=include_deleted)
    response.headers["ETag"] = _etag(row.pain_point.version)
    return pain_point_out(row, _Slugs(session))


def _if_match_version(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r'\s*"?(\d{1,10})"?\s*', value)
    if match is None or int(match.group(1)) > MAX_ID:
        raise ValidationFailed([FieldError("If-Match", 'expected the ETag you read, e.g. "3"')])
    return int(match.group(1))


@router.patch(
    "/{pain_point_id}", name="api.pain_points.update", summary="Change a pain point",
    response_model=PainPointOut,
    responses=problem_responses(401, 403, 404, 422)
    | _extra_problem(409, "Someone saved the pain point after the version you sent; nothing was "
                          "changed. `current` holds the pain point as it is now.")
    | _extra_problem(428, "Neither `If-Match` nor `version` was sent."),
)
def update_pain_point(
    response: Response, session: SessionDep, principal: Editor, pain_point_id: PainPointId,
    data: PainPointPatch,
    if_match: Annotated[str | None, Header(alias="If-Match", description=(
        'The `ETag` you read, e.g. `"3"`; or send `version` in the body.'))] = None,
) -> Any:
    """Changes the fields given. Optimistic locking: the version you read is required, as an
    `If-Match` header or as `version` in the body; a stale one is refused with 409."""
    pain_point = visible_pain_point(session, pain_point_id, principal)
    header_version = _if_match_version(if_match)
    if header_version is None and data.version is None:
        raise PreconditionRequired(
            "Send the version you read, as an If-Match header or as version in the body, so "
            "that nobody's changes are overwritten.", field="version")
    if header_version is not None and data.version is not None and header_version != data.version:
        raise ValidationFailed([FieldError("version", f"the body says {data.version} but "
                                                      f"If-Match says {header_version}")])
    if header_version is not None:
        data = data.model_copy(update={"version": header_version})
    nulls = [name for name in sorted(data.model_fields_set - NULLABLE)
             if getattr(data, name) is None]
    if nulls:
        # PainPointPatch admits null for every field, but only these mean something.
        raise ValidationFailed([FieldError(name, "may not be null") for name in nulls])
    try:
        service.update_pain_point(session, pain_point, data, actor=principal,
                                  today=clock.today())
    except service.StaleEdit as stale:
        return _stale(session, stale, principal)
    return _answer(session, response, pain_point_id)


def _stale(session: Session, stale: service.StaleEdit, principal: Principal) -> JSONResponse:
    """409 with the pain point as it is now, so the editor sees the other person's changes."""
    row = queries.get_row(session, stale.current.id, weeks=_weeks(session))
    current = pain_point_out(row, _Slugs(session))
    body = {"type": "about:blank", "title": stale.title, "status": stale.status_code,
            "detail": stale.message,
            "errors": [{"field": e.field, "message": e.message} for e in stale.errors],
            "current": current.model_dump(mode="json")}
    return JSONResponse(body, status_code=409, media_type=PROBLEM,
                        headers={"ETag": _etag(current.version)})


# 200 with the resource rather than 204, like DELETE /teams/{team}: every API route has a
# response model (tests/api/test_problem_json.py), and the answer carries the version to undo.
@router.delete("/{pain_point_id}", name="api.pain_points.delete",
               summary="Delete a pain point (soft)", response_model=PainPointOut,
               responses=problem_responses(401, 403, 404))
def delete_pain_point(response: Response, session: SessionDep, principal: Editor,
                      pain_point_id: PainPointId) -> PainPointOut:
    """Soft delete: the pain point leaves lists and every metric; `restore` brings it back.
    Answers the pain point with `deleted: true`."""
    pain_point = visible_pain_point(session, pain_point_id, principal)
    service.set_deleted(session, pain_point, deleted=True, actor=principal)
    return _answer(session, response, pain_point_id)


@router.post("/{pain_point_id}/restore", name="api.pain_points.restore",
             summary="Restore a deleted pain point", response_model=PainPointOut,
             responses=problem_responses(401, 403, 404))
def restore_pain_point(response: Response, session: SessionDep, principal: Editor,
                       pain_point_id: PainPointId) -> PainPointOut:
    pain_point = visible_pain_point(session, pain_point_id, principal)
    service.set_deleted(session, pain_point, deleted=False, actor=principal)
    return _answer(session, response, pain_point_id)


# --- confirmations --------------------------------------------------------------------------

def confirmations_out(session: Session, pain_point_id: int,
                      principal: Principal) -> ConfirmationsOut:
    summary = queries.confirmation_summary(session, pain_point_id, principal.user_id)
    mine = summary.mine
    return ConfirmationsOut(
        count=summary.count, median_hours=summary.median_hours,
        mine=None if mine is None else MyConfirmation(hours=mine.hours, comment=mine.comment,
                                                      created_at=mine.created_at))


@router.get("/{pain_point_id}/confirmations", name="api.pain_points.confirmations",
            summary="Confirmations of a pain point", response_model=ConfirmationsOut,
            responses=problem_responses(401, 404))
def get_confirmations(session: SessionDep, principal: Reader,
                      pain_point_id: PainPointId) -> ConfirmationsOut:
    """The count, the median from three confirmations on, and your own; never anyone else's."""
    readable_row(session, pain_point_id, principal)
    return confirmations_out(session, pain_point_id, principal)


@router.post("/{pain_point_id}/confirmations", name="api.pain_points.confirm",
             summary="Confirm a pain point (\"this hits me too\")", status_code=201,
             response_model=ConfirmationsOut, responses=problem_responses(401, 403, 404, 422))
def confirm_pain_point(response: Response, session: SessionDep, principal: Reader,
                       pain_point_id: PainPointId, data: ConfirmationIn) -> ConfirmationsOut:
    """Your own hours for this pain point (a second call replaces them, answering 200). Members
    of the pain point's team only, signed in as themselves: API tokens may not confirm."""
    row = readable_row(session, pain_point_id, principal)
    replacing = queries.confirmation_summary(session, pain_point_id,
                                             principal.user_id).mine is not None
    service.confirm(session, row.pain_point, data, actor=principal)
    if replacing:
        response.status_code = 200
    return confirmations_out(session, pain_point_id, principal)

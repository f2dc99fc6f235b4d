"""/api/v1/metrics/*: the same figures the dashboards show."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.pain_point_schemas import (
    CostFiguresOut, CostGroupOut, CostMetricsOut, QuarterQuery, period_errors, quarter_period,
)
from app.api.types import problem_responses
from app.auth.deps import Reader
from app.core import clock
from app.core.periods import quarter_of
from app.core.errors import FieldError, PermissionDenied, ValidationFailed
from app.db import SessionDep
from app.pain_points import queries
from app.pain_points.measures import CostFigures, GroupBy, PainPointFilters
from app.settings.service import get_org_settings
from app.teams.models import Persona, Stage, Team

router = APIRouter(prefix="/metrics", tags=["metrics"])


def _figures(row: CostFigures) -> dict:
    return {"cost": row.cost, "cost_low": row.cost_low, "cost_high": row.cost_high,
            "annual_run_rate": row.annual_run_rate,
            "annual_run_rate_low": row.annual_run_rate_low,
            "annual_run_rate_high": row.annual_run_rate_high,
            "hours_per_week": row.hours_per_week, "pain_points": row.pain_points,
            "active_pain_points": row.active_pain_points}


@router.get("/cost", name="api.metrics.cost", summary="Cost of friction",
            response_model=CostMetricsOut, responses=problem_responses(401, 403, 422))
def cost_metrics(
    session: SessionDep, principal: Reader,
    from_: Annotated[date | None, Query(
        alias="from", description="First day (inclusive); defaults to the first day of the "
                                  "current fiscal quarter.")] = None,
    to: Annotated[date | None, Query(
        description="Last day (inclusive); defaults to the last day of the current fiscal "
                    "quarter.")] = None,
    group_by: Annotated[GroupBy | None, Query(description="Split the total by stage, persona "
                                                          "or team.")] = None,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
    persona: Annotated[str | None, Query(description="Persona slug.")] = None,
    stage: Annotated[str | None, Query(description="Lifecycle stage slug.")] = None,
    quarter: QuarterQuery = None,
) -> CostMetricsOut:
    """Cost of the pain points in the period [`from`, `to`] (both inclusive; or a whole
    `quarter`; by default the current fiscal quarter), with its low–high range, as docs/product.md defines it: recurring
    pain points pro-rated by weekdays, one-time ones in the period holding their
    `observed_since`; deleted pain points count nowhere.

    `annual_run_rate` (and its range) and `hours_per_week` are **as of `to`**: the recurring
    pain points observed by then and not yet resolved. Money is a decimal string rounded
    half-even to cents; `hours_per_week` a string with two decimals. Dates before 2000 or more
    than a year from today are refused; a viewer asking for a team it does not belong to gets
    403."""
    today = clock.today()
    start_month = get_org_settings(session).fiscal_year_start_month
    current = quarter_of(today, start_month)
    from_, to, errors = quarter_period(quarter, from_, to, start_month)
    first, last = from_ or current.first_day, to or current.last_day
    errors += period_errors(first, last, today) if not errors else []
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
        if not principal.can_read_team(ids["team"]):
            raise PermissionDenied(f"You may read the figures of your own teams only, not of "
                                   f"'{team}'.", field="team")
        team_ids = frozenset({ids["team"]})
    filters = PainPointFilters(team_ids=team_ids, persona_id=ids["persona"],
                               stage_id=ids["stage"])
    org = get_org_settings(session)
    period = dict(first=first, last=last, weeks=org.working_weeks_per_year)
    [total] = queries.cost_figures(session, filters, **period)
    groups = (queries.cost_figures(session, filters, group_by=group_by, **period)
              if group_by is not None else [])
    return CostMetricsOut.model_validate({
        "currency": org.currency, "from": first, "to": last, "group_by": group_by,
        "total": CostFiguresOut(**_figures(total)),
        "groups": [CostGroupOut(key=g.key, label=g.label, **_figures(g)) for g in groups],
    })

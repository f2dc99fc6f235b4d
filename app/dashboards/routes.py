"""The leader dashboards: the overview ("/"), cost impact, velocity, and the page that defines
every metric they show.

Figures come from the same query functions as /api/v1/metrics/* (kpis.quarter_kpis for the
tiles); figures.py turns them into Plotly dicts. The filter form swaps `{% block dashboard %}`
through htmx and pushes the canonical URL, so every view is a shareable link.
"""

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.deps import Reader
from app.auth.permissions import Principal
from app.core import clock
from app.dashboards import figures
from app.dashboards.filters import LABELS, DashboardFilters, parse_filters, quarter_choices
from app.dashboards.kpis import filtered_quarter_kpis
from app.db import SessionDep
from app.maturity.rubric import load_rubric
from app.pain_points import queries as pain_points
from app.pain_points.measures import GroupBy, PainPointFilters
from app.settings.models import OrgSettings
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.web.templating import is_htmx, render
from app.velocity import metrics
from app.velocity import queries as velocity
from app.value import figures as value_figures
from app.value.queries import delay_by_quarter, overview_tiles
from app.velocity.queries import VelocityFilters

router = APIRouter(include_in_schema=False)

TOP_PAIN_POINTS = 10


def _page(request: Request, session: Session, principal: Principal, *,
          complete_by_default: bool = False,
          ) -> tuple[DashboardFilters, OrgSettings, dict[str, Any]]:
    """The filters of the URL and what every dashboard template needs."""
    org = get_org_settings(session)
    today = clock.today()
    teams, _ = team_queries.list_teams(session, visible_team_ids=principal.visible_team_ids,
                                       include_archived=True)
    personas = team_queries.list_personas(session)
    stages = team_queries.list_stages(session)
    filters = parse_filters(request.query_params, teams=teams, personas=personas, stages=stages,
                            visible_team_ids=principal.visible_team_ids, today=today,
                            start_month=org.fiscal_year_start_month,
                            complete_by_default=complete_by_default)
    context = {
        "path_for": request.app.url_path_for, "filters": filters, "teams": teams,
        "personas": personas, "stages": stages, "labels": LABELS,
        "quarter_choices": quarter_choices(today, org.fiscal_year_start_month, filters),
        "currency": org.currency, "org": org, "today": today,
        "money_short": figures.money_short, "money_range": figures.money_range,
        "number": figures.number, "percent": figures.percent, "days": figures.days,
        "plain": figures.plain, "production_window": metrics.PRODUCTION_WINDOW_DAYS,
        "is_empty": figures.is_empty,
    }
    return filters, org, context


def _respond(request: Request, template: str, filters: DashboardFilters,
             context: dict[str, Any]) -> Response:
    response = render(request, template, context, block="dashboard",
                      status_code=422 if filters.errors else 200)
    if is_htmx(request) and not filters.errors:
        # The link people share: the filters in force, without the form's blank fields.
        response.headers["HX-Push-Url"] = f"{request.url.path}?{filters.query_string()}"
    return response


def _cost_filters(filters: DashboardFilters) -> PainPointFilters:
    return PainPointFilters(team_ids=filters.team_ids, persona_id=filters.persona_id,
                            stage_id=filters.stage_id)


@router.get("/", name="home")
def overview(request: Request, session: SessionDep, principal: Reader) -> Response:
    # The last complete quarter by default: a running quarter's deployments and production
    # rate against a whole one read as a collapse (the reports page does the same).
    filters, org, context = _page(request, session, principal, complete_by_default=True)
    if filters.errors:
        return _respond(request, "dashboards/overview.html", filters, context)
    quarter = filters.quarter_to
    previous = quarter.previous()
    today = context["today"]
    scope = dict(team_ids=filters.team_ids, persona_id=filters.persona_id,
                 stage_id=filters.stage_id, today=today)
    current_kpis = filtered_quarter_kpis(session, org, quarter, **scope)
    previous_kpis = filtered_quarter_kpis(session, org, previous, **scope)
    weeks = org.working_weeks_per_year
    cost_filters = _cost_filters(filters)
    top = pain_points.top_run_rates(session, cost_filters, day=quarter.last_day, weeks=weeks,
                                    limit=TOP_PAIN_POINTS)
    by_stage = pain_points.cost_figures(session, cost_filters, first=quarter.first_day,
                                        last=quarter.last_day, weeks=weeks,
                                        group_by=GroupBy.stage)
    lead = velocity.lead_time_by_quarter(session, VelocityFilters(team_ids=filters.team_ids),
                                         filters.quarters)
    lead_rows = [(q.label, d) for q, d in lead.items()]
    delays = delay_by_quarter(session, org, filters)
    context |= {
        "quarter": quarter, "previous": previous, "kpis": current_kpis,
        "tiles": figures.build_tiles(current_kpis, previous_kpis, org.currency, previous.label,
                                     top_level=max(load_rubric().levels)),
        "top": top, "by_stage": by_stage, "lead_rows": lead_rows,
        "stage_figure": figures.cost_bars(
            by_stage, org.currency, link=lambda slug: filters.pain_points_url(stage=slug)),
        "lead_figure": value_figures.with_delay_hover(figures.lead_time_trend(lead_rows),
                                                      delays, org.currency),
    }
    return _respond(request, "dashboards/overview.html", filters, context)


@router.get("/dashboards/overview/value-tiles", name="dashboards.overview_value")
def overview_value_tiles(request: Request, session: SessionDep, principal: Reader) -> Response:
    """The overview's three model-value tiles, fetched by the page once it has drawn: at scale
    they take longer than the rest of the overview together."""
    filters, org, context = _page(request, session, principal, complete_by_default=True)
    tiles = [] if filters.errors else overview_tiles(session, org, filters, context["today"])
    return render(request, "dashboards/_value_tiles.html", context | {"tiles": tiles})


@router.get("/dashboards/cost", name="dashboards.cost")
def cost_dashboard(request: Request, session: SessionDep, principal: Reader) -> Response:
    filters, org, context = _page(request, session, principal)
    if filters.errors:
        return _respond(request, "dashboards/cost.html", filters, context)
    quarter = filters.quarter_to
    weeks = org.working_weeks_per_year
    cost_filters = _cost_filters(filters)
    period = dict(first=quarter.first_day, last=quarter.last_day, weeks=weeks)
    [total] = pain_points.cost_figures(session, cost_filters, **period)
    groups = {group: pain_points.cost_figures(session, cost_filters, group_by=group, **period)
              for group in (GroupBy.stage, GroupBy.team, GroupBy.persona)}
    top = pain_points.top_run_rates(session, cost_filters, day=quarter.last_day, weeks=weeks,
                                    limit=TOP_PAIN_POINTS)
    pareto_rows = figures.pareto_rows(top, total.annual_run_rate)
    grid = pain_points.run_rate_grid(session, cost_filters, day=quarter.last_day, weeks=weeks,
                                     rows=GroupBy.persona, columns=GroupBy.stage)
    quarters = filters.quarters
    trend = pain_points.cost_by_period(session, cost_filters, weeks=weeks,
                                       periods=[(q.first_day, q.last_day) for q in quarters])
    trend_rows = [(q.label, row) for q, row in zip(quarters, trend, strict=True)]
    personas = [(p.slug, p.name) for p in context["personas"]
                if filters.persona is None or p.id == filters.persona.id]
    stages = [(s.slug, s.name) for s in context["stages"]
              if filters.stage is None or s.id == filters.stage.id]
    currency = org.currency
    context |= {
        "quarter": quarter, "total": total, "groups": groups, "pareto_rows": pareto_rows,
        "grid": grid, "grid_personas": personas, "grid_stages": stages,
        "trend_rows": trend_rows,
        "stage_figure": figures.cost_bars(
            groups[GroupBy.stage], currency,
            link=lambda slug: filters.pain_points_url(stage=slug)),
        "team_figure": figures.cost_bars(
            groups[GroupBy.team], currency, sort_by_cost=True,
            link=lambda slug: filters.pain_points_url(team=slug)),
        "persona_figure": figures.cost_bars(
            groups[GroupBy.persona], currency, sort_by_cost=True,
            link=lambda slug: filters.pain_points_url(persona=slug)),
        "pareto_figure": figures.pareto(pareto_rows, currency,
                                        link=lambda i: f"/pain-points/{i}"),
        "journey_figure": figures.journey_heatmap(
            grid, personas, stages, currency,
            link=lambda persona, stage: filters.pain_points_url(persona=persona, stage=stage)),
        "trend_figure": figures.cost_trend(trend_rows, currency),
    }
    return _respond(request, "dashboards/cost.html", filters, context)


@router.get("/dashboards/velocity", name="dashboards.velocity")
def velocity_dashboard(request: Request, session: SessionDep, principal: Reader) -> Response:
    filters, org, context = _page(request, session, principal)
    if filters.errors:
        return _respond(request, "dashboards/velocity.html", filters, context)
    scope = VelocityFilters(team_ids=filters.team_ids)
    quarters = filters.quarters
    first, last = filters.first, filters.last
    lead = velocity.lead_time_by_quarter(session, scope, quarters)
    lead_rows = [(q.label, d) for q, d in lead.items()]
    dwell = velocity.stage_dwell(session, scope, first, last)
    deployments = velocity.deployments_by_month(session, scope, first, last)
    funnel = velocity.funnel_by_cohort(session, scope, quarters)
    cohorts = velocity.production_rate(session, scope, quarters, context["today"])
    spend = velocity.compute_by_month_and_kind(session, scope, first, last)
    context |= {
        "lead_rows": lead_rows, "dwell": dwell, "deployments": deployments,
        "funnel": list(zip(funnel, cohorts, strict=True)), "milestones": metrics.MILESTONES,
        "milestone_labels": figures.MILESTONE_LABELS, "spend": spend,
        "dwell_label": figures.dwell_label, "month_label": figures.month_label,
        "lead_figure": figures.lead_time_trend(lead_rows),
        "dwell_figure": figures.stage_dwell_bars(dwell),
        "deployments_figure": figures.deployments_by_month(
            deployments, link=lambda month: filters.models_url(deployed_in=f"{month:%Y-%m}")),
        "funnel_figure": figures.funnel_bars(
            funnel, metrics.MILESTONES,
            link=lambda cohort, milestone: filters.models_url(cohort=cohort, reached=milestone)),
        "spend_figure": figures.spend_by_month(spend, org.currency, first, last,
                                               link=filters.models_url(kind="llm")),
    }
    return _respond(request, "dashboards/velocity.html", filters, context)


@router.get("/metrics/definitions", name="metrics.definitions")
def definitions(request: Request, session: SessionDep, principal: Reader) -> Response:
    org = get_org_settings(session)
    return render(request, "dashboards/definitions.html", {
        "path_for": request.app.url_path_for, "org": org,
        "production_window": metrics.PRODUCTION_WINDOW_DAYS,
    })

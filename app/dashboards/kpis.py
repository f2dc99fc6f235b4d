"""The leader's headline figures for a quarter and the one before, from the same query
functions the metrics API uses: one source of truth for tiles, API and reports."""

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.periods import Quarter
from app.initiatives.queries import realized_total
from app.maturity.queries import latest_per_team
from app.ml_models.models import ComputeCost, MLModel, ModelKind
from app.pain_points.measures import CostFigures, PainPointFilters
from app.pain_points.queries import cost_figures
from app.settings.models import OrgSettings
from app.velocity import metrics as velocity_metrics
from app.velocity import queries as velocity


@dataclass
class Figure:
    """A headline number with its range (estimates) and sample size (measurements)."""

    value: Decimal | None
    low: Decimal | None = None
    high: Decimal | None = None
    n: int | None = None
    provisional: bool = False


@dataclass
class QuarterKpis:
    quarter: Quarter
    annual_cost: Figure
    hours_per_week: Figure
    fte: Figure
    quarter_cost: Figure
    lead_time_median: Figure
    lead_time_p90: Figure
    production_rate: Figure
    deployments: Figure
    change_failure_rate: Figure
    realized_savings: Figure
    llm_spend: Figure
    maturity: Figure


def llm_spend(session: Session, team_ids: frozenset[int] | None, first: date,
              last: date) -> Decimal:
    query = (select(func.coalesce(func.sum(ComputeCost.amount), 0))
             .join(MLModel, MLModel.id == ComputeCost.model_id)
             .where(MLModel.kind == ModelKind.llm, ComputeCost.month >= first.replace(day=1),
                    ComputeCost.month <= last))
    if team_ids is not None:
        query = query.where(MLModel.team_id.in_(team_ids))
    value = session.scalar(query)
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def quarter_kpis(session: Session, org: OrgSettings, quarter: Quarter, *,
                 team_ids: frozenset[int] | None, today: date) -> QuarterKpis:
    first, last = quarter.first_day, quarter.last_day
    weeks = org.working_weeks_per_year
    [cost] = cost_figures(session, PainPointFilters(team_ids=team_ids), first=first, last=last,
                          weeks=weeks) or [None]
    vfilters = velocity.VelocityFilters(team_ids=team_ids)
    lead = velocity.lead_time(session, vfilters, first, last)
    # The tiles show deployments and change failure rate, not time to restore: counts only.
    deployments, rollbacks = velocity.deployment_counts(session, vfilters, first, last)
    cohorts = velocity.production_rate(session, vfilters, [quarter], today)
    ideated = sum(c.ideated for c in cohorts)
    produced = sum(c.deployed for c in cohorts)
    realized = realized_total(session, weeks=weeks, first=first, last=last, team_ids=team_ids)
    latest = [t for t in latest_per_team(session, team_ids=team_ids, as_of=last)
              if t.score is not None]
    maturity = (sum((Decimal(t.score) for t in latest), Decimal(0)) / len(latest)
                if latest else None)
    hours = cost.hours_per_week if cost else Decimal(0)
    return QuarterKpis(
        quarter=quarter,
        annual_cost=Figure(cost.annual_run_rate, cost.annual_run_rate_low,
                           cost.annual_run_rate_high, cost.active_pain_points),
        hours_per_week=Figure(hours, n=cost.active_pain_points),
        fte=Figure(hours / org.working_hours_per_week),
        quarter_cost=Figure(cost.cost, cost.cost_low, cost.cost_high, cost.pain_points),
        lead_time_median=Figure(lead.median, n=lead.count),
        lead_time_p90=Figure(lead.p90, n=lead.count),
        production_rate=Figure(Decimal(produced) / ideated if ideated else None, n=ideated,
                               provisional=any(c.provisional for c in cohorts)),
        deployments=Figure(Decimal(deployments), n=deployments),
        change_failure_rate=Figure(velocity_metrics.change_failure_rate(rollbacks, deployments),
                                   n=deployments),
        realized_savings=Figure(realized),
        llm_spend=Figure(llm_spend(session, team_ids, first, last)),
        maturity=Figure(maturity, n=len(latest)),
    )


# --- the overview's filters (appended) -------------------------------------------------------

def cost_kpis(cost: CostFigures, org: OrgSettings) -> dict[str, Figure]:
    """The cost tiles of one cost_figures total, as quarter_kpis builds them."""
    return {
        "annual_cost": Figure(cost.annual_run_rate, cost.annual_run_rate_low,
                              cost.annual_run_rate_high, cost.active_pain_points),
        "hours_per_week": Figure(cost.hours_per_week, n=cost.active_pain_points),
        "fte": Figure(cost.hours_per_week / org.working_hours_per_week),
        "quarter_cost": Figure(cost.cost, cost.cost_low, cost.cost_high, cost.pain_points),
    }


def filtered_quarter_kpis(session: Session, org: OrgSettings, quarter: Quarter, *,
                          team_ids: frozenset[int] | None, persona_id: int | None,
                          stage_id: int | None, today: date) -> QuarterKpis:
    """quarter_kpis, with the cost tiles narrowed to a persona and/or a stage (the dashboards'
    persona and stage filters apply to pain points only: models and initiatives have none).
    Without either it is quarter_kpis itself; with one, one more aggregate statement."""
    kpis = quarter_kpis(session, org, quarter, team_ids=team_ids, today=today)
    if persona_id is None and stage_id is None:
        return kpis
    filters = PainPointFilters(team_ids=team_ids, persona_id=persona_id, stage_id=stage_id)
    [cost] = cost_figures(session, filters, first=quarter.first_day, last=quarter.last_day,
                          weeks=org.working_weeks_per_year)
    return replace(kpis, **cost_kpis(cost, org))

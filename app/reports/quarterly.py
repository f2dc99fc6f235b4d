"""The quarterly summary as one model, from which every format is written.

Nothing here computes a metric: the headline figures are `kpis.quarter_kpis` for the quarter and
the one before (the very function of the dashboards' tiles), and every section comes from the
query the matching dashboard or metrics endpoint uses. A team filter is a set of team ids applied
to every section, as everywhere else.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from app.core.periods import Quarter
from app.dashboards import kpis
from app.dashboards.figures import Change, change
from app.initiatives import queries as initiative_queries
from app.initiatives.queries import Figures as InitiativeFigures
from app.initiatives.queries import InitiativeFilters
from app.maturity.queries import latest_per_team
from app.pain_points.measures import CostFigures, GroupBy, PainPointFilters
from app.pain_points.queries import PainPointCost, cost_figures, top_run_rates
from app.reports import formats as f
from app.reports import narrative
from app.reports.queries import Listing, opened_in, resolved_in
from app.settings.models import OrgSettings
from app.value import queries as value_queries
from app.value.queries import ValueFilters, ValueReport
from app.velocity.queries import MonthDeployments, VelocityFilters, deployments_by_month

TOP_PAIN_POINTS = 10
# The opened/resolved lists are for reading, not an export of the ledger (that exists).
MAX_LISTED = 100
# Likewise the initiatives (the ROI dashboard has them all) and the teams' maturity (the
# maturity dashboard): a report of thousands of rows is read by nobody and takes minutes as PDF.
MAX_INITIATIVES = 25
MAX_TEAMS = 25
# ROI as the initiative pages show it by default.
ROI_HORIZON_YEARS = 3
# The models whose value is at risk, most valuable first.
MAX_AT_RISK = 25


@dataclass(frozen=True)
class Metric:
    key: str  # the attribute of kpis.QuarterKpis
    label: str
    kind: str  # a formats kind: money, hours, days, count, ratio, score
    unit: str  # for the spreadsheet's unit column ("{currency}" is replaced)
    better: str | None  # "up", "down" or None: which way is good news
    mode: str  # how its change is told: "percent", "points" (ratios) or "delta" (scores)


METRICS = (
    Metric("annual_cost", "Annual cost of friction", f.MONEY, "{currency} a year", "down",
           "percent"),
    Metric("quarter_cost", "Cost of friction in the quarter", f.MONEY, "{currency}", "down",
           "percent"),
    Metric("hours_per_week", "Hours lost per week", f.HOURS, "hours a week", "down", "percent"),
    Metric("lead_time_median", "Lead time, idea to production (median)", f.DAYS, "days",
           "down", "percent"),
    Metric("lead_time_p90", "Lead time, idea to production (p90)", f.DAYS, "days", "down",
           "percent"),
    Metric("deployments", "Deployments", f.COUNT, "deployments", "up", "percent"),
    Metric("change_failure_rate", "Change failure rate", f.RATIO, "ratio", "down", "points"),
    Metric("production_rate", "Production rate", f.RATIO, "ratio", "up", "points"),
    Metric("realized_savings", "Realized savings", f.MONEY, "{currency}", "up", "percent"),
    Metric("llm_spend", "LLM spend", f.MONEY, "{currency}", None, "percent"),
    Metric("maturity", "Average maturity score", f.SCORE, "score (level 0–2)", "up", "delta"),
)


@dataclass
class Headline:
    metric: Metric
    value: Decimal | None
    low: Decimal | None
    high: Decimal | None
    previous: Decimal | None
    n: int | None  # sample size behind a measurement (models, deployments, teams)
    provisional: bool
    change: Change

    @property
    def key(self) -> str:
        return self.metric.key

    @property
    def has_range(self) -> bool:
        return self.low is not None and self.high is not None and (
            self.low != self.value or self.high != self.value)

    @property
    def change_words(self) -> str:
        """"up 12.5%", "down 3.0 pts", "no change", "new", "—": no leading sign, so that no
        spreadsheet takes it for a formula."""
        c = self.change
        if not c.arrow:
            return c.text
        if c.text == "new":
            return "new"
        return ("up " if c.arrow == "▲" else "down ") + c.text.lstrip("+−")

    @property
    def verdict(self) -> str:
        return {"good": "better", "bad": "worse"}.get(self.change.tone, "")


@dataclass(frozen=True)
class Scope:
    """Whose figures: every team (None), one team, or a viewer's own teams."""

    team_ids: frozenset[int] | None
    label: str  # "Whole organisation", "Fraud detection", "Your teams: …"
    team_slug: str | None = None  # the one team asked for, if any
    note: str = ""  # said in the report's header, e.g. why the figures cover fewer teams


@dataclass
class MaturityChange:
    team: str
    team_slug: str
    previous_level: int | None
    previous_score: Decimal | None
    level: int | None
    score: Decimal | None
    assessed_on: date | None  # the assessment that counts at the quarter's end

    @property
    def change(self) -> Decimal | None:
        if self.score is None or self.previous_score is None:
            return None
        return self.score - self.previous_score


@dataclass
class InitiativeLine:
    id: int
    title: str
    team: str  # "Org-wide" for an initiative of no team
    status: str
    delivered_on: date | None
    one_time_cost: Decimal
    yearly_run_cost: Decimal
    figures: InitiativeFigures  # expected savings (range), realized in the quarter, ROI


@dataclass
class QuarterlyReport:
    org_name: str
    currency: str
    quarter: Quarter
    previous: Quarter
    scope: Scope
    today: date
    headline: list[Headline]
    top_pain_points: list[PainPointCost]
    opened: Listing
    resolved: Listing
    cost_by_stage: list[CostFigures]
    cost_by_persona: list[CostFigures]
    months: list[MonthDeployments]
    maturity: list[MaturityChange]  # at most MAX_TEAMS of them
    initiatives: list[InitiativeLine]  # at most MAX_INITIATIVES of them
    maturity_total: int = 0  # teams in the scope
    initiatives_total: int = 0  # initiatives in the scope
    narrative: list[str] = field(default_factory=list)
    # Model value: GET /api/v1/metrics/value's figures for the quarter (its models at risk).
    value: ValueReport | None = None

    @property
    def first(self) -> date:
        return self.quarter.first_day

    @property
    def last(self) -> date:
        return self.quarter.last_day

    @property
    def in_progress(self) -> bool:
        return self.last >= self.today

    @property
    def title(self) -> str:
        return f"Quarterly summary {self.quarter.label} · {self.scope.label}"

    def figure(self, key: str) -> Headline:
        return next(h for h in self.headline if h.key == key)


def headline(current: kpis.QuarterKpis, previous: kpis.QuarterKpis,
             previous_label: str) -> list[Headline]:
    result = []
    for metric in METRICS:
        now, before = getattr(current, metric.key), getattr(previous, metric.key)
        result.append(Headline(
            metric, now.value, now.low, now.high, before.value, now.n, now.provisional,
            change(now.value, before.value, mode=metric.mode, better=metric.better,
                   previous_label=previous_label)))
    return result


def _maturity(session: Session, scope: Scope, quarter: Quarter,
              previous: Quarter) -> list[MaturityChange]:
    """Each team's latest score at the quarter's end against the previous quarter's end."""
    now = latest_per_team(session, team_ids=scope.team_ids, as_of=quarter.last_day)
    before = {t.team_id: t for t in latest_per_team(session, team_ids=scope.team_ids,
                                                    as_of=previous.last_day)}
    return [MaturityChange(t.team_name, t.team_slug, before[t.team_id].level,
                           before[t.team_id].score, t.level, t.score, t.assessed_on)
            for t in now]


def _initiatives(session: Session, org: OrgSettings, scope: Scope,
                 quarter: Quarter) -> list[InitiativeLine]:
    """The scope's initiatives (and the org-wide ones that touch its pain points), with the
    savings of the links to its pain points, realized within the quarter."""
    rows, _ = initiative_queries.list_initiatives(
        session, InitiativeFilters(visible_team_ids=scope.team_ids))
    found = initiative_queries.initiative_figures(
        session, rows, weeks=org.working_weeks_per_year, horizon_years=ROI_HORIZON_YEARS,
        first=quarter.first_day, last=quarter.last_day, team_ids=scope.team_ids)
    lines = []
    for row in rows:
        i, figures = row.initiative, found[row.initiative.id]
        if scope.team_ids is not None and i.team_id is None and not figures.linked:
            continue  # org-wide, but nothing of this scope's
        lines.append(InitiativeLine(i.id, i.title, row.team or "Org-wide", i.status.value,
                                    i.delivered_on, i.one_time_cost, i.yearly_run_cost,
                                    figures))
    lines.sort(key=lambda line: (-line.figures.realized, -line.figures.expected, line.title))
    return lines


def _largest_savings(lines: list[InitiativeLine]) -> list[InitiativeLine]:
    """The MAX_INITIATIVES with the largest expected savings, in the order given."""
    kept = {line.id for line in sorted(
        lines, key=lambda line: (-line.figures.expected, line.title, line.id))[:MAX_INITIATIVES]}
    return [line for line in lines if line.id in kept]


def _moved_most(changes: list[MaturityChange]) -> list[MaturityChange]:
    """Every team when they fit; else the MAX_TEAMS whose maturity moved most (a change of
    level first, then the largest change of score), in the order given (by team name)."""
    if len(changes) <= MAX_TEAMS:
        return changes
    moved = [m for m in changes if m.level != m.previous_level or m.change]
    kept = {m.team_slug for m in sorted(moved, key=lambda m: (
        m.level == m.previous_level, -abs(m.change or 0), m.team))[:MAX_TEAMS]}
    return [m for m in changes if m.team_slug in kept]


def build_report(session: Session, org: OrgSettings, quarter: Quarter, scope: Scope, *,
                 today: date) -> QuarterlyReport:
    previous = quarter.previous()
    team_ids = scope.team_ids
    weeks = org.working_weeks_per_year
    first, last = quarter.first_day, quarter.last_day
    current = kpis.quarter_kpis(session, org, quarter, team_ids=team_ids, today=today)
    before = kpis.quarter_kpis(session, org, previous, team_ids=team_ids, today=today)
    filters = PainPointFilters(team_ids=team_ids)
    period = {"first": first, "last": last, "weeks": weeks}
    report = QuarterlyReport(
        org_name=org.name, currency=org.currency, quarter=quarter, previous=previous,
        scope=scope, today=today,
        headline=headline(current, before, previous.label),
        top_pain_points=top_run_rates(session, filters, day=last, weeks=weeks,
                                      limit=TOP_PAIN_POINTS),
        opened=opened_in(session, filters, first, last, weeks=weeks, limit=MAX_LISTED),
        resolved=resolved_in(session, filters, first, last, weeks=weeks, limit=MAX_LISTED),
        cost_by_stage=cost_figures(session, filters, group_by=GroupBy.stage, **period),
        cost_by_persona=cost_figures(session, filters, group_by=GroupBy.persona, **period),
        months=deployments_by_month(session, VelocityFilters(team_ids=team_ids), first, last),
        maturity=_maturity(session, scope, quarter, previous),
        initiatives=_initiatives(session, org, scope, quarter),
    )
    report.value = value_queries.value_report(
        session, ValueFilters(team_ids=team_ids), first, last, today=today,
        target_lead_time_days=org.target_lead_time_days, staleness_days=org.staleness_days,
        limit=0, risk_limit=MAX_AT_RISK)
    # The sentences speak of everything; the sections then list only the largest part.
    report.narrative = narrative.sentences(report)
    report.maturity_total, report.initiatives_total = len(report.maturity), len(report.initiatives)
    report.maturity = _moved_most(report.maturity)
    report.initiatives = _largest_savings(report.initiatives)
    return report

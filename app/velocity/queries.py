"""Velocity aggregates: lead time, stage dwell, deployments, change failure rate, time to restore,
production rate and compute spend — computed by the database, the same on both backends."""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from app.auth.permissions import Principal
from app.core.derived import answers, fresh
from app.core.errors import NotFound
from app.core.periods import Quarter, quarter_of, quarters_between
from app.core.sql import days_between, month_index, percentile_cont
from app.core.orm import UTCDateTime
from app.ml_models.models import ComputeCost, EventType, LifecycleEvent, MLModel, ModelKind
from app.teams import queries as team_queries
from app.teams.models import Team
from app.velocity import metrics
from app.velocity.milestones import DEPLOYMENT_MONTHS, MILESTONES, milestone_rows, month_of
from app.velocity.models import DeploymentMonth, ModelMilestone


def to_decimal_or_none(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _utc(value: Any) -> datetime | None:
    """SQLite hands back text for an aggregate over a subquery; PostgreSQL a datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class VelocityFilters:
    team_ids: frozenset[int] | None = None  # None: every team (the caller applies its scope)
    model_id: int | None = None
    model_ids: frozenset[int] | None = None  # None: every model


def scoped(query: Select, filters: VelocityFilters, model_id_column: Any) -> Select:
    if filters.team_ids is not None:
        query = query.where(model_id_column.in_(
            select(MLModel.id).where(MLModel.team_id.in_(filters.team_ids))))
    if filters.model_id is not None:
        query = query.where(model_id_column == filters.model_id)
    if filters.model_ids is not None:
        query = query.where(model_id_column.in_(filters.model_ids))
    return query


def milestones(session: Session, filters: VelocityFilters):
    """One row per model: the first occurrence of each milestone, and its earliest event (the
    model_milestone rows that app/velocity/milestones.py keeps in step with the events)."""
    if not answers(MILESTONES, filters):  # a filter the rows do not hold: from the events
        live = milestone_rows().subquery()
        return scoped(select(live), filters, live.c.model_id).subquery("milestones")
    fresh(session, MILESTONES.name)
    query = select(ModelMilestone.model_id, *[ModelMilestone.__table__.c[name]
                                              for name in metrics.MILESTONES],
                   ModelMilestone.earliest)
    return scoped(query, filters, ModelMilestone.model_id).subquery("milestones")


def _in_period(column: Any, first: date, last: date) -> Any:
    return and_(column >= start_of(first), column < start_of(last + timedelta(days=1)))


# --- lead time ------------------------------------------------------------------------------

@dataclass
class Distribution:
    median: Decimal | None
    p90: Decimal | None
    count: int


def lead_time_expr(m: Any) -> Any:
    """First deployed minus first ideated (or, with no ideated, the earliest event), in days."""
    return days_between(m.c.deployed, func.coalesce(m.c.ideated, m.c.earliest))


def lead_time(session: Session, filters: VelocityFilters, first: date, last: date) -> Distribution:
    """Over the models whose first deployment falls in the period."""
    m = milestones(session, filters)
    lead = lead_time_expr(m)
    median, p90, count = session.execute(
        select(percentile_cont(lead, metrics.MEDIAN), percentile_cont(lead, metrics.P90),
               func.count()).where(_in_period(m.c.deployed, first, last))
    ).one()
    return Distribution(to_decimal_or_none(median), to_decimal_or_none(p90), count or 0)


def _quarter_index(column: Any, start_month: int) -> Any:
    return (month_index(column) - (start_month - 1)) // 3


def quarter_from_index(index: int, start_month: int) -> Quarter:
    months = index * 3 + (start_month - 1)
    return quarter_of(date(months // 12, months % 12 + 1, 1), start_month)


def lead_time_by_quarter(session: Session, filters: VelocityFilters, quarters: Sequence[Quarter],
                         ) -> dict[Quarter, Distribution]:
    """Lead time by quarter of first deployment, for the given (consecutive) quarters."""
    if not quarters:
        return {}
    by_bucket = lead_time_by_bucket(session, filters, quarters[0].first_day,
                                    quarters[-1].last_day, By.quarter, quarters[0].start_month)
    return {quarter: lead for quarter, (_, lead) in zip(quarters, by_bucket, strict=True)}


# --- by month or by (fiscal) quarter ----------------------------------------------------------

class By(enum.StrEnum):
    """What a period is split into: calendar months or quarters of the fiscal year."""

    month = "month"
    quarter = "quarter"


@dataclass(frozen=True)
class Bucket:
    """A calendar month or a fiscal quarter that overlaps a period, clipped to the period."""

    label: str  # 2026-03 or 2026-Q1
    first: date
    last: date
    index: int  # month_index, or _quarter_index, of the days it holds


def buckets(first: date, last: date, by: By, start_month: int) -> list[Bucket]:
    """The months (calendar) or quarters (of the fiscal year starting in `start_month`) that
    overlap [first, last], in order, each clipped to [first, last]."""
    if by == By.month:
        spans = [(f"{m:%Y-%m}", m, _next_month(m) - timedelta(days=1), m.year * 12 + m.month - 1)
                 for m in _months(first, last)]
    else:
        spans = [(q.label, q.first_day, q.last_day,
                  (q.first_day.year * 12 + q.first_day.month - start_month) // 3)
                 for q in quarters_between(quarter_of(first, start_month),
                                           quarter_of(last, start_month))]
    return [Bucket(label, max(a, first), min(b, last), index) for label, a, b, index in spans]


def _bucket_index(column: Any, by: By, start_month: int) -> Any:
    return month_index(column) if by == By.month else _quarter_index(column, start_month)


def lead_time_by_bucket(session: Session, filters: VelocityFilters, first: date, last: date,
                        by: By, start_month: int) -> list[tuple[Bucket, Distribution]]:
    """Lead time by month or quarter of first deployment over [first, last] in one grouped
    statement: each bucket's figures are lead_time's for the bucket's (clipped) days."""
    m = milestones(session, filters)
    lead = lead_time_expr(m)
    index = _bucket_index(m.c.deployed, by, start_month).label("i")
    rows = session.execute(
        select(index, percentile_cont(lead, metrics.MEDIAN), percentile_cont(lead, metrics.P90),
               func.count())
        .where(_in_period(m.c.deployed, first, last))
        .group_by(index)
    ).all()
    found = {i: Distribution(to_decimal_or_none(a), to_decimal_or_none(b), n)
             for i, a, b, n in rows}
    return [(bucket, found.get(bucket.index, Distribution(None, None, 0)))
            for bucket in buckets(first, last, by, start_month)]


# --- stage dwell ----------------------------------------------------------------------------

@dataclass
class Dwell:
    from_milestone: str
    to_milestone: str
    median: Decimal | None
    count: int


def stage_dwell(session: Session, filters: VelocityFilters, first: date, last: date) -> list[Dwell]:
    """Median days between adjacent milestones a model has both of, over the pairs whose later
    milestone falls in the period."""
    m = milestones(session, filters)
    pairs = union_all(*[
        select(literal(a).label("from_m"), literal(b).label("to_m"),
               days_between(m.c[b], m.c[a]).label("days"))
        .where(m.c[a].is_not(None), _in_period(m.c[b], first, last))
        for a, b in metrics.DWELL_PAIRS
    ]).subquery("pairs")
    rows = session.execute(
        select(pairs.c.from_m, pairs.c.to_m, percentile_cont(pairs.c.days, metrics.MEDIAN),
               func.count()).group_by(pairs.c.from_m, pairs.c.to_m)
    ).all()
    found = {(a, b): (median, n) for a, b, median, n in rows}
    return [Dwell(a, b, to_decimal_or_none(found.get((a, b), (None, 0))[0]),
                  found.get((a, b), (None, 0))[1])
            for a, b in metrics.DWELL_PAIRS]


# --- deployments, failures, restores ----------------------------------------------------------

@dataclass
class DeploymentFigures:
    deployments: int
    rollbacks: int
    frequency_per_week: Decimal
    change_failure_rate: Decimal | None
    time_to_restore: Distribution
    unrestored: int


def deployment_counts(session: Session, filters: VelocityFilters, first: date,
                      last: date) -> tuple[int, int]:
    """`deployed` and `rolled_back` events in [first, last]: the sum of deployments_by_month,
    which reads the per-team monthly counts for whole months."""
    months = deployments_by_month(session, filters, first, last)
    return sum(m.deployments for m in months), sum(m.rollbacks for m in months)


def deployment_figures(session: Session, filters: VelocityFilters, first: date,
                       last: date) -> DeploymentFigures:
    deployments, rollbacks = deployment_counts(session, filters, first, last)
    restore = time_to_restore(session, filters, first, last)
    return DeploymentFigures(
        deployments, rollbacks, metrics.deployment_frequency(deployments, first, last),
        metrics.change_failure_rate(rollbacks, deployments), restore[0], restore[1])


def time_to_restore(session: Session, filters: VelocityFilters, first: date,
                    last: date) -> tuple[Distribution, int]:
    """From each rollback in the period to the next deployment of the same model: the median,
    the number restored, and the number not (yet) restored."""
    rollback = aliased(LifecycleEvent)
    nxt = (select(func.min(LifecycleEvent.occurred_at))
           .where(LifecycleEvent.model_id == rollback.model_id,
                  LifecycleEvent.type == EventType.deployed,
                  LifecycleEvent.occurred_at > rollback.occurred_at)
           .scalar_subquery())
    restores = scoped(
        select(days_between(nxt, rollback.occurred_at).label("days"))
        .where(rollback.type == EventType.rolled_back,
               _in_period(rollback.occurred_at, first, last)),
        filters, rollback.model_id).cte("restores")
    # Computed once per rollback: inlined, PostgreSQL would run the correlated "next
    # deployment" lookup once for every aggregate that reads `days`.
    restores = restores.prefix_with("MATERIALIZED", dialect="postgresql")
    median, p90, restored, total = session.execute(select(
        percentile_cont(restores.c.days, metrics.MEDIAN),
        percentile_cont(restores.c.days, metrics.P90),
        func.count(restores.c.days), func.count())).one()
    return (Distribution(to_decimal_or_none(median), to_decimal_or_none(p90), restored or 0),
            (total or 0) - (restored or 0))


# --- production rate --------------------------------------------------------------------------

@dataclass
class Cohort:
    quarter: Quarter
    ideated: int
    deployed: int
    rate: Decimal | None
    provisional: bool


def production_rate(session: Session, filters: VelocityFilters, quarters: Sequence[Quarter],
                    today: date) -> list[Cohort]:
    """Per ideation cohort (models whose first `ideated` falls in the quarter): the share
    deployed within 180 days of ideation."""
    if not quarters:
        return []
    start_month = quarters[0].start_month
    m = milestones(session, filters)
    index = _quarter_index(m.c.ideated, start_month).label("q")
    within = and_(m.c.deployed.is_not(None),
                  days_between(m.c.deployed, m.c.ideated) <= metrics.PRODUCTION_WINDOW_DAYS)
    rows = session.execute(
        select(index, func.count(), func.count(case((within, 1))))
        .where(_in_period(m.c.ideated, quarters[0].first_day, quarters[-1].last_day))
        .group_by(index)
    ).all()
    found = {quarter_from_index(q, start_month): (n, d) for q, n, d in rows}
    cohorts = []
    for quarter in quarters:
        ideated, deployed = found.get(quarter, (0, 0))
        cohorts.append(Cohort(quarter, ideated, deployed,
                              metrics.production_rate(ideated, deployed),
                              metrics.cohort_is_provisional(quarter, today)))
    return cohorts


# --- compute spend --------------------------------------------------------------------------

@dataclass
class Spend:
    month: date
    amount: Decimal
    gpu_hours: Decimal


def compute_by_month(session: Session, filters: VelocityFilters, first: date,
                     last: date) -> list[Spend]:
    query = scoped(select(ComputeCost.month, func.sum(ComputeCost.amount),
                          func.sum(ComputeCost.gpu_hours))
                   .where(ComputeCost.month >= first.replace(day=1), ComputeCost.month <= last),
                   filters, ComputeCost.model_id)
    rows = session.execute(query.group_by(ComputeCost.month).order_by(ComputeCost.month)).all()
    return [Spend(month, to_decimal_or_none(amount), to_decimal_or_none(hours))
            for month, amount, hours in rows]


def compute_by_model(session: Session, filters: VelocityFilters, first: date, last: date, *,
                     offset: int = 0, limit: int | None = None,
                     ) -> tuple[list[tuple[int, str, Decimal, Decimal]], int]:
    """Spend and GPU hours per model over the months overlapping [first, last], highest spend
    first then by model id (pages neither repeat nor skip a model): `limit` of them from
    `offset`, and how many models spent anything."""
    query = scoped(select(MLModel.id, MLModel.name, func.sum(ComputeCost.amount),
                          func.sum(ComputeCost.gpu_hours))
                   .join(MLModel, MLModel.id == ComputeCost.model_id)
                   .where(ComputeCost.month >= first.replace(day=1), ComputeCost.month <= last),
                   filters, ComputeCost.model_id).group_by(MLModel.id, MLModel.name)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(func.sum(ComputeCost.amount).desc(), MLModel.id)
                           .offset(offset).limit(limit)).all()
    return [(i, name, to_decimal_or_none(amount), to_decimal_or_none(hours))
            for i, name, amount, hours in rows], total


def compute_total(session: Session, filters: VelocityFilters, first: date,
                  last: date) -> tuple[Decimal, Decimal]:
    """Spend and GPU hours of the months overlapping [first, last] (as compute_by_month)."""
    query = scoped(select(func.coalesce(func.sum(ComputeCost.amount), 0),
                          func.coalesce(func.sum(ComputeCost.gpu_hours), 0))
                   .where(ComputeCost.month >= first.replace(day=1), ComputeCost.month <= last),
                   filters, ComputeCost.model_id)
    amount, hours = session.execute(query).one()
    return to_decimal_or_none(amount), to_decimal_or_none(hours)


# --- per model ------------------------------------------------------------------------------

@dataclass
class ModelCadence:
    model_id: int
    deployments: int
    retrain_cadence_days: Decimal | None  # median days between successive deployments
    last_deployed_at: datetime | None


def model_cadence(session: Session, filters: VelocityFilters) -> dict[int, ModelCadence]:
    previous = func.lag(LifecycleEvent.occurred_at).over(
        partition_by=LifecycleEvent.model_id, order_by=LifecycleEvent.occurred_at)
    gaps = scoped(select(LifecycleEvent.model_id.label("model_id"),
                         LifecycleEvent.occurred_at.label("at"),
                         days_between(LifecycleEvent.occurred_at, previous).label("gap"))
                  .where(LifecycleEvent.type == EventType.deployed),
                  filters, LifecycleEvent.model_id).subquery("gaps")
    rows = session.execute(select(gaps.c.model_id, func.count(),
                                  percentile_cont(gaps.c.gap, metrics.MEDIAN),
                                  func.max(gaps.c.at)).group_by(gaps.c.model_id)).all()
    result = {}
    for model_id, count, cadence, last_at in rows:
        result[model_id] = ModelCadence(model_id, count, to_decimal_or_none(cadence),
                                        _utc(last_at))
    return result


# --- the model list and the model page ------------------------------------------------------

@dataclass(frozen=True)
class ModelListFilters:
    team_ids: frozenset[int] | None = None  # None: every team (the caller applies its scope)
    kind: ModelKind | None = None
    archived: bool | None = False  # False: active models, True: archived ones, None: both
    text: str = ""  # in the name or the use case, whatever the case
    # The drill-downs of the velocity dashboard: a cohort (first `ideated` on these days), a
    # milestone reached (first occurrence present), a `deployed` event on these days.
    ideated_between: tuple[date, date] | None = None
    reached: str | None = None
    deployed_between: tuple[date, date] | None = None


@dataclass
class ModelRow:
    """A model with its velocity figures, as the list, the model page and the API show them."""

    model: MLModel
    team: str
    team_slug: str
    first_ideated_at: datetime | None
    first_deployed_at: datetime | None
    lead_time_days: Decimal | None
    deployments: int
    rollbacks: int
    last_deployed_at: datetime | None
    staleness_days: Decimal | None  # days from the latest deployment to `now`; None if never
    retrain_cadence_days: Decimal | None  # median days between successive deployments


def list_models(session: Session, filters: ModelListFilters, *, now: datetime, offset: int = 0,
                limit: int | None = None) -> tuple[list[ModelRow], int]:
    """One page of models ordered by team and name, and the total. A fixed number of
    statements whatever the page holds: the figures come from aggregates over its models."""
    query = select(MLModel, Team.name, Team.slug).join(Team, Team.id == MLModel.team_id)
    if filters.team_ids is not None:
        query = query.where(MLModel.team_id.in_(filters.team_ids))
    if filters.kind is not None:
        query = query.where(MLModel.kind == filters.kind)
    if filters.archived is not None:
        query = query.where(MLModel.archived_at.is_not(None) if filters.archived
                            else MLModel.archived_at.is_(None))
    if filters.text:
        needle = filters.text.lower()
        query = query.where(func.lower(MLModel.name).contains(needle, autoescape=True)
                            | func.lower(MLModel.use_case).contains(needle, autoescape=True))
    if filters.ideated_between is not None or filters.reached is not None:
        # The funnel's own milestones, so the list holds exactly the models a bar counts.
        m = milestones(session, VelocityFilters())
        query = query.join(m, m.c.model_id == MLModel.id)
        if filters.ideated_between is not None:
            query = query.where(_in_period(m.c.ideated, *filters.ideated_between))
        if filters.reached is not None:
            query = query.where(m.c[filters.reached].is_not(None))
    if filters.deployed_between is not None:
        query = query.where(select(LifecycleEvent.id).where(
            LifecycleEvent.model_id == MLModel.id, LifecycleEvent.type == EventType.deployed,
            _in_period(LifecycleEvent.occurred_at, *filters.deployed_between)).exists())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # lower(): the same order on both backends (PostgreSQL's collation ignores case, SQLite's not)
    rows = session.execute(query.order_by(Team.name, func.lower(MLModel.name), MLModel.id)
                           .offset(offset).limit(limit)).all()
    return _model_rows(session, rows, now), total


def get_visible_model_or_404(session: Session, model_id: int, *,
                             principal: Principal) -> MLModel:
    """A model the principal may read; another team's is as absent as a missing one."""
    model = session.get(MLModel, model_id)
    if model is None or not principal.can_read_team(model.team_id):
        raise NotFound(f"There is no model {model_id}.")
    return model


def get_visible_model_row_or_404(session: Session, model_id: int, *, principal: Principal,
                                 now: datetime) -> ModelRow:
    row = get_model_row(session, model_id, now=now)
    if row is None or not principal.can_read_team(row.model.team_id):
        raise NotFound(f"There is no model {model_id}.")
    return row


def team_of(session: Session, model: MLModel) -> Team:
    team = session.get(Team, model.team_id)
    assert team is not None  # a foreign key
    return team


def visible_teams(session: Session, principal: Principal) -> list[Team]:
    """Every team the principal may read, archived ones included (old models keep theirs)."""
    teams, _ = team_queries.list_teams(session, visible_team_ids=principal.scope(),
                                       include_archived=True)
    return list(teams)


def get_model_row(session: Session, model_id: int, *, now: datetime) -> ModelRow | None:
    row = session.execute(select(MLModel, Team.name, Team.slug)
                          .join(Team, Team.id == MLModel.team_id)
                          .where(MLModel.id == model_id)).one_or_none()
    return _model_rows(session, [row], now)[0] if row else None


def _model_rows(session: Session, rows: Sequence[Any], now: datetime) -> list[ModelRow]:
    if not rows:
        return []
    # Two statements over the events of the page's models: milestones with rollbacks and
    # staleness, then the deployment cadence.
    scope = VelocityFilters(model_ids=frozenset(model.id for model, _, _ in rows))
    m = milestones(session, scope)
    per_model = scoped(
        select(LifecycleEvent.model_id,
               func.count(case((LifecycleEvent.type == EventType.rolled_back, 1)))
               .label("rollbacks"),
               func.max(case((LifecycleEvent.type == EventType.deployed,
                              LifecycleEvent.occurred_at))).label("last_deployed")),
        scope, LifecycleEvent.model_id).group_by(LifecycleEvent.model_id).subquery("per_model")
    firsts = {row[0]: row[1:] for row in session.execute(
        select(m.c.model_id, m.c.ideated, m.c.deployed, lead_time_expr(m), per_model.c.rollbacks,
               days_between(literal(now, UTCDateTime()), per_model.c.last_deployed))
        .join(per_model, per_model.c.model_id == m.c.model_id))}
    cadence = model_cadence(session, scope)
    result = []
    for model, team, slug in rows:
        ideated, deployed, lead, rollbacks, stale = firsts.get(model.id, (None,) * 3 + (0, None))
        deploys = cadence.get(model.id, ModelCadence(model.id, 0, None, None))
        result.append(ModelRow(
            model, team, slug, _utc(ideated), _utc(deployed), to_decimal_or_none(lead),
            deploys.deployments, rollbacks, deploys.last_deployed_at, to_decimal_or_none(stale),
            deploys.retrain_cadence_days))
    return result


# --- for the velocity dashboard: by month and per cohort (appended) ---------------------------

def _months(first: date, last: date) -> list[date]:
    """First days of the calendar months that overlap [first, last]."""
    months, index = [], first.year * 12 + first.month - 1
    while index <= last.year * 12 + last.month - 1:
        months.append(date(index // 12, index % 12 + 1, 1))
        index += 1
    return months


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@dataclass
class MonthDeployments:
    month: date  # first day of the calendar month (UTC)
    deployments: int
    rollbacks: int
    change_failure_rate: Decimal | None


def deployments_by_month(session: Session, filters: VelocityFilters, first: date,
                         last: date) -> list[MonthDeployments]:
    """`deployed` and `rolled_back` events in [first, last] per calendar month, every month of
    the period present (zero when quiet), in one grouped statement; the change failure rate
    of each month as deployment_figures computes it for a period."""
    months = _months(first, last)
    whole_months = first.day == 1 and (last + timedelta(days=1)).day == 1
    if whole_months and answers(DEPLOYMENT_MONTHS, filters):
        # Per team and month, kept in step with the events (app/velocity/milestones.py).
        fresh(session, DEPLOYMENT_MONTHS.name)
        query = (select(DeploymentMonth.month, func.sum(DeploymentMonth.deployments),
                        func.sum(DeploymentMonth.rollbacks))
                 .where(DeploymentMonth.month.between(month_of(start_of(first)),
                                                      month_of(start_of(last))))
                 .group_by(DeploymentMonth.month))
        if filters.team_ids is not None:
            query = query.where(DeploymentMonth.team_id.in_(filters.team_ids))
    else:
        index = month_index(LifecycleEvent.occurred_at).label("m")
        query = scoped(
            select(index, func.count(case((LifecycleEvent.type == EventType.deployed, 1))),
                   func.count(case((LifecycleEvent.type == EventType.rolled_back, 1))))
            .where(_in_period(LifecycleEvent.occurred_at, first, last),
                   LifecycleEvent.type.in_([EventType.deployed, EventType.rolled_back])),
            filters, LifecycleEvent.model_id).group_by(index)
    found = {m: (d or 0, r or 0) for m, d, r in session.execute(query).all()}
    result = []
    for month in months:
        deployed, rolled_back = found.get(month.year * 12 + month.month - 1, (0, 0))
        result.append(MonthDeployments(month, deployed, rolled_back,
                                       metrics.change_failure_rate(rolled_back, deployed)))
    return result


@dataclass
class BucketDeployments:
    deployments: int
    rollbacks: int
    change_failure_rate: Decimal | None
    frequency_per_week: Decimal


def deployments_by_bucket(session: Session, filters: VelocityFilters, first: date, last: date,
                          by: By, start_month: int) -> list[tuple[Bucket, BucketDeployments]]:
    """deployments_by_month's counts (one grouped statement) added up per month or quarter,
    with the change failure rate and the weekly frequency of each bucket's (clipped) days as
    deployment_figures computes them for a period."""
    months = deployments_by_month(session, filters, first, last)
    result = []
    for bucket in buckets(first, last, by, start_month):
        inside = [m for m in months if bucket.first.replace(day=1) <= m.month <= bucket.last]
        deployed, rolled_back = sum(m.deployments for m in inside), sum(m.rollbacks for m in inside)
        result.append((bucket, BucketDeployments(
            deployed, rolled_back, metrics.change_failure_rate(rolled_back, deployed),
            metrics.deployment_frequency(deployed, bucket.first, bucket.last))))
    return result


@dataclass
class CohortFunnel:
    quarter: Quarter
    reached: dict[str, int]  # milestone -> models of the cohort that have reached it (to date)


def funnel_by_cohort(session: Session, filters: VelocityFilters,
                     quarters: Sequence[Quarter]) -> list[CohortFunnel]:
    """Per ideation cohort (models whose first `ideated` falls in the quarter, as
    production_rate): how many have reached each milestone so far, in one statement."""
    if not quarters:
        return []
    start_month = quarters[0].start_month
    m = milestones(session, filters)
    index = _quarter_index(m.c.ideated, start_month).label("q")
    rows = session.execute(
        select(index, *[func.count(m.c[name]) for name in metrics.MILESTONES])
        .where(_in_period(m.c.ideated, quarters[0].first_day, quarters[-1].last_day))
        .group_by(index)).all()
    found = {quarter_from_index(row[0], start_month): row[1:] for row in rows}
    return [CohortFunnel(q, dict(zip(metrics.MILESTONES,
                                     found.get(q, (0,) * len(metrics.MILESTONES)), strict=True)))
            for q in quarters]


@dataclass
class MonthSpendByKind:
    month: date
    llm: Decimal
    other: Decimal  # classical models

    @property
    def total(self) -> Decimal:
        return self.llm + self.other


def compute_by_month_and_kind(session: Session, filters: VelocityFilters, first: date,
                              last: date) -> list[MonthSpendByKind]:
    """compute_by_month split into LLM spend and the rest, in one grouped statement."""
    llm = MLModel.kind == ModelKind.llm
    query = scoped(select(ComputeCost.month,
                          func.coalesce(func.sum(case((llm, ComputeCost.amount))), 0),
                          func.coalesce(func.sum(case((llm, None), else_=ComputeCost.amount)), 0))
                   .join(MLModel, MLModel.id == ComputeCost.model_id)
                   .where(ComputeCost.month >= first.replace(day=1), ComputeCost.month <= last),
                   filters, ComputeCost.model_id)
    rows = session.execute(query.group_by(ComputeCost.month).order_by(ComputeCost.month)).all()
    return [MonthSpendByKind(month, to_decimal_or_none(a) or Decimal(0),
                             to_decimal_or_none(b) or Decimal(0))
            for month, a, b in rows]

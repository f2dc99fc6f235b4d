"""Model value aggregates (docs/product.md, "Model value"): value delivered, compute, cost of delay,
quality status and value at risk, computed by the database with the formulas of
app/value/formulas.py; the same numbers on PostgreSQL and SQLite."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import (
    Date, Double, Integer, Select, and_, case, cast, func, literal, null, or_, select, union_all,
)
from sqlalchemy.orm import Session

from app.core.derived import answers, fresh
from app.core.sql import SQL, utc_day_number
from app.ml_models.models import ComputeCost, EventType, LifecycleEvent, MLModel, ModelKind
from app.pain_points.cost import day_number
from app.teams.models import Team
from app.value import figures as value_figures_module
from app.value import formulas as f
from app.value import monthly
from app.value.formulas import Triple
from app.value.monthly import FIGURES
from app.value.models import (
    Kpi, KpiObservation, ModelValueMonth, ProductionPeriod, QualityMetric, QualityObservation,
)
from app.value.production import PERIODS, period_rows
from app.velocity.queries import lead_time_expr, milestones, start_of, to_decimal_or_none
from app.velocity.queries import VelocityFilters

ZERO = Decimal("0")


@dataclass(frozen=True)
class ValueFilters:
    team_ids: frozenset[int] | None = None  # None: every team (the caller applies its scope)
    model_ids: frozenset[int] | None = None


def _scope(query: Select, filters: ValueFilters, model_id_column: Any) -> Select:
    if filters.team_ids is not None:
        query = query.where(model_id_column.in_(
            select(MLModel.id).where(MLModel.team_id.in_(filters.team_ids))))
    if filters.model_ids is not None:
        query = query.where(model_id_column.in_(filters.model_ids))
    return query


def _d(value: Any) -> Decimal:
    return ZERO if value is None else to_decimal_or_none(value)


# --- value delivered and compute, per bucket (a period) and model ----------------------------

def _months(buckets: Sequence[tuple[int, date, date]]):
    """One row per (bucket, calendar month it touches), with the day counts the pro-rating
    needs. Day counts are exact numeric constants so that SQLite never divides integers."""
    rows = [select(literal(bucket, Integer()).label("bucket"),
                   literal(month, Date()).label("month"),
                   SQL.num(f.days_in_month(month)).label("month_days"),
                   SQL.num(f.days_inside(month, first, last)).label("inside_days"))
            for bucket, first, last in buckets for month in f.months_touching(first, last)]
    return union_all(*rows).cte("value_month") if len(rows) > 1 else rows[0].cte("value_month")


def _periods(session: Session, filters: ValueFilters):
    """[start, end) day numbers on which each model is in production (end NULL: still is):
    the production_period rows app/value/production.py keeps in step with the events."""
    if not answers(PERIODS, filters):  # a filter the rows do not hold: from the events
        live = period_rows().subquery()
        return _scope(select(live), filters, live.c.model_id).subquery("production")
    fresh(session, PERIODS.name)
    pp = ProductionPeriod
    return _scope(select(pp.model_id, pp.start_day, pp.end_day), filters,
                  pp.model_id).subquery("production")


def _month_values(session: Session, filters: ValueFilters, months: list[date]):
    """Each model's whole-month figures (app/value/monthly.py) for `months`: the stored rows
    when they answer the filters and reach the last month, else the same formula live."""
    if answers(monthly.MONTHS, filters) and monthly.covers(session, months[-1]):
        fresh(session, PERIODS.name)  # its rows are computed from the periods
        fresh(session, monthly.MONTHS.name)
        mv = ModelValueMonth
        stored = select(mv.month, mv.model_id, *(mv.__table__.c[n] for n in FIGURES)).where(
            mv.month >= months[0], mv.month <= months[-1])
        return _scope(stored, filters, mv.model_id).subquery("month_value")
    return monthly.month_values(
        monthly.calendar(months), _periods(session, filters),
        lambda query, column: _scope(query, filters, column)).subquery("month_value")


def _value_rows(session: Session, filters: ValueFilters,
                buckets: Sequence[tuple[int, date, date]]):
    """(bucket, model_id, value low/expected/high, measured part, estimated part, compute):
    each model's whole-month figures pro-rated to the days of the month inside the bucket, one
    row per bucket, model and month. A month's estimate counts its production days of the
    whole month, not only those inside the period: the months cap the periods."""
    months = _months(buckets)
    touched = sorted({m for _, first, last in buckets for m in f.months_touching(first, last)})
    values = _month_values(session, filters, touched)
    return select(values.c.model_id, months.c.bucket, *(
        f.prorated(values.c[n], months.c.inside_days, months.c.month_days).label(n)
        for n in FIGURES)).join(months, months.c.month == values.c.month).subquery(
        "value_parts")


def _model_rows(session: Session, filters: ValueFilters,
                buckets: Sequence[tuple[int, date, date]]):
    """(bucket, model_id, value low/expected/high, measured part, estimated part, compute)."""
    rows = _value_rows(session, filters, buckets)
    return select(rows.c.bucket, rows.c.model_id,
                  *(func.sum(rows.c[n]).label(n) for n in FIGURES)).group_by(
        rows.c.bucket, rows.c.model_id).subquery("model_value")


@dataclass
class ValueFigures:
    value: Triple = Triple()
    measured: Decimal = ZERO
    estimated: Decimal = ZERO
    compute: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return f.net_value(self.value.expected, self.compute)

    @property
    def per_compute_dollar(self) -> Decimal | None:
        return f.value_per_compute_dollar(self.value.expected, self.compute)


def _figures(row: Any) -> ValueFigures:
    return ValueFigures(Triple(_d(row.low), _d(row.value), _d(row.high)), _d(row.measured),
                        _d(row.estimated), _d(row.compute))


def value_by_bucket(session: Session, filters: ValueFilters,
                    buckets: Sequence[tuple[int, date, date]]) -> dict[int, ValueFigures]:
    """Value delivered (measured and estimated parts) and compute cost per period."""
    # Straight from the parts: totals per period need no pass grouped by model first.
    rows = _value_rows(session, filters, buckets)
    query = select(rows.c.bucket, *(func.sum(rows.c[n]).label(n) for n in FIGURES)) \
        .group_by(rows.c.bucket)
    found = {row.bucket: _figures(row) for row in session.execute(query)}
    return {bucket: found.get(bucket, ValueFigures()) for bucket, _, _ in buckets}


def value_figures(session: Session, filters: ValueFilters, first: date,
                  last: date) -> ValueFigures:
    return value_by_bucket(session, filters, [(0, first, last)])[0]


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    # Every digit the database summed is kept (the default context rounds to 28 digits).
    with localcontext() as context:
        context.prec = 200
        return sum(values, ZERO)


def _exact_triple(triples: list[Triple]) -> Triple:
    return Triple(*(_exact_sum(getattr(t, n) for t in triples)
                    for n in ("low", "expected", "high")))


def tiled_figures(parts: Iterable[ValueFigures]) -> ValueFigures:
    """The figures of a period that whole-month buckets tile end to end (the dashboard's range
    of quarters): each of its months is pro-rated as in its bucket, so they are the sums."""
    parts = list(parts)
    return ValueFigures(_exact_triple([p.value for p in parts]),
                        *(_exact_sum(getattr(p, n) for p in parts)
                          for n in ("measured", "estimated", "compute")))


@dataclass
class ModelValue:
    model_id: int
    name: str
    team_slug: str
    team_name: str
    kind: ModelKind
    figures: ValueFigures
    lead_time_days: Decimal | None
    quality: list[f.QualityStatus] = field(default_factory=list)


def value_by_model(session: Session, filters: ValueFilters, first: date, last: date, *,
                   order: str = "value", offset: int = 0, limit: int | None = None,
                   ) -> tuple[list[ModelValue], int]:
    """Models that delivered value or spent compute in the period, by value (or net value)
    descending, then by model id: `limit` of them from `offset`, and how many there are."""
    models, total, _ = ranked_models(session, filters, first, last, order=order,
                                     offset=offset, limit=limit)
    return models, total


def ranked_models(session: Session, filters: ValueFilters, first: date, last: date, *,
                  order: str = "value", offset: int = 0, limit: int | None = None,
                  top: int = 0) -> tuple[list[ModelValue], int, list[ModelValue]]:
    """`value_by_model`, and the `top` models by value as well (the dashboard's scatter beside
    its table ranked by net value) from the same pass over the period's aggregate."""
    rows = _model_rows(session, filters, [(0, first, last)])
    ms = milestones(session, VelocityFilters(team_ids=filters.team_ids,
                                             model_ids=filters.model_ids))
    nonzero = or_(rows.c.value != 0, rows.c.compute != 0, rows.c.low != 0, rows.c.high != 0)
    by_value = func.row_number().over(order_by=(rows.c.value.desc(), rows.c.model_id))
    key = rows.c.value if order == "value" else rows.c.value - rows.c.compute
    by_key = func.row_number().over(order_by=(key.desc(), rows.c.model_id))
    # The count rides along with the rows (one pass over the aggregate, not two).
    ranked = (select(rows, by_key.label("rank"), by_value.label("value_rank"),
                     func.count().over().label("total")).where(nonzero)
              .cte("ranked").prefix_with("MATERIALIZED", dialect="postgresql"))
    page = ranked.c.rank > offset
    if limit is not None:
        page = and_(page, ranked.c.rank <= offset + limit)
    wanted = or_(page, ranked.c.value_rank <= top) if top else page
    query = (select(ranked, MLModel.name, MLModel.kind, Team.slug,
                    Team.name.label("team_name"), lead_time_expr(ms).label("lead"))
             .join(MLModel, MLModel.id == ranked.c.model_id)
             .join(Team, Team.id == MLModel.team_id)
             .outerjoin(ms, ms.c.model_id == ranked.c.model_id)
             .where(wanted).order_by(ranked.c.rank))
    found = session.execute(query).all()
    total = (found[0].total if found else
             session.scalar(select(func.count()).select_from(rows).where(nonzero)) or 0)

    def model(r: Any) -> ModelValue:
        return ModelValue(r.model_id, r.name, r.slug, r.team_name, ModelKind(r.kind),
                          _figures(r), to_decimal_or_none(r.lead))

    return ([model(r) for r in found if r.rank > offset
             and (limit is None or r.rank <= offset + limit)], total,
            [model(r) for r in sorted(found, key=lambda r: r.value_rank)
             if r.value_rank <= top])


# --- cost of delay --------------------------------------------------------------------------

@dataclass
class Delay:
    cost: Triple = Triple()
    week_value: Triple = Triple()
    models: int = 0


def delay_by_bucket(session: Session, filters: ValueFilters,
                    buckets: Sequence[tuple[int, date, date]],
                    target_days: int) -> dict[int, Delay]:
    """Over the models whose first deployment falls in each period (the lead-time models):
    Σ weekly value × max(0, lead time − target) ÷ 7, and Σ weekly value."""
    ms = milestones(session, VelocityFilters(team_ids=filters.team_ids,
                                             model_ids=filters.model_ids))
    lead = lead_time_expr(ms)
    m = MLModel
    annual = {"low": m.annual_value_low,
              "mid": f.pert(m.annual_value_low, m.annual_value_likely, m.annual_value_high, SQL),
              "high": m.annual_value_high}
    bucket = case(*((and_(ms.c.deployed >= start_of(first),
                          ms.c.deployed < start_of(last + timedelta(days=1))), key)
                    for key, first, last in buckets), else_=null()).label("bucket")
    inner = select(bucket, lead.label("lead"),
                   *(v.label(k) for k, v in annual.items())).join(m, m.id == ms.c.model_id)
    inner = inner.where(ms.c.deployed >= start_of(min(b[1] for b in buckets)),
                        ms.c.deployed < start_of(max(b[2] for b in buckets) + timedelta(days=1))
                        ).subquery()
    target = SQL.num(target_days)
    query = select(inner.c.bucket, func.count(),
                   *(func.coalesce(func.sum(f.delay_cost(inner.c[k], inner.c.lead, target, SQL)),
                                   0) for k in annual),
                   *(func.coalesce(func.sum(f.weekly_value(inner.c[k], SQL)), 0)
                     for k in annual)).where(inner.c.bucket.is_not(None)).group_by(inner.c.bucket)
    found = {}
    for key, count, c_low, c_mid, c_high, w_low, w_mid, w_high in session.execute(query):
        found[key] = Delay(Triple(_d(c_low), _d(c_mid), _d(c_high)),
                           Triple(_d(w_low), _d(w_mid), _d(w_high)), count)
    return {key: found.get(key, Delay()) for key, _, _ in buckets}


def tiled_delay(parts: Iterable[Delay]) -> Delay:
    """The cost of delay of a period that buckets tile end to end: the models first deployed
    in it are those of its buckets, so it is their sums."""
    parts = list(parts)
    return Delay(_exact_triple([p.cost for p in parts]),
                 _exact_triple([p.week_value for p in parts]), sum(p.models for p in parts))


# --- production, quality and value at risk at a day -----------------------------------------

def _in_production(session: Session, filters: ValueFilters, day: date):
    """Models in production on `day` (a period holds it), with their latest deployment on or
    before it: one probe of the (model, type, occurred_at) index per model."""
    prod = _periods(session, filters)
    e = LifecycleEvent
    at = (select(e.occurred_at).where(e.model_id == prod.c.model_id,
                                      e.type == EventType.deployed,
                                      e.occurred_at < start_of(day + timedelta(days=1)))
          .order_by(e.occurred_at.desc()).limit(1).scalar_subquery())
    today = SQL.whole(day_number(day))
    # Materialized: PostgreSQL would otherwise inline the probe into every reference to `at`.
    return select(prod.c.model_id, at.label("at")).where(
        prod.c.start_day <= today,
        or_(prod.c.end_day.is_(None), prod.c.end_day > today)).cte("in_production") \
        .prefix_with("MATERIALIZED", dialect="postgresql")


def _last_deployed(filters: ValueFilters, day: date):
    """Each model's latest deployment on or before `day`, in production or not."""
    e = LifecycleEvent
    return _scope(select(e.model_id, func.max(e.occurred_at).label("at"))
                  .where(e.type == EventType.deployed,
                         e.occurred_at < start_of(day + timedelta(days=1))),
                  filters, e.model_id).group_by(e.model_id).subquery("last_deployed")


def _quality(deployed: Any, day: date, *, only_deployed: bool = False,
             model_ids: Sequence[int] | None = None):
    """Per quality metric of the models in `deployed` (model_id, at) — every metric, unless
    `only_deployed` — baseline, latest and whether it is degraded at `day`. Each is a probe
    of the (metric, observed_at) index, not a window over every observation."""
    qo, qm = QualityObservation, QualityMetric
    until = start_of(day + timedelta(days=1))
    baseline = (select(qo.value).where(qo.metric_id == qm.id,
                                       qo.model_id == deployed.c.model_id,
                                       qo.observed_at >= deployed.c.at, qo.observed_at < until)
                .order_by(qo.observed_at, qo.id).limit(1).scalar_subquery())
    latest = (select(qo.value).where(qo.metric_id == qm.id, qo.observed_at < until)
              .order_by(qo.observed_at.desc(), qo.id.desc()).limit(1).scalar_subquery())
    probes = select(qm.model_id, qm.id.label("metric_id"), qm.name, qm.higher_is_better,
                    cast(qm.tolerance, Double()).label("tolerance"),
                    baseline.label("baseline"), latest.label("latest"))
    if only_deployed:
        probes = probes.join(deployed, deployed.c.model_id == qm.model_id)
    else:
        probes = probes.outerjoin(deployed, deployed.c.model_id == qm.model_id)
    if model_ids is not None:
        probes = probes.where(qm.model_id.in_(model_ids))
    # Materialized: each probe runs once per metric, not once per reference in the status.
    q = probes.cte("quality_probe").prefix_with("MATERIALIZED", dialect="postgresql")
    bad = or_(and_(q.c.higher_is_better.is_(True),
                   f.degraded(q.c.latest, q.c.baseline, q.c.tolerance, True, SQL)),
              and_(q.c.higher_is_better.is_(False),
                   f.degraded(q.c.latest, q.c.baseline, q.c.tolerance, False, SQL)))
    return select(q.c.model_id, q.c.metric_id, q.c.name, q.c.baseline, q.c.latest,
                  case((q.c.baseline.is_(None), literal("unknown")),
                       (bad, literal("degraded")), else_=literal("ok")).label("status"))


def quality_of(session: Session, model_ids: Sequence[int],
               day: date) -> dict[int, list[f.QualityStatus]]:
    """Each metric's baseline, latest and status at `day`, for a few models (a page)."""
    if not model_ids:
        return {}
    deployed = _last_deployed(ValueFilters(model_ids=frozenset(model_ids)), day)
    quality = _quality(deployed, day, model_ids=list(model_ids)).subquery()
    query = select(quality).order_by(quality.c.model_id, quality.c.name)
    result: dict[int, list[f.QualityStatus]] = {}
    for row in session.execute(query):
        result.setdefault(row.model_id, []).append(
            f.QualityStatus(row.name, row.baseline, row.latest, row.status))
    return result


@dataclass
class AtRisk:
    model_id: int
    name: str
    team_slug: str
    team_name: str
    stale_since: date | None
    last_deployed: date
    annual_value: Triple
    degraded: list[f.QualityStatus] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        reasons = []
        if self.stale_since is not None:
            reasons.append(f"stale since {self.stale_since} (last deployed "
                           f"{self.last_deployed})")
        reasons.extend(f"{q.metric} degraded: {q.baseline:g} → {q.latest:g}"
                       for q in self.degraded)
        return reasons


@dataclass
class RiskSummary:
    day: date
    value: Triple = Triple()
    count: int = 0
    models: list[AtRisk] = field(default_factory=list)


def value_at_risk(session: Session, filters: ValueFilters, day: date, staleness_days: int, *,
                  limit: int | None = 50) -> RiskSummary:
    """Over the models in production at `day` that are stale or have a degraded metric: Σ
    their annual value (measured over the three months before, else the PERT estimate);
    the `limit` most valuable of them with their reasons."""
    prod = _in_production(session, filters, day)
    quality = _quality(prod, day, only_deployed=True).subquery()
    degraded = select(quality.c.model_id).where(quality.c.status == "degraded").distinct() \
        .subquery()
    stale = utc_day_number(prod.c.at) < SQL.whole(day_number(day) - staleness_days)
    ko = KpiObservation
    months = f.previous_months(day)
    measured = _scope(select(ko.model_id, ko.month, func.sum(ko.amount * Kpi.value_per_unit)
                             .label("amount")).join(Kpi, Kpi.id == ko.kpi_id)
                      .where(ko.month >= months[0], ko.month <= months[-1]),
                      filters, ko.model_id).group_by(ko.model_id, ko.month).subquery()
    recent = select(measured.c.model_id,
                    (func.sum(measured.c.amount) * SQL.num(12)
                     / func.count()).label("annual")).group_by(measured.c.model_id).subquery()
    m = MLModel
    annual = {"low": m.annual_value_low,
              "mid": f.pert(m.annual_value_low, m.annual_value_likely, m.annual_value_high, SQL),
              "high": m.annual_value_high}
    values = {k: case((recent.c.annual.is_not(None), recent.c.annual),
                      else_=func.coalesce(v, SQL.num(0))).label(k) for k, v in annual.items()}
    risky = (select(prod.c.model_id, prod.c.at, stale.label("stale"), *values.values())
             .join(m, m.id == prod.c.model_id)
             .outerjoin(recent, recent.c.model_id == prod.c.model_id)
             .outerjoin(degraded, degraded.c.model_id == prod.c.model_id)
             .where(or_(stale, degraded.c.model_id.is_not(None)))).cte("risky") \
        .prefix_with("MATERIALIZED", dialect="postgresql")
    totals = select(func.count().label("count"), *(func.coalesce(func.sum(risky.c[k]), 0)
                                                  .label(f"total_{k}") for k in annual))
    if limit == 0:
        total = session.execute(totals).one()
        return RiskSummary(day, Triple(_d(total[1]), _d(total[2]), _d(total[3])), total[0] or 0)
    # The totals and the first models in one statement: the risky models are found once.
    totals = totals.subquery("totals")
    top = (select(risky, m.name, Team.slug, Team.name.label("team_name"))
           .join(m, m.id == risky.c.model_id).join(Team, Team.id == m.team_id)
           .order_by(risky.c.mid.desc(), risky.c.model_id).limit(limit).subquery("top"))
    found = session.execute(select(totals, top).outerjoin(top, literal(True))
                            .order_by(top.c.mid.desc(), top.c.model_id)).all()
    first = found[0]
    summary = RiskSummary(day, Triple(_d(first.total_low), _d(first.total_mid),
                                      _d(first.total_high)), first.count or 0)
    rows = [r for r in found if r.model_id is not None]
    quality_by_model = quality_of(session, [r.model_id for r in rows], day)
    for r in rows:
        deployed_on = f.as_date(r.at)
        summary.models.append(AtRisk(
            r.model_id, r.name, r.slug, r.team_name,
            deployed_on + timedelta(days=staleness_days + 1) if r.stale else None, deployed_on,
            Triple(_d(r.low), _d(r.mid), _d(r.high)),
            [q for q in quality_by_model.get(r.model_id, []) if q.status == "degraded"]))
    return summary


# --- lists ----------------------------------------------------------------------------------

def model_ids_named(session: Session, name: str,
                    team_ids: frozenset[int] | None) -> frozenset[int]:
    """Ids of the models with this name (any case), within the teams given."""
    query = select(MLModel.id).where(func.lower(MLModel.name) == name.strip().lower())
    if team_ids is not None:
        query = query.where(MLModel.team_id.in_(team_ids))
    return frozenset(session.scalars(query))


def kpis_of(session: Session, model_id: int, *, archived: bool | None = None) -> list[Kpi]:
    query = select(Kpi).where(Kpi.model_id == model_id).order_by(Kpi.key)
    if archived is not None:
        query = query.where(Kpi.archived_at.is_not(None) if archived
                            else Kpi.archived_at.is_(None))
    return list(session.scalars(query))


@dataclass(frozen=True)
class ObservationFilters:
    team_ids: frozenset[int] | None = None
    model_ids: frozenset[int] | None = None
    first: date | None = None  # months overlapping [first, last]
    last: date | None = None


@dataclass
class KpiObservationRow:
    observation: KpiObservation
    kpi: Kpi
    model_name: str
    team_slug: str

    @property
    def value(self) -> Decimal:
        return self.observation.amount * self.kpi.value_per_unit


def list_kpi_observations(session: Session, filters: ObservationFilters, *, offset: int = 0,
                          limit: int | None = None) -> tuple[list[KpiObservationRow], int]:
    """KPI observations, newest month first, then by model name and KPI key."""
    ko = KpiObservation
    query = _scope(select(ko, Kpi, MLModel.name, Team.slug).join(Kpi, Kpi.id == ko.kpi_id)
                   .join(MLModel, MLModel.id == ko.model_id)
                   .join(Team, Team.id == MLModel.team_id),
                   ValueFilters(filters.team_ids, filters.model_ids), ko.model_id)
    if filters.first is not None:
        query = query.where(ko.month >= f.month_start(filters.first))
    if filters.last is not None:
        query = query.where(ko.month <= filters.last)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(ko.month.desc(), MLModel.name, Kpi.key)
                           .offset(offset).limit(limit)).all()
    return [KpiObservationRow(o, k, name, slug) for o, k, name, slug in rows], total


def quality_metrics_of(session: Session, model_id: int) -> list[QualityMetric]:
    return list(session.scalars(select(QualityMetric).where(QualityMetric.model_id == model_id)
                                .order_by(QualityMetric.name)))


def quality_observations_of(session: Session, model_id: int, *, since: datetime | None = None,
                            limit: int = 2000) -> list[tuple[str, QualityObservation]]:
    """A model's quality observations (metric name, observation), oldest first."""
    query = (select(QualityMetric.name, QualityObservation)
             .join(QualityMetric, QualityMetric.id == QualityObservation.metric_id)
             .where(QualityObservation.model_id == model_id))
    if since is not None:
        query = query.where(QualityObservation.observed_at >= since)
    return [(name, obs) for name, obs in session.execute(
        query.order_by(QualityObservation.observed_at.desc(), QualityObservation.id.desc())
        .limit(limit)).all()][::-1]


# --- everything GET /api/v1/metrics/value answers -------------------------------------------

@dataclass
class ValueReport:
    first: date
    last: date
    figures: ValueFigures
    delay: Delay
    risk: RiskSummary
    models: list[ModelValue]
    models_total: int
    top: list[ModelValue] = field(default_factory=list)  # by value, when asked for


def value_report(session: Session, filters: ValueFilters, first: date, last: date, *,
                 today: date, target_lead_time_days: int, staleness_days: int,
                 offset: int = 0, limit: int | None = 100, order: str = "value",
                 risk_limit: int | None = 50, top: int = 0,
                 figures: ValueFigures | None = None, delay: Delay | None = None,
                 ) -> ValueReport:
    """The period's value figures, the `limit` models from `offset` (by value, or net value)
    with their quality status at the risk day, the `top` models by value, and the value at
    risk with its models. A caller that has computed the period's figures or cost of delay
    already (the dashboard, for its quarters) passes them."""
    day = f.risk_day(first, last, today)
    if figures is None:
        figures = value_figures(session, filters, first, last)
    if delay is None:
        delay = delay_by_bucket(session, filters, [(0, first, last)], target_lead_time_days)[0]
    risk = value_at_risk(session, filters, day, staleness_days, limit=risk_limit)
    models, total, best = ranked_models(session, filters, first, last, order=order,
                                        offset=offset, limit=limit, top=top)
    quality = quality_of(session, [m.model_id for m in models], day)
    for m in models:
        m.quality = quality.get(m.model_id, [])
    return ValueReport(first, last, figures, delay, risk, models, total, best)


def overview_tiles(session: Session, org: Any, filters: Any, today: date) -> list[Any]:
    """The overview's value tiles: the quarter shown against the one before. The slow part of
    the overview at scale (production intervals and quality baselines over every event and
    observation), so the page fetches them after it has drawn (`dashboards.overview_value`)."""
    scope = ValueFilters(team_ids=filters.team_ids)
    quarter = filters.quarter_to
    previous = quarter.previous()
    # One statement per figure for both quarters: the tiles answer in a bounded number of
    # statements.
    pair = [(0, quarter.first_day, quarter.last_day), (1, previous.first_day, previous.last_day)]
    values = value_by_bucket(session, scope, pair)
    delays = delay_by_bucket(session, scope, pair, org.target_lead_time_days)

    def tile(key: int, first: date, last: date) -> Any:
        risk = value_at_risk(session, scope, f.risk_day(first, last, today), org.staleness_days,
                             limit=0)
        v, d = values[key], delays[key]
        return value_figures_module.ValueTileFigures(
            v.value.expected, v.value.low, v.value.high, v.measured, d.cost.expected,
            d.cost.low, d.cost.high, d.models, risk.value.expected, risk.value.low,
            risk.value.high, risk.count)

    return value_figures_module.value_tiles(tile(*pair[0]), tile(*pair[1]), org.currency,
                                            previous.label)


def delay_by_quarter(session: Session, org: Any, filters: Any) -> dict[str, tuple[Any, int]]:
    """The cost of delay of each trend quarter (and how many models it counts), for the
    lead-time chart's hover."""
    scope = ValueFilters(team_ids=filters.team_ids)
    quarters = list(filters.quarters)
    delays = delay_by_bucket(session, scope, [(i, q.first_day, q.last_day)
                                              for i, q in enumerate(quarters)],
                             org.target_lead_time_days)
    return {quarters[key].label: (d.cost.expected, d.models) for key, d in delays.items()}

"""Savings of initiatives, computed by the database from the pain points' run-rates."""

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Numeric, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session, selectinload

from app.core import clock
from app.core.periods import quarter_of, quarters_between
from app.core.sql import SQL, day_number
from app.initiatives import roi
from app.core.derived import answers
from app.initiatives import savings as kept
from app.initiatives.figures import CurveInitiative, CurvePoint, payback_points
from app.initiatives.measures import realizes as _realizes
from app.initiatives.measures import recurring as _recurring
from app.initiatives.measures import reduction as _reduction
from app.initiatives.measures import saving as _saving
from app.initiatives.models import (
    Initiative, InitiativeLink, InitiativeRealizing, InitiativeSaving, InitiativeStatus,
)
from app.pain_points import cost
from app.pain_points import summary
from app.pain_points.models import PainPoint, PainPointKind, PainPointStatus, RunRateRank
from app.pain_points.measures import exact_sum, run_rate, to_decimal, with_costs
from app.teams.models import Persona, Stage, Team


@dataclass
class Savings:
    initiative_id: int
    expected: Decimal
    expected_low: Decimal
    expected_high: Decimal
    realized: Decimal
    linked: int


def savings(session: Session, initiative_ids: list[int] | None, *, weeks: Decimal,
            first: date, last: date, team_ids: frozenset[int] | None = None,
            ) -> dict[int, Savings]:
    """Expected annual savings (low/expected/high) and realized savings in [first, last] of
    each initiative, in one aggregate statement.

    Expected: Σ linked pain points' run-rate computed as if open × expected reduction.
    Realized: for linked pain points resolved on or after the initiative's delivery, the same
    product pro-rated over [resolved_on, ∞) exactly like cost in a period; nothing for a pain
    point resolved before delivery. One-time and deleted pain points save nothing a year.
    `team_ids` keeps only the links to those teams' pain points (the team filter).
    Read off initiative_saving when it is in step for `weeks` (savings.py), else live.
    """
    if _stored(session, weeks):
        return _stored_savings(session, initiative_ids, weeks=weeks, first=first, last=last,
                               team_ids=team_ids)
    return live_savings(session, initiative_ids, weeks=weeks, first=first, last=last,
                        team_ids=team_ids)


def live_savings(session: Session, initiative_ids: list[int] | None, *, weeks: Decimal,
                 first: date, last: date, team_ids: frozenset[int] | None = None,
                 ) -> dict[int, Savings]:
    """`savings` computed from the pain points, in one aggregate statement."""
    query = _linked(select(
        Initiative.id, *(exact_sum(_saving(which, weeks)) for which in ("expected", "low", "high")),
        exact_sum(case((_realizes(), _realized(weeks, first, last)), else_=SQL.num(0))),
        func.count(PainPoint.id))).group_by(Initiative.id)
    if initiative_ids is not None:
        query = query.where(_among(initiative_ids))
    if team_ids is not None:
        query = query.where(PainPoint.team_id.in_(team_ids))
    result = {
        i: Savings(i, to_decimal(e), to_decimal(lo), to_decimal(hi), to_decimal(r), n)
        for i, e, lo, hi, r, n in session.execute(query)
    }
    for i in initiative_ids or []:
        result.setdefault(i, Savings(i, *(Decimal(0),) * 4, 0))
    return result


def _stored(session: Session, weeks: Decimal) -> bool:
    """Whether initiative_saving (savings.py) holds every initiative's savings for `weeks`."""
    return kept.stored(session, weeks)


def _stored_savings(session: Session, initiative_ids: list[int] | None, *, weeks: Decimal,
                    first: date, last: date, team_ids: frozenset[int] | None,
                    ) -> dict[int, Savings]:
    """`savings` read off the stored rows: the expected figures summed over the teams asked
    for, the realized ones the stored rate pro-rated over [resolved_on, ∞) like `_realized`."""
    stored, rates = InitiativeSaving, InitiativeRealizing

    def scoped(table: Any, *columns: Any) -> Any:
        query = (select(table.initiative_id, *columns)
                 .join(Initiative, Initiative.id == table.initiative_id)
                 .where(Initiative.deleted_at.is_(None)).group_by(table.initiative_id))
        if initiative_ids is not None:
            query = query.where(table.initiative_id.in_(initiative_ids))
        if team_ids is not None:
            query = query.where(table.team_id.in_(team_ids))
        return query

    share = cost.period_share(day_number(rates.resolved_on), cost.OPEN_ENDED,
                              cost.year_slices(first, last), SQL)
    realized = dict(session.execute(scoped(rates, exact_sum(rates.rate * share))).all())
    result = {
        i: Savings(i, to_decimal(e), to_decimal(lo), to_decimal(hi), to_decimal(realized.get(i)),
                   int(n))
        for i, e, lo, hi, n in session.execute(scoped(
            stored, exact_sum(stored.expected), exact_sum(stored.expected_low),
            exact_sum(stored.expected_high), func.sum(stored.linked)))
    }
    for i in initiative_ids or []:
        result.setdefault(i, Savings(i, *(Decimal(0),) * 4, 0))
    return result


def _among(initiative_ids: list[int]):
    """Initiative.id IN (...), written `id + 0` so that no planner uses the list to drive the
    join: SQLite otherwise probes every link once per listed id for each pain point it reads
    (4 500 ids: 20 s instead of 0.3 s); the join runs from the pain points and the list only
    filters."""
    return (Initiative.id + 0).in_(initiative_ids)


def _realized(weeks: Decimal, first: date, last: date, *, rate: Any = None,
              resolved_on: Any = PainPoint.resolved_on):
    """A realizing link's savings in [first, last]: run-rate as if open × reduction, pro-rated
    over [resolved_on, ∞) like cost in a period (`rate`: a stored run-rate, else computed)."""
    share = cost.period_share(day_number(resolved_on), cost.OPEN_ENDED,
                              cost.year_slices(first, last), SQL)
    return (run_rate("expected", weeks) if rate is None else rate) * _reduction() * share


def _linked(query):
    """Live initiatives joined to their links' pain points (with their hourly cost)."""
    return with_costs(
        query.select_from(Initiative)
        .join(InitiativeLink, InitiativeLink.initiative_id == Initiative.id)
        .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id)
    ).where(Initiative.deleted_at.is_(None))


def realized_total(session: Session, *, weeks: Decimal, first: date, last: date,
                   team_ids: frozenset[int] | None = None) -> Decimal:
    """Σ over every live initiative of `savings(...).realized`: one sum over the realizing links
    only (the overview's tile), instead of every initiative's figures. With the stored run-rates
    in step (pain_points/summary.py) it reads them instead of pricing each pain point."""
    if summary.stored_run_rates(session, weeks):
        # RunRateRank holds the live recurring pain points; resolved_on is set iff resolved.
        stored = RunRateRank
        query = (select(exact_sum(_realized(weeks, first, last, rate=stored.run_rate,
                                            resolved_on=stored.resolved_on)))
                 .select_from(Initiative)
                 .join(InitiativeLink, InitiativeLink.initiative_id == Initiative.id)
                 .join(stored, stored.pain_point_id == InitiativeLink.pain_point_id)
                 .where(Initiative.deleted_at.is_(None), Initiative.delivered_on.is_not(None),
                        stored.resolved_on >= Initiative.delivered_on))
        if team_ids is not None:
            query = query.where(stored.team_id.in_(team_ids))
        return to_decimal(session.scalar(query))
    query = _linked(select(exact_sum(_realized(weeks, first, last)))).where(_realizes())
    if team_ids is not None:
        query = query.where(PainPoint.team_id.in_(team_ids))
    return to_decimal(session.scalar(query))


# --- reads for the initiative pages, the ROI dashboard and the API (appended) ----------------



@dataclass(frozen=True)
class InitiativeFilters:
    # None: every team. Org-wide initiatives (no team) are visible to everyone who may read.
    visible_team_ids: frozenset[int] | None = None
    team_id: int | None = None  # the team filter (see _apply_filters)
    statuses: tuple[InitiativeStatus, ...] = ()
    include_deleted: bool = False


@dataclass
class InitiativeRow:
    initiative: Initiative  # with its links loaded
    team: str | None  # None: org-wide
    team_slug: str | None


def _apply_filters(query, filters: InitiativeFilters, *, stored: bool = False):
    """`stored`: initiative_saving is in step (savings.py); it names the teams each initiative
    links without reading the pain points."""
    if not filters.include_deleted:
        query = query.where(Initiative.deleted_at.is_(None))
    if filters.visible_team_ids is not None:
        query = query.where(or_(Initiative.team_id.is_(None),
                                Initiative.team_id.in_(filters.visible_team_ids)))
    if filters.team_id is not None:
        # "A team filter restricts every metric to that team's pain points": the team's own
        # initiatives, and org-wide ones as far as they link the team's pain points.
        links_team = (select(InitiativeSaving.initiative_id)
                      .where(InitiativeSaving.team_id == filters.team_id) if stored else
                      select(InitiativeLink.initiative_id)
                      .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id)
                      .where(PainPoint.team_id == filters.team_id))
        query = query.where(or_(Initiative.team_id == filters.team_id,
                                and_(Initiative.team_id.is_(None),
                                     Initiative.id.in_(links_team))))
    if filters.statuses:
        query = query.where(Initiative.status.in_(filters.statuses))
    return query


def list_initiatives(session: Session, filters: InitiativeFilters, *, offset: int = 0,
                     limit: int | None = None, with_links: bool = True,
                     ) -> tuple[list[InitiativeRow], int]:
    """Initiatives by title with their team (and links, unless the caller shows figures only:
    at 5 000 initiatives that is 33 000 link objects), one page of them, and the total count."""
    # A team filter names the initiatives linking the team off initiative_saving when built.
    stored = filters.team_id is not None and kept.built(session)
    total = session.scalar(select(func.count()).select_from(
        _apply_filters(select(Initiative.id), filters, stored=stored).subquery())) or 0
    query = select(Initiative, Team.name, Team.slug)
    if with_links:
        query = query.options(selectinload(Initiative.links))
    query = _apply_filters(
        query.outerjoin(Team, Team.id == Initiative.team_id), filters, stored=stored,
    ).order_by(Initiative.title, Initiative.id).offset(offset).limit(limit)
    rows = [InitiativeRow(i, name, slug) for i, name, slug in session.execute(query)]
    return rows, total


def get_initiative_row(session: Session, initiative_id: int, *,
                       visible_team_ids: frozenset[int] | None,
                       include_deleted: bool = False) -> InitiativeRow | None:
    """One initiative the principal may read (another team's is as good as absent)."""
    filters = InitiativeFilters(visible_team_ids=visible_team_ids,
                                include_deleted=include_deleted)
    query = _apply_filters(
        select(Initiative, Team.name, Team.slug).options(selectinload(Initiative.links))
        .outerjoin(Team, Team.id == Initiative.team_id), filters,
    ).where(Initiative.id == initiative_id)
    found = session.execute(query).one_or_none()
    return None if found is None else InitiativeRow(*found)


@dataclass
class Figures:
    """An initiative's headline numbers: savings from SQL, ROI and payback from roi.py."""

    expected: Decimal
    expected_low: Decimal
    expected_high: Decimal
    realized: Decimal  # in [realized_from, realized_to]
    horizon_years: int
    cost: Decimal  # cost(H)
    roi: Decimal | None
    payback_months: Decimal | None  # None: never
    linked: int
    # ROI and cost(H) over every horizon the pages offer, for side-by-side tables.
    roi_by_years: dict[int, Decimal | None]
    cost_by_years: dict[int, Decimal]


HORIZONS = (1, 2, 3)
# SQL arithmetic leaves noise far below a cent (PostgreSQL rounds the PERT mean's division by 6
# at its numeric scale, SQLite computes in floats): 126,040 comes back as 126040.0000000000001
# on one and 126040.0 on the other, and an ROI exactly on a rounding tie would then differ by
# backend. Amounts are settled to a millionth before ROI and payback use them.
SETTLE = Decimal("0.000001")


def _settled(value: Decimal) -> Decimal:
    return value.quantize(SETTLE, rounding=ROUND_HALF_EVEN)


def realized_period(rows: list[InitiativeRow], today: date) -> tuple[date, date]:
    """"Realized to date": from the earliest delivery among `rows` to today (nothing is
    realized before a delivery, so an earlier start would change nothing)."""
    deliveries = [r.initiative.delivered_on for r in rows if r.initiative.delivered_on]
    return min([*deliveries, today]), today


def expected_savings(session: Session, initiative_ids: list[int], *, weeks: Decimal,
                     team_ids: frozenset[int] | None = None) -> dict[int, Decimal]:
    """Each initiative's expected annual savings, settled as initiative_figures settles them
    (`savings(...).expected`): Σ linked run-rate as if open × reduction. With the stored
    run-rates in step (pain_points/summary.py) they are read instead of priced, so that ranking
    thousands of initiatives costs one join."""
    if not summary.stored_run_rates(session, weeks):
        today = clock.today()  # any period: only the expected figures are used
        found = savings(session, initiative_ids, weeks=weeks, first=today, last=today,
                        team_ids=team_ids)
        return {i: _settled(s.expected) for i, s in found.items()}
    stored = RunRateRank  # the live recurring pain points: what `savings` counts
    query = (select(Initiative.id, exact_sum(stored.run_rate * _reduction()))
             .select_from(Initiative)
             .join(InitiativeLink, InitiativeLink.initiative_id == Initiative.id)
             .join(stored, stored.pain_point_id == InitiativeLink.pain_point_id)
             .where(Initiative.deleted_at.is_(None), _among(initiative_ids))
             .group_by(Initiative.id))
    if team_ids is not None:
        query = query.where(stored.team_id.in_(team_ids))
    found = {i: to_decimal(v) for i, v in session.execute(query)}
    return {i: _settled(found.get(i, Decimal(0))) for i in initiative_ids}


def initiative_figures(session: Session, rows: list[InitiativeRow], *, weeks: Decimal,
                       horizon_years: int, first: date, last: date,
                       team_ids: frozenset[int] | None = None) -> dict[int, Figures]:
    """Expected and realized savings of every row in one statement, then ROI over the horizon
    and payback as roi.py defines them."""
    ids = [r.initiative.id for r in rows]
    found = savings(session, ids, weeks=weeks, first=first, last=last, team_ids=team_ids)
    result = {}
    for row in rows:
        i, s = row.initiative, found[row.initiative.id]
        expected = _settled(s.expected)
        years = sorted({horizon_years, *HORIZONS})
        rois = {h: roi.roi(expected, i.one_time_cost, i.yearly_run_cost, h) for h in years}
        costs = {h: roi.cost_over(i.one_time_cost, i.yearly_run_cost, h) for h in years}
        result[i.id] = Figures(
            expected, _settled(s.expected_low), _settled(s.expected_high), _settled(s.realized),
            horizon_years, costs[horizon_years], rois[horizon_years],
            roi.payback_months(expected, i.one_time_cost, i.yearly_run_cost), s.linked,
            rois, costs)
    return result


def realized_by_period(session: Session, initiative_ids: list[int] | None, *, weeks: Decimal,
                       periods: list[tuple[date, date]],
                       team_ids: frozenset[int] | None = None) -> dict[int, list[Decimal]]:
    """Realized savings of each initiative in each of `periods` (inclusive date pairs), in one
    statement: a column per period instead of a statement per period, over the realizing links
    only (an initiative without one has realized nothing)."""
    if not periods:
        return {i: [] for i in initiative_ids or []}
    if _stored(session, weeks):
        rates = InitiativeRealizing  # the realizing links' rate by day resolved (savings.py)
        day = day_number(rates.resolved_on)
        query = (select(rates.initiative_id, *[
            exact_sum(rates.rate * cost.period_share(day, cost.OPEN_ENDED,
                                                     cost.year_slices(a, b), SQL))
            for a, b in periods]).join(Initiative, Initiative.id == rates.initiative_id)
            .where(Initiative.deleted_at.is_(None)).group_by(rates.initiative_id))
        if initiative_ids is not None:
            query = query.where(rates.initiative_id.in_(initiative_ids))
        if team_ids is not None:
            query = query.where(rates.team_id.in_(team_ids))
    else:
        query = _linked(select(Initiative.id, *[exact_sum(_realized(weeks, a, b))
                                                for a, b in periods])
                        ).where(_realizes()).group_by(Initiative.id)
        if initiative_ids is not None:
            query = query.where(_among(initiative_ids))
        if team_ids is not None:
            query = query.where(PainPoint.team_id.in_(team_ids))
    result = {row[0]: [to_decimal(v) for v in row[1:]] for row in session.execute(query)}
    for i in initiative_ids or []:
        result.setdefault(i, [Decimal(0)] * len(periods))
    return result


@dataclass
class LinkedPainPoint:
    pain_point: PainPoint
    team: str
    expected_reduction: Decimal  # percent
    run_rate: Decimal  # as if open; 0 for a one-time pain point (it saves nothing a year)
    run_rate_low: Decimal
    run_rate_high: Decimal
    expected_saving: Decimal  # run-rate × reduction, as `savings` counts it
    realizes: bool  # resolved on or after the initiative's delivery


def linked_team_ids(session: Session, initiative_ids: list[int]) -> dict[int, dict[int, int]]:
    """For each initiative, its linked pain points' ids and teams: {initiative: {pp: team}}
    (deleted pain points included: their links still belong to the initiative)."""
    found: dict[int, dict[int, int]] = {i: {} for i in initiative_ids}
    if not initiative_ids:
        return found
    rows = session.execute(
        select(InitiativeLink.initiative_id, InitiativeLink.pain_point_id, PainPoint.team_id)
        .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id)
        .where(InitiativeLink.initiative_id.in_(initiative_ids)))
    for initiative_id, pain_point_id, team_id in rows:
        found[initiative_id][pain_point_id] = team_id
    return found


def linked_pain_points(session: Session, initiative_id: int, *,
                       weeks: Decimal) -> list[LinkedPainPoint]:
    """The pain points an initiative links, with their as-if-open run-rate and the expected
    saving each brings, largest saving first."""
    def rate(which: str):
        return case((_recurring(), run_rate(which, weeks)), else_=SQL.num(0))

    saving = _saving("expected", weeks)
    query = with_costs(
        select(PainPoint, Team.name, InitiativeLink.expected_reduction, rate("expected"),
               rate("low"), rate("high"), saving, case((_realizes(), True), else_=False))
        .select_from(InitiativeLink)
        .join(Initiative, Initiative.id == InitiativeLink.initiative_id)
        .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id)
        .join(Team, Team.id == PainPoint.team_id)
    ).where(InitiativeLink.initiative_id == initiative_id).order_by(saving.desc(), PainPoint.id)
    return [LinkedPainPoint(pp, team, to_decimal(red), to_decimal(e), to_decimal(lo),
                            to_decimal(hi), to_decimal(s), bool(r))
            for pp, team, red, e, lo, hi, s, r in session.execute(query)]


@dataclass
class Promise:
    """"Did it pay back what we promised?": realized savings in the first 12 months after
    delivery against the expected annual savings."""

    first: date
    last: date  # the 12 months' last day
    counted_to: date  # the last day counted so far (today while the 12 months run)
    complete: bool
    realized: Decimal
    expected: Decimal
    ratio: Decimal | None  # realized ÷ expected; None when nothing was expected


def _year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, month=3, day=1)


def promise(session: Session, initiative: Initiative, *, weeks: Decimal, today: date,
            team_ids: frozenset[int] | None = None) -> Promise | None:
    """None until the initiative is delivered."""
    if initiative.delivered_on is None or initiative.delivered_on > today:
        return None
    first = initiative.delivered_on
    last = _year_after(first) - timedelta(days=1)
    counted_to = min(last, today)
    s = savings(session, [initiative.id], weeks=weeks, first=first, last=counted_to,
                team_ids=team_ids)[initiative.id]
    return Promise(first, last, counted_to, today >= last, s.realized, s.expected,
                   s.realized / s.expected if s.expected else None)


# --- "what to fix next" and the scenario builder ------------------------------------------

@dataclass
class RankedPainPoint:
    pain_point: PainPoint
    team: str
    team_slug: str
    persona: str
    stage: str
    run_rate: Decimal
    run_rate_low: Decimal
    run_rate_high: Decimal
    share: Decimal  # of the total run-rate of every open recurring pain point in scope
    cumulative_share: Decimal


@dataclass
class Ranking:
    rows: list[RankedPainPoint]
    total: Decimal  # the run-rate of all of them, not only the rows shown
    count: int


def ranked_open_pain_points(session: Session, *, team_ids: frozenset[int] | None,
                            weeks: Decimal, limit: int | None = None) -> Ranking:
    """Recurring pain points neither resolved nor deleted, by expected annual run-rate (largest
    first), each with its share of the total friction and the running share, in one statement
    (window sums)."""
    rate = run_rate("expected", weeks)
    order = [rate.desc(), PainPoint.id.desc()]
    total = func.sum(rate).over()
    running = func.sum(rate).over(order_by=order, rows=(None, 0))
    query = with_costs(
        select(PainPoint, Team.name, Team.slug, Persona.name, Stage.name, rate,
               run_rate("low", weeks), run_rate("high", weeks), total, running,
               func.count().over())
        .join(Team, Team.id == PainPoint.team_id).join(Stage, Stage.id == PainPoint.stage_id)
    ).where(_recurring(),
            PainPoint.status != PainPointStatus.resolved).order_by(*order).limit(limit)
    if team_ids is not None:
        query = query.where(PainPoint.team_id.in_(team_ids))
    rows, grand, count = [], Decimal(0), 0
    for pp, team, slug, persona, stage, e, lo, hi, tot, run, n in session.execute(query):
        grand, count = to_decimal(tot), n
        e, run = to_decimal(e), to_decimal(run)
        rows.append(RankedPainPoint(pp, team, slug, persona, stage, e, to_decimal(lo),
                                    to_decimal(hi), e / grand if grand else Decimal(0),
                                    run / grand if grand else Decimal(0)))
    return Ranking(rows, grand, count)


@dataclass
class ScenarioSavings:
    expected: Decimal
    expected_low: Decimal
    expected_high: Decimal
    counted: int  # pain points found (in scope, not deleted)


def scenario_savings(session: Session, links: dict[int, Decimal], weeks: Decimal, *,
                     team_ids: frozenset[int] | None = None) -> ScenarioSavings:
    """Expected annual savings (low/expected/high) of a would-be initiative linking `links`
    ({pain point id: reduction percent}): the sum `savings` computes for a stored one — run-rate
    as if open × reduction; one-time and deleted pain points save nothing a year."""
    if not links:
        return ScenarioSavings(Decimal(0), Decimal(0), Decimal(0), 0)
    reduction = case({pp: SQL.num(r) for pp, r in links.items()},
                     value=PainPoint.id, else_=SQL.num(0)) / SQL.num(100)
    query = with_costs(select(*(exact_sum(_saving(which, weeks, reduction))
                                for which in ("expected", "low", "high")),
                               func.count(PainPoint.id))
                        .select_from(PainPoint)).where(PainPoint.id.in_(list(links)),
                                                       PainPoint.deleted_at.is_(None))
    if team_ids is not None:
        query = query.where(PainPoint.team_id.in_(team_ids))
    e, lo, hi, n = session.execute(query).one()
    return ScenarioSavings(*(_settled(to_decimal(v)) for v in (e, lo, hi)), n or 0)


@dataclass
class LinkChoice:
    """A pain point the links editor offers, with its as-if-open run-rate."""

    pain_point: PainPoint
    team: str
    run_rate: Decimal


def linkable_pain_points(session: Session, *, team_ids: frozenset[int] | None,
                         include_ids: frozenset[int] = frozenset(),
                         weeks: Decimal) -> list[LinkChoice]:
    """Pain points (not deleted) of `team_ids` (None: every team), plus `include_ids` whatever
    their team (the links an initiative has already), by team and largest run-rate first."""
    rate = case((PainPoint.kind == PainPointKind.recurring, run_rate("expected", weeks)),
                else_=SQL.num(0))
    query = with_costs(select(PainPoint, Team.name, rate)
                        .join(Team, Team.id == PainPoint.team_id))
    scope = PainPoint.deleted_at.is_(None)
    if team_ids is not None:
        scope = and_(scope, PainPoint.team_id.in_(team_ids))
    query = query.where(or_(scope, PainPoint.id.in_(include_ids)) if include_ids else scope)
    query = query.order_by(Team.name, rate.desc(), PainPoint.id)
    return [LinkChoice(pp, team, to_decimal(r)) for pp, team, r in session.execute(query)]


def teams_of_pain_points(session: Session, ids: list[int]) -> set[int]:
    """The teams the given pain points (not deleted) belong to."""
    if not ids:
        return set()
    return set(session.scalars(select(PainPoint.team_id).distinct().where(
        PainPoint.id.in_(ids), PainPoint.deleted_at.is_(None))))



# --- the ROI dashboard: ranking, paging and the payback curve in SQL ------------------------

@dataclass
class RoiBoard:
    """The initiatives in scope as the ROI dashboard shows them: counted, ranked twice (by
    expected savings, by ROI over the horizon) and paged, with the figures of those shown."""

    total: int
    with_roi: int  # those that cost something over the horizon (the others have no ROI)
    period: tuple[date, date]  # realized to date: from the earliest delivery to today
    by_savings: list[InitiativeRow]  # the top ones by expected annual savings
    by_roi: list[InitiativeRow]  # the top ones by ROI, only those with one
    table: list[InitiativeRow]  # the page asked for, by ROI, those without one last
    page: int  # the page asked for, at most the last
    pages: int
    figures: dict[int, Figures]  # of every row above
    first_started: date | None  # the earliest start on or before today (the curve's first)


def _title_order(session: Session) -> Any:
    """Titles in code point order, as Python sorts them (PostgreSQL's database collation
    would order case and punctuation otherwise)."""
    if session.get_bind().dialect.name == "postgresql":
        return Initiative.title.collate("C")
    return Initiative.title


def _expected_by_initiative(weeks: Decimal, team_ids: frozenset[int] | None, *,
                            stored: bool) -> Any:
    """(initiative_id, expected): `savings(...).expected`, from the stored rows or live."""
    if stored:
        query = select(InitiativeSaving.initiative_id.label("initiative_id"),
                       exact_sum(InitiativeSaving.expected).label("expected"))
        if team_ids is not None:
            query = query.where(InitiativeSaving.team_id.in_(team_ids))
        return query.group_by(InitiativeSaving.initiative_id).subquery()
    query = _linked(select(Initiative.id.label("initiative_id"),
                           exact_sum(_saving("expected", weeks)).label("expected")))
    if team_ids is not None:
        query = query.where(PainPoint.team_id.in_(team_ids))
    return query.group_by(Initiative.id).subquery()


def _realizing(weeks: Decimal, team_ids: frozenset[int] | None, *, stored: bool) -> Any:
    """(initiative_id, resolved_on, rate): the realizing links' run-rate × reduction by the day
    they were resolved, from the stored rows or live."""
    if stored:
        table = InitiativeRealizing
        query = select(table.initiative_id.label("initiative_id"),
                       table.resolved_on.label("resolved_on"), table.rate.label("rate"))
        if team_ids is not None:
            query = query.where(table.team_id.in_(team_ids))
        return query.subquery()
    query = _linked(select(Initiative.id.label("initiative_id"),
                           PainPoint.resolved_on.label("resolved_on"),
                           exact_sum(run_rate("expected", weeks) * _reduction()).label("rate"))
                    ).where(_realizes())
    if team_ids is not None:
        query = query.where(PainPoint.team_id.in_(team_ids))
    return query.group_by(Initiative.id, PainPoint.resolved_on).subquery()


def roi_board(session: Session, filters: InitiativeFilters, *, team_ids: frozenset[int] | None,
              weeks: Decimal, horizon_years: int, page: int, page_size: int, top: int,
              today: date) -> RoiBoard:
    """The dashboard's initiatives in a few small statements whatever their number: the top
    `top` by expected savings, the top `top` and the page by ROI (with the counts and dates of
    all of them), then those rows and their figures (`initiative_figures`). The order is the one
    `roi.roi` and `_settled` give: expected savings settled to a millionth, ROI =
    (savings × H − cost(H)) ÷ cost(H); ties by title, then id."""
    stored = answers(kept.KEPT, filters) and _stored(session, weeks)
    sums = _expected_by_initiative(weeks, team_ids, stored=stored)
    settled = func.round(func.coalesce(sums.c.expected, SQL.num(0)), 6)
    cost_h = Initiative.one_time_cost + Initiative.yearly_run_cost * horizon_years
    no_roi = cost_h == 0
    roi_value = case((no_roi, None), else_=(settled * horizon_years - cost_h) / cost_h)
    title = _title_order(session)

    def scoped(*columns: Any) -> Any:
        return _apply_filters(select(*columns).select_from(Initiative).outerjoin(
            sums, sums.c.initiative_id == Initiative.id), filters, stored=stored)

    # One statement: both rankings are windows over the same rows, and the page asked for is
    # clamped to the last one by the count that comes with them.
    total = func.count().over()
    pages = case((total <= page_size, 1), else_=(total + (page_size - 1)) // page_size)
    first = (case((pages < page, pages), else_=page) - 1) * page_size
    ranked = scoped(
        Initiative.id.label("id"),
        func.row_number().over(order_by=[settled.desc(), title, Initiative.id]).label("by_s"),
        func.row_number().over(
            order_by=[no_roi, roi_value.desc(), title, Initiative.id]).label("by_roi"),
        no_roi.label("no_roi"), total.label("total"),
        func.count(case((~no_roi, 1))).over().label("with_roi"),
        func.min(Initiative.delivered_on).over().label("first_delivery"),
        func.min(case((Initiative.started_on <= today, Initiative.started_on))).over()
        .label("first_started"), first.label("first"),
    ).subquery()
    c = ranked.c
    found = session.execute(select(ranked).where(or_(
        c.by_s <= top, c.by_roi <= top,
        and_(c.by_roi > c.first, c.by_roi <= c.first + page_size)))).all()
    total, with_roi, first_delivery, first_started = (
        (found[0].total, found[0].with_roi, found[0].first_delivery, found[0].first_started)
        if found else (0, 0, None, None))
    pages = max(1, -(-total // page_size))
    page = min(page, pages)
    first = (page - 1) * page_size
    head = sorted((r for r in found if r.by_s <= top), key=lambda r: r.by_s)
    by_rank = sorted(found, key=lambda r: r.by_roi)

    rows = {r.initiative.id: r for r in _rows_by_id(session, {r.id for r in found})}
    period = (min(first_delivery or today, today), today)
    return RoiBoard(
        total=total, with_roi=with_roi, period=period,
        by_savings=[rows[r.id] for r in head],
        by_roi=[rows[r.id] for r in by_rank if r.by_roi <= top and not r.no_roi],
        table=[rows[r.id] for r in by_rank if first < r.by_roi <= first + page_size],
        page=page, pages=pages,
        figures=initiative_figures(session, list(rows.values()), weeks=weeks,
                                   horizon_years=horizon_years, first=period[0],
                                   last=period[1], team_ids=team_ids),
        first_started=first_started)


def _rows_by_id(session: Session, ids: set[int]) -> list[InitiativeRow]:
    if not ids:
        return []
    query = (select(Initiative, Team.name, Team.slug)
             .outerjoin(Team, Team.id == Initiative.team_id).where(Initiative.id.in_(ids)))
    return [InitiativeRow(i, name, slug) for i, name, slug in session.execute(query)]


@dataclass
class CurveInputs:
    """What the payback curve adds up (figures.payback_points), grouped in SQL: the one-time
    costs by start date, the yearly run costs by delivery date and the realized savings of every
    period, of the initiatives in scope that have started."""

    starts: list[tuple[date, Decimal]]
    deliveries: list[tuple[date, Decimal]]
    realized: list[Decimal]  # per period


def payback_inputs(session: Session, filters: InitiativeFilters, *,
                   team_ids: frozenset[int] | None, weeks: Decimal, today: date,
                   periods: list[tuple[date, date]]) -> CurveInputs:
    """Three statements over the started initiatives in scope (started on or before today):
    their one-time costs by start, their run costs by delivery, and the savings realized in each
    of `periods` (inclusive date pairs), summed by the day each link was resolved first."""
    stored = answers(kept.KEPT, filters) and _stored(session, weeks)
    started = _apply_filters(select(Initiative.id), filters, stored=stored).where(
        Initiative.started_on <= today)
    starts = session.execute(
        started.with_only_columns(Initiative.started_on, func.sum(Initiative.one_time_cost))
        .group_by(Initiative.started_on).order_by(Initiative.started_on)).all()
    deliveries = session.execute(
        started.with_only_columns(Initiative.delivered_on, func.sum(Initiative.yearly_run_cost))
        .where(Initiative.delivered_on.is_not(None), Initiative.yearly_run_cost != 0)
        .group_by(Initiative.delivered_on).order_by(Initiative.delivered_on)).all()
    realized = [Decimal(0)] * len(periods)
    if periods:
        links = _realizing(weeks, team_ids, stored=stored)
        by_day = (select(links.c.resolved_on, exact_sum(links.c.rate).label("rate"))
                  .where(links.c.initiative_id.in_(started.scalar_subquery()))
                  .group_by(links.c.resolved_on).subquery("by_day"))
        found = session.execute(select(*_realized_columns(tuple(periods)))
                                .select_from(by_day)).one()
        realized = [to_decimal(v) for v in found]
    return CurveInputs([(d, to_decimal(v)) for d, v in starts],
                       [(d, to_decimal(v)) for d, v in deliveries], realized)


@lru_cache(maxsize=64)
def _realized_columns(periods: tuple[tuple[date, date], ...]) -> list[Any]:
    """Σ rate × share of each period over the rows of `by_day` (resolved_on, rate), built once
    per set of periods: building the weekday arithmetic of 40 quarters took longer than
    running it."""
    day = day_number(literal_column("by_day.resolved_on"))
    rate = literal_column("by_day.rate", Numeric(asdecimal=True))
    return [exact_sum(rate * cost.period_share(day, cost.OPEN_ENDED, cost.year_slices(a, b),
                                               SQL)) for a, b in periods]


def payback_curve(session: Session, filters: InitiativeFilters, *,
                  team_ids: frozenset[int] | None, weeks: Decimal, today: date,
                  first_started: date | None, fiscal_year_start_month: int,
                  max_quarters: int) -> list[CurvePoint]:
    """Cumulative realized savings and cost at the end of each quarter from the one of the
    earliest start to today's (the latest `max_quarters`), as figures.payback_points adds
    them up; no point when nothing has started."""
    if first_started is None:
        return []
    quarters = quarters_between(quarter_of(first_started, fiscal_year_start_month),
                                quarter_of(today, fiscal_year_start_month))[-max_quarters:]
    periods = [(q.first_day, min(q.last_day, today)) for q in quarters]
    found = payback_inputs(session, filters, team_ids=team_ids, weeks=weeks, today=today,
                           periods=periods)
    # Grouped amounts stand for the initiatives they sum: payback_points only adds them up.
    return payback_points(
        [(q.label, a, b) for q, (a, b) in zip(quarters, periods, strict=True)],
        [*(CurveInitiative(amount, Decimal(0), day, None) for day, amount in found.starts),
         *(CurveInitiative(Decimal(0), amount, None, day) for day, amount in found.deliveries),
         CurveInitiative(Decimal(0), Decimal(0), None, None, found.realized)])

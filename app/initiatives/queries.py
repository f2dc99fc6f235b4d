"""Savings of initiatives, computed by the database from the pain points' run-rates."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.core import clock
from app.core.sql import SQL, day_number
from app.initiatives import roi
from app.initiatives.models import Initiative, InitiativeLink, InitiativeStatus
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


def _reduction() -> object:
    return InitiativeLink.expected_reduction / SQL.num(100)


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
    """
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


def _among(initiative_ids: list[int]):
    """Initiative.id IN (...), written `id + 0` so that no planner uses the list to drive the
    join: SQLite otherwise probes every link once per listed id for each pain point it reads
    (4 500 ids: 20 s instead of 0.3 s); the join runs from the pain points and the list only
    filters."""
    return (Initiative.id + 0).in_(initiative_ids)


def _recurring():
    return and_(PainPoint.kind == PainPointKind.recurring, PainPoint.deleted_at.is_(None))


def _saving(which: str, weeks: Decimal, reduction: Any = None):
    """A link's expected yearly saving (docs/product.md): its pain point's run-rate as if open ×
    the reduction; one-time and deleted pain points save nothing a year."""
    reduction = _reduction() if reduction is None else reduction
    return case((_recurring(), run_rate(which, weeks) * reduction), else_=SQL.num(0))


def _realizes():
    """A link realizes savings: its pain point was resolved on or after the delivery."""
    return and_(_recurring(), Initiative.delivered_on.is_not(None),
                PainPoint.status == PainPointStatus.resolved,
                PainPoint.resolved_on >= Initiative.delivered_on)


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


def _apply_filters(query, filters: InitiativeFilters):
    if not filters.include_deleted:
        query = query.where(Initiative.deleted_at.is_(None))
    if filters.visible_team_ids is not None:
        query = query.where(or_(Initiative.team_id.is_(None),
                                Initiative.team_id.in_(filters.visible_team_ids)))
    if filters.team_id is not None:
        # "A team filter restricts every metric to that team's pain points": the team's own
        # initiatives, and org-wide ones as far as they link the team's pain points.
        links_team = (select(InitiativeLink.initiative_id)
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
    total = session.scalar(select(func.count()).select_from(
        _apply_filters(select(Initiative.id), filters).subquery())) or 0
    query = select(Initiative, Team.name, Team.slug)
    if with_links:
        query = query.options(selectinload(Initiative.links))
    query = _apply_filters(
        query.outerjoin(Team, Team.id == Initiative.team_id), filters,
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


"""The ROI dashboard's figures read off initiative_saving (app/initiatives/savings.py) equal
the live ones and the Python oracle: savings per initiative and team filter, realized savings
per period, the rankings by expected savings and by ROI with their paging, and the payback
curve (docs/product.md's formulas, initiative by initiative)."""

import random
from datetime import date, timedelta
from decimal import Decimal as D
from unittest import mock

import pytest
from sqlalchemy import select

from app.core import derived
from app.core.clock import today
from app.core.periods import quarter_of, quarters_between
from app.initiatives import figures, queries, roi, savings
from app.initiatives.models import Initiative, InitiativeLink
from app.initiatives.queries import InitiativeFilters
from app.pain_points.models import PainPoint
from app.settings.models import OrgSettings
from tests import factories
from tests.helpers import sums_agree

PLACES = D("0.000001")


def live():
    """Every read below computed from the pain points, as without the stored rows."""
    return mock.patch.object(queries, "_stored", lambda *_: False)


@pytest.fixture
def organisation(db):
    """Three teams, 60 pain points (some one-time, resolved or deleted), 40 initiatives of
    every status (some org-wide, some costing nothing, one deleted) linking 0–6 of them."""
    rng = random.Random(18)
    teams = [factories.make_team(db, headcounts={"data-scientist": (rng.randint(2, 30),
                                                                    D(rng.randint(80, 200))),
                                                 "ml-engineer": rng.randint(1, 9)})
             for _ in range(3)]
    now = today()
    pain_points = []
    for n in range(60):
        observed = now - timedelta(days=rng.randint(30, 900))
        resolved = rng.random() < .4
        pain_points.append(factories.make_pain_point(
            db, rng.choice(teams), persona=rng.choice(["data-scientist", "ml-engineer"]),
            kind="one_time" if n % 9 == 0 else "recurring", observed_since=observed,
            people_affected=rng.randint(1, 12), hours_low=D(1),
            hours_likely=D(rng.randint(1, 5)), hours_high=D(rng.randint(5, 9)),
            status="resolved" if resolved else rng.choice(["open", "in_progress", "wont_fix"]),
            resolved_on=observed + timedelta(days=rng.randint(0, (now - observed).days))
            if resolved else None))
    pain_points[3].deleted_at = pain_points[3].created_at
    initiatives = []
    for n in range(40):
        started = now - timedelta(days=rng.randint(-30, 800))
        delivered = (started + timedelta(days=rng.randint(0, 200))
                     if rng.random() < .6 else None)
        initiatives.append(Initiative(
            title=rng.choice(["Feature store", "feature store", "Éval harness", "CI", "Zeta"])
            + (f" {n}" if n % 4 else ""),
            team_id=None if n % 5 == 0 else rng.choice(teams).id,
            status=rng.choice(["proposed", "in_progress", "delivered", "cancelled"]),
            one_time_cost=D(0) if n % 7 == 0 else D(rng.randint(1, 90) * 1000),
            yearly_run_cost=D(rng.choice([0, 0, 1200, 5000])),
            started_on=started if rng.random() < .9 else None,
            delivered_on=delivered if delivered is None or delivered <= now else None))
    db.add_all(initiatives)
    db.flush()
    for initiative in initiatives:
        for pain_point in rng.sample(pain_points, rng.randint(0, 6)):
            db.add(InitiativeLink(initiative_id=initiative.id, pain_point_id=pain_point.id,
                                  expected_reduction=D(rng.randint(0, 100))))
    initiatives[1].deleted_at = initiatives[1].created_at
    db.commit()
    return teams, initiatives


def weeks_of(db) -> D:
    return D(db.get(OrgSettings, 1).working_weeks_per_year)


def test_the_stored_savings_are_the_live_ones(db, organisation):
    teams, initiatives = organisation
    weeks, backend = weeks_of(db), db.get_bind().dialect.name
    assert savings.stored(db, weeks)
    ids = [i.id for i in initiatives]
    first, last = today() - timedelta(days=400), today()
    for team_ids in (None, frozenset({teams[0].id}), frozenset({teams[1].id, teams[2].id})):
        kept = queries.savings(db, ids, weeks=weeks, first=first, last=last, team_ids=team_ids)
        found = queries.live_savings(db, ids, weeks=weeks, first=first, last=last,
                                     team_ids=team_ids)
        assert any(s.realized for s in found.values())  # the data realizes something
        for i in ids:
            assert kept[i].linked == found[i].linked
            for name in ("expected", "expected_low", "expected_high", "realized"):
                assert sums_agree(getattr(kept[i], name), getattr(found[i], name), backend), name
        periods = [(date(2025, 1, 1), date(2025, 3, 31)), (first, last)]
        by_period = queries.realized_by_period(db, ids, weeks=weeks, periods=periods,
                                               team_ids=team_ids)
        with live():
            live_by_period = queries.realized_by_period(db, ids, weeks=weeks, periods=periods,
                                                        team_ids=team_ids)
        assert by_period.keys() == live_by_period.keys()
        for i, values in by_period.items():
            assert all(sums_agree(a, b, backend)
                       for a, b in zip(values, live_by_period[i], strict=True))


@pytest.mark.parametrize("horizon", [1, 3])
def test_the_rankings_and_pages_are_the_python_oracles(db, organisation, horizon):
    """Sorted in SQL, from the stored rows or live, as the dashboard once sorted in Python:
    by settled expected savings, and by roi.roi (those without one last), then title (code
    point order, whatever the database's collation), then id."""
    teams, _ = organisation
    weeks = weeks_of(db)
    statuses = ("proposed", "in_progress", "delivered")
    for team in (None, teams[0]):
        filters = InitiativeFilters(team_id=team.id if team else None, statuses=statuses)
        team_ids = frozenset({team.id}) if team else None
        rows, total = queries.list_initiatives(db, filters, with_links=False)
        expected = queries.expected_savings(db, [r.initiative.id for r in rows], weeks=weeks,
                                            team_ids=team_ids)
        rois = {r.initiative.id: roi.roi(expected[r.initiative.id], r.initiative.one_time_cost,
                                         r.initiative.yearly_run_cost, horizon) for r in rows}
        by_savings = [r.initiative.id for r in sorted(rows, key=lambda r: (
            -expected[r.initiative.id], r.initiative.title, r.initiative.id))]
        by_roi = [r.initiative.id for r in sorted(rows, key=lambda r: (
            rois[r.initiative.id] is None, -(rois[r.initiative.id] or 0), r.initiative.title,
            r.initiative.id))]
        deliveries = [r.initiative.delivered_on for r in rows if r.initiative.delivered_on]
        pages = -(-total // 4)
        for page in (1, 2, pages, pages + 3):
            args = dict(team_ids=team_ids, weeks=weeks, horizon_years=horizon, page=page,
                        page_size=4, top=5, today=today())
            for board in (queries.roi_board(db, filters, **args),
                          _live_board(db, filters, args)):
                shown = min(page, pages)
                assert (board.total, board.page, board.pages) == (total, shown, pages)
                assert board.with_roi == sum(v is not None for v in rois.values())
                assert board.period == (min([*deliveries, today()]), today())
                assert [r.initiative.id for r in board.by_savings] == by_savings[:5]
                assert ([r.initiative.id for r in board.by_roi]
                        == [i for i in by_roi[:5] if rois[i] is not None])
                assert ([r.initiative.id for r in board.table]
                        == by_roi[(shown - 1) * 4:shown * 4])
                figures_of = queries.initiative_figures(
                    db, [*board.by_savings, *board.table], weeks=weeks, horizon_years=horizon,
                    first=board.period[0], last=board.period[1], team_ids=team_ids)
                assert {i: board.figures[i] for i in figures_of} == figures_of


def _live_board(db, filters, args):
    with live():
        return queries.roi_board(db, filters, **args)


def test_the_payback_curve_is_the_one_of_each_initiative(db, organisation):
    """payback_curve sums in SQL what figures.payback_points adds up initiative by initiative
    (each one's realized savings per quarter from realized_by_period, computed live)."""
    teams, _ = organisation
    weeks, now = weeks_of(db), today()
    for team in (None, teams[1]):
        filters = InitiativeFilters(team_id=team.id if team else None,
                                    statuses=("proposed", "in_progress", "delivered"))
        team_ids = frozenset({team.id}) if team else None
        rows, _ = queries.list_initiatives(db, filters, with_links=False)
        started = [r.initiative for r in rows
                   if r.initiative.started_on and r.initiative.started_on <= now]
        first = min(i.started_on for i in started)
        quarters = quarters_between(quarter_of(first, 1), quarter_of(now, 1))[-40:]
        periods = [(q.first_day, min(q.last_day, now)) for q in quarters]
        with live():
            realized = queries.realized_by_period(db, [i.id for i in started], weeks=weeks,
                                                  periods=periods, team_ids=team_ids)
        oracle = figures.payback_points(
            [(q.label, a, b) for q, (a, b) in zip(quarters, periods, strict=True)],
            [figures.CurveInitiative(i.one_time_cost, i.yearly_run_cost, i.started_on,
                                     i.delivered_on, realized[i.id]) for i in started])
        assert oracle[-1].realized > 0
        points = queries.payback_curve(
            db, filters, team_ids=team_ids, weeks=weeks, today=now, first_started=first,
            fiscal_year_start_month=1, max_quarters=40)
        assert [p.label for p in points] == [p.label for p in oracle]
        for p, o in zip(points, oracle, strict=True):
            assert p.cost.quantize(PLACES) == o.cost.quantize(PLACES)
            # The oracle rounds each initiative's sum to 1e-12 (to_decimal) before adding
            # them; the curve sums first: they part below a billionth.
            assert abs(p.realized - o.realized) <= D("1e-9")


def test_other_weeks_are_answered_live_until_maintain_rebuilds(db, organisation):
    _, initiatives = organisation
    org = db.get(OrgSettings, 1)
    org.working_weeks_per_year = D("44")
    db.commit()
    assert not savings.stored(db, D("44"))
    ids = [i.id for i in initiatives]
    args = dict(weeks=D("44"), first=today(), last=today())
    live_figures = queries.savings(db, ids, **args)  # live: the rows are for other weeks
    assert savings.KEPT.name in derived.maintain_all(db)
    db.commit()
    assert savings.stored(db, D("44"))
    assert queries.savings(db, ids, **args).keys() == live_figures.keys()
    stored_figures = queries.savings(db, ids, **args)
    for i in ids:
        assert sums_agree(stored_figures[i].expected, live_figures[i].expected,
                     db.get_bind().dialect.name)


def test_a_link_to_a_hard_deleted_pain_point_leaves_the_savings(db, organisation):
    _, initiatives = organisation
    link = db.scalars(select(InitiativeLink).order_by(InitiativeLink.initiative_id)).first()
    db.delete(db.get(PainPoint, link.pain_point_id))
    db.commit()
    weeks = weeks_of(db)
    ids = [i.id for i in initiatives]
    kept = queries.savings(db, ids, weeks=weeks, first=today(), last=today())
    with live():
        found = queries.savings(db, ids, weeks=weeks, first=today(), last=today())
    assert {i: s.linked for i, s in kept.items()} == {i: s.linked for i, s in found.items()}

"""The cost aggregates the database computes equal docs/product.md's figures, on both backends."""

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal as D

from app.pain_points import cost
from app.pain_points.measures import GroupBy, PainPointFilters
from app.pain_points.queries import cost_figures
from app.core.clock import utcnow
from tests import factories

WEEKS = D(46)
CENT = D("0.01")


def cents(value: D) -> D:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def test_hand_worked_quarter(db):
    team = factories.make_team(db, headcounts={"data-scientist": (10, D("120"))})
    ml = factories.persona(db, "ml-engineer")  # default $120, no override in this team
    factories.make_pain_point(db, team)  # run-rate 13/6 × 10 × 46 × 120 = 119,600
    factories.make_pain_point(db, team, kind="one_time", hours_low=D(12), hours_likely=D(20),
                              hours_high=D(40),
                              observed_since=date(2026, 2, 10))  # 22 h × 10 × 120 = 26,400 once
    factories.make_pain_point(db, team, persona_id=ml.id, hours_low=D(2), hours_likely=D(2),
                              hours_high=D(2), people_affected=5, status="resolved",
                              observed_since=date(2026, 1, 5),
                              resolved_on=date(2026, 2, 2))  # 55,200 a year × 20 of 261 weekdays
    factories.make_pain_point(db, team, deleted_at=utcnow())  # counts nowhere
    [total] = cost_figures(db, PainPointFilters(team_ids=frozenset({team.id})),
                           first=date(2026, 1, 1), last=date(2026, 3, 31), weeks=WEEKS)
    expected = D(119600) * 64 / 261 + D(26400) + D(55200) * 20 / 261
    assert cents(total.cost) == cents(expected) == D("59957.09")
    assert cents(total.annual_run_rate) == D("119600.00")
    assert cents(total.annual_run_rate_low) == D("55200.00")  # 1 h × 10 × 46 × 120
    assert cents(total.annual_run_rate_high) == D("220800.00")
    assert cents(total.hours_per_week) == D("21.67")
    assert total.pain_points == 3


def test_a_whole_year_costs_exactly_the_run_rate(db):
    team = factories.make_team(db, headcounts={"data-scientist": 10})
    factories.make_pain_point(db, team, observed_since=date(2024, 3, 1))
    [year] = cost_figures(db, PainPointFilters(team_ids=frozenset({team.id})),
                          first=date(2026, 1, 1), last=date(2026, 12, 31), weeks=WEEKS)
    assert cents(year.cost) == cents(year.annual_run_rate)


def test_grouping_by_stage_splits_the_total(db):
    team = factories.make_team(db, headcounts={"data-scientist": 10})
    factories.make_pain_point(db, team, stage="deployment")
    factories.make_pain_point(db, team, stage="monitoring", hours_likely=D(3))
    filters = PainPointFilters(team_ids=frozenset({team.id}))
    period = dict(first=date(2026, 1, 1), last=date(2026, 6, 30), weeks=WEEKS)
    groups = cost_figures(db, filters, group_by=GroupBy.stage, **period)
    [total] = cost_figures(db, filters, **period)
    assert [g.key for g in groups] == ["deployment", "monitoring"]  # lifecycle order
    assert cents(sum(g.cost for g in groups)) == cents(total.cost)


def test_database_agrees_with_the_formula_on_random_pain_points(db):
    """The SQL path and the Python path of cost.py give the same cents for every case."""
    rng = random.Random(20261129)
    team = factories.make_team(db, headcounts={"data-scientist": (50, D("97.50"))})
    rate = D("97.50")
    first, last = date(2025, 11, 15), date(2026, 5, 20)
    slices = cost.year_slices(first, last)
    expected_total = D(0)
    for _ in range(40):
        low = D(rng.randint(0, 800)) / 100
        likely = low + D(rng.randint(0, 800)) / 100
        high = likely + D(rng.randint(0, 800)) / 100
        people = rng.randint(1, 50)
        observed = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
        resolved = observed + timedelta(days=rng.randint(0, 300)) if rng.random() < 0.4 else None
        kind = "one_time" if rng.random() < 0.2 else "recurring"
        factories.make_pain_point(db, team, hours_low=low, hours_likely=likely, hours_high=high,
                                  people_affected=people, observed_since=observed, kind=kind,
                                  status="resolved" if resolved else "open", resolved_on=resolved)
        hours = cost.expected_hours(low, likely, high)
        if kind == "recurring":
            end = cost.day_number(resolved) if resolved else cost.OPEN_ENDED
            expected_total += cost.annual_run_rate(hours, people, WEEKS, rate) * cost.period_share(
                cost.day_number(observed), end, slices)
        elif first <= observed <= last:
            expected_total += cost.one_time_cost(hours, people, rate)
    [total] = cost_figures(db, PainPointFilters(team_ids=frozenset({team.id})),
                           first=first, last=last, weeks=WEEKS)
    assert cents(total.cost) == cents(expected_total)

"""The database's value aggregates equal the formulas of app/value/formulas.py, on both
backends: on hand-worked cases and on random portfolios."""

import random
from datetime import date
from decimal import Decimal as D

import pytest

from app.value import formulas as f
from app.value import queries
from app.value.formulas import AnnualValue, Event, Metric, ModelFacts, Observation, Triple
from app.value.queries import ValueFilters
from tests import factories
from tests.value.helpers import random_facts, store
from tests.helpers import at

CENT = D("0.01")
DAILY = AnnualValue(D(3650), D(7300), D(10950))  # PERT 7300: 20 a day in 2025
WEEKLY = AnnualValue(D(5200), D(10400), D(15600))  # 100 / 200 / 300 a week


def near(a: D, b: D | int) -> bool:
    return abs(D(a) - D(b)) <= CENT


def near_triple(a: Triple, b: Triple) -> bool:
    return all(near(getattr(a, n), getattr(b, n)) for n in ("low", "expected", "high"))


def test_hand_worked_value_delivered_in_sql(db):
    team = factories.make_team(db)
    store(db, team, ModelFacts("retired", DAILY, events=[
        Event("deployed", at("2025-01-01", 9)), Event("retired", at("2025-03-01", 8))]))
    store(db, team, ModelFacts("rolled-back", DAILY, events=[
        Event("deployed", at("2025-01-10", 12)), Event("rolled_back", at("2025-01-20", 3))]))
    store(db, team, ModelFacts("measured", DAILY, events=[Event("deployed", at("2024-12-01"))],
                               measured={date(2025, 2, 1): D(500)},
                               compute={date(2025, 1, 1): D(310), date(2025, 2, 1): D(280)}))
    figures = queries.value_figures(db, ValueFilters(team_ids=frozenset({team.id})),
                                    date(2025, 1, 1), date(2025, 2, 14))
    # retired: 31 + 14 days × 20; rolled-back: 22 + 14 days; measured: 31 days + 250 measured.
    expected = (31 + 14) * 20 + (22 + 14) * 20 + 31 * 20 + 250
    assert near(figures.value.expected, expected)
    assert near(figures.value.low, (31 + 14 + 22 + 14 + 31) * 10 + 250)
    assert near(figures.measured, 250) and near(figures.estimated, expected - 250)
    assert near(figures.compute, 310 + 140)
    rows, total = queries.value_by_model(db, ValueFilters(team_ids=frozenset({team.id})),
                                         date(2025, 1, 1), date(2025, 2, 14))
    assert total == 3
    assert [r.name for r in rows] == ["retired", "measured", "rolled-back"]  # 900, 870, 720


def test_hand_worked_cost_of_delay_and_value_at_risk_in_sql(db):
    team = factories.make_team(db)
    scope = ValueFilters(team_ids=frozenset({team.id}))
    # Ideated 44 days before the first deployment: two weeks over a 30-day target.
    store(db, team, ModelFacts("late", WEEKLY, events=[Event("deployed", at("2025-02-14"))]),
          ideated=at("2025-01-01"))
    store(db, team, ModelFacts("fast", WEEKLY, events=[Event("deployed", at("2025-03-01"))]),
          ideated=at("2025-02-20"))
    delay = queries.delay_by_bucket(db, scope, [(0, date(2025, 1, 1), date(2025, 3, 31))], 30)[0]
    assert near_triple(delay.cost, Triple(D(200), D(400), D(600)))
    assert near_triple(delay.week_value, Triple(D(200), D(400), D(600)))
    assert delay.models == 2

    # At 30 June 2025: "late" is fresh, "fast" too; a stale one and a degraded one are at risk.
    store(db, team, ModelFacts("stale", DAILY, events=[Event("deployed", at("2024-06-01"))],
                               measured={date(2025, 4, 1): D(1000), date(2025, 5, 1): D(2000),
                                         date(2025, 6, 1): D(99999)}))
    store(db, team, ModelFacts("drifting", DAILY, events=[Event("deployed", at("2025-03-01", 10))],
                               metrics=[Metric("rmse", False, D("0.05"), [
                                   Observation(0.50, at("2025-02-20")),
                                   Observation(0.40, at("2025-03-02")),
                                   Observation(0.43, at("2025-06-01"))])]))
    store(db, team, ModelFacts("retired-stale", DAILY, events=[
        Event("deployed", at("2024-01-01")), Event("retired", at("2024-06-01"))]))
    risk = queries.value_at_risk(db, scope, date(2025, 6, 30), 180)
    # stale: (1000 + 2000) / 2 × 12 (March has no observation, June is the day's own month);
    # drifting: its PERT estimate.
    assert near_triple(risk.value, Triple(D(18000) + D(3650), D(18000) + D(7300),
                                          D(18000) + D(10950)))
    assert [(m.name, m.reasons) for m in risk.models] == [
        ("stale", ["stale since 2024-11-29 (last deployed 2024-06-01)"]),
        ("drifting", ["rmse degraded: 0.4 → 0.43"])]


@pytest.mark.parametrize("seed", range(4))
def test_random_portfolios_give_the_formulas_figures(db, seed):
    rng = random.Random(seed)
    team = factories.make_team(db, name=f"Random {seed}", slug=f"random-{seed}")
    first = date(2025, 1, 1)
    portfolio = []
    for i in range(25):
        facts, ideated = random_facts(rng, f"m{i}", first, 540)
        model = store(db, team, facts, ideated=ideated)
        deployed = sorted(e.at for e in facts.events if e.type == "deployed")
        if deployed:
            lead = D((deployed[0] - ideated).total_seconds()) / D(86400)
            facts = ModelFacts(facts.name, facts.annual, facts.events, facts.measured,
                               facts.compute, facts.metrics, lead, deployed[0].date())
        portfolio.append((model, facts))
    scope = ValueFilters(team_ids=frozenset({team.id}))
    for period_first, period_last in ((date(2025, 1, 1), date(2025, 3, 31)),
                                      (date(2025, 2, 10), date(2025, 11, 3)),
                                      (date(2026, 1, 1), date(2026, 6, 30))):
        today = date(2026, 5, 20)
        reference = f.summarize([facts for _, facts in portfolio], period_first, period_last,
                                today=today, target_lead_time_days=30, staleness_days=90)
        figures = queries.value_figures(db, scope, period_first, period_last)
        assert near_triple(figures.value, reference.value)
        assert near(figures.measured, reference.measured)
        assert near(figures.estimated, reference.estimated)
        assert near(figures.compute, reference.compute)
        delay = queries.delay_by_bucket(db, scope, [(0, period_first, period_last)], 30)[0]
        assert near_triple(delay.cost, reference.cost_of_delay)
        assert near_triple(delay.week_value, reference.week_value)
        assert delay.models == reference.delay_models
        risk = queries.value_at_risk(db, scope, f.risk_day(period_first, period_last, today),
                                     90, limit=None)
        assert near_triple(risk.value, reference.at_risk)
        assert sorted(m.name for m in risk.models) == sorted(reference.at_risk_models)
        day = f.risk_day(period_first, period_last, today)
        quality = queries.quality_of(db, [m.id for m, _ in portfolio], day)
        for model, facts in portfolio:
            expected = sorted((q.metric, q.status, q.baseline, q.latest) for q in
                              (f.quality_status(m, facts.events, day) for m in facts.metrics))
            assert sorted((q.metric, q.status, q.baseline, q.latest)
                          for q in quality.get(model.id, [])) == expected
        rows, total = queries.value_by_model(db, scope, period_first, period_last)
        by_name = {r.name: r for r in rows}
        for _, facts in portfolio:
            delivered = f.value_delivered(facts, period_first, period_last)
            cost = f.compute_cost(facts, period_first, period_last)
            if facts.name in by_name:
                assert near_triple(by_name[facts.name].figures.value, delivered.value)
                assert near(by_name[facts.name].figures.compute, cost)
            else:
                assert near(delivered.value.expected, 0) and near(cost, 0)
        values = [r.figures.value.expected for r in rows]
        assert values == sorted(values, reverse=True) and total == len(rows)


def test_the_team_filter_restricts_every_figure(db):
    ours, theirs = factories.make_team(db, name="Ours", slug="ours"), factories.make_team(
        db, name="Theirs", slug="theirs")
    for team in (ours, theirs):
        store(db, team, ModelFacts(f"{team.slug}-model", DAILY,
                                   events=[Event("deployed", at("2024-01-01"))]))
    figures = queries.value_figures(db, ValueFilters(team_ids=frozenset({ours.id})),
                                    date(2025, 1, 1), date(2025, 12, 31))
    assert near_triple(figures.value, DAILY.triple)
    risk = queries.value_at_risk(db, ValueFilters(team_ids=frozenset({ours.id})),
                                 date(2025, 12, 31), 180)
    assert [m.name for m in risk.models] == ["ours-model"]
    assert queries.value_at_risk(db, ValueFilters(team_ids=frozenset()), date(2025, 12, 31),
                                 180).count == 0

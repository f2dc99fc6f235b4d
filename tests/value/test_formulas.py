"""docs/product.md's model-value definitions on hand-worked cases, and their properties."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.value import formulas as f
from app.value.formulas import AnnualValue, Event, Metric, ModelFacts, Observation, Triple
from tests.helpers import at

# PERT of (3650, 7300, 10950) is 7300 a year: 20 a day in 2025 (365 days); low 10, high 30.
DAILY = AnnualValue(D(3650), D(7300), D(10950))
# PERT of (5200, 10400, 15600) is 10400 a year: 100 / 200 / 300 a week.
WEEKLY = AnnualValue(D(5200), D(10400), D(15600))


def very_close(a: D, b: D | int | str) -> bool:
    return abs(a - D(b)) < D("1e-12")


def test_pert_and_the_default_direction_of_a_metric():
    assert f.pert(D(3650), D(7300), D(10950)) == D(7300)
    assert [f.default_higher_is_better(n) for n in
            ("auc", "accuracy", "thumbs_up_rate", "rmse", "val_loss", "MAE", "p95_latency_ms",
             "error_rate")] == [True, True, True, False, False, False, False, False]


def test_a_retired_model_earns_nothing_after_its_retirement():
    facts = ModelFacts("scorer", DAILY, events=[Event("deployed", at("2025-01-01", 9)),
                                                Event("retired", at("2025-03-01", 8))])
    # In production 1 Jan – 28 Feb: 59 days of Q1 2025, 20 a day (10 low, 30 high).
    delivered = f.value_delivered(facts, date(2025, 1, 1), date(2025, 3, 31))
    assert delivered.value == Triple(D(590), D(1180), D(1770))
    assert (delivered.measured, delivered.estimated) == (D(0), D(1180))
    assert f.in_production(facts.events, date(2025, 2, 28))
    assert not f.in_production(facts.events, date(2025, 3, 1))
    assert f.value_delivered(facts, date(2025, 4, 1), date(2025, 6, 30)).value == Triple()


def test_a_rollback_does_not_end_production():
    facts = ModelFacts("ranker", DAILY, events=[Event("deployed", at("2025-01-10", 12)),
                                                Event("rolled_back", at("2025-01-20", 3))])
    # 10 – 31 January: 22 days × 20.
    january = f.monthly_value(facts, date(2025, 1, 1))
    assert january == f.MonthValue(Triple(D(220), D(440), D(660)), measured=False)
    assert f.in_production(facts.events, date(2025, 1, 25))
    assert not f.in_production(facts.events, date(2025, 1, 9))


def test_a_redeployment_after_retirement_serves_again_and_a_retirement_wins_on_a_tie():
    events = [Event("deployed", at("2025-01-01")), Event("retired", at("2025-01-11")),
              Event("deployed", at("2025-01-21"))]
    assert f.production_days(events, date(2025, 1, 1), date(2025, 1, 31)) == 10 + 11
    tie = [Event("deployed", at("2025-01-05", 10)), Event("retired", at("2025-01-05", 10))]
    assert not f.in_production(tie, date(2025, 1, 6))


def test_a_measured_month_replaces_the_estimate():
    facts = ModelFacts("fraud", DAILY, events=[Event("deployed", at("2024-12-01"))],
                       measured={date(2025, 2, 1): D(500)})  # 1000 units × 0.50
    # 1 Jan – 14 Feb: January estimated (31 × 20), half of February's measured 500.
    delivered = f.value_delivered(facts, date(2025, 1, 1), date(2025, 2, 14))
    assert delivered.value == Triple(D(310) + D(250), D(620) + D(250), D(930) + D(250))
    assert (delivered.measured, delivered.estimated) == (D(250), D(620))
    # Measured even without an annual estimate, and even when it is negative (a loss).
    loss = ModelFacts("x", None, measured={date(2025, 1, 1): D(-62)})
    assert f.value_delivered(loss, date(2025, 1, 1), date(2025, 1, 31)).value == Triple.flat(
        D(-62))
    assert f.value_delivered(ModelFacts("none"), date(2025, 1, 1), date(2025, 12, 31)).value \
        == Triple()


def test_compute_cost_is_prorated_like_value_and_gives_net_value_and_value_per_dollar():
    facts = ModelFacts("llm", None, compute={date(2025, 1, 1): D(310), date(2025, 2, 1): D(280)})
    cost = f.compute_cost(facts, date(2025, 1, 16), date(2025, 2, 10))
    assert cost == D(160) + D(100)  # 16 of 31 days, 10 of 28 days
    assert f.net_value(D(1000), cost) == D(740)
    assert f.value_per_compute_dollar(D(1000), D(250)) == D(4)
    assert f.value_per_compute_dollar(D(1000), D(0)) is None


def test_cost_of_delay_and_the_value_of_a_week():
    assert f.weekly_value(D(10400)) == D(200)
    # Lead time 44 days against a target of 30: two weeks late.
    assert f.delay_cost(D(10400), D(44), D(30)) == D(400)
    assert f.delay_cost(D(10400), D(20), D(30)) == D(0)
    late = ModelFacts("late", WEEKLY, lead_time_days=D(44), first_deployed=date(2025, 2, 1),
                      events=[Event("deployed", at("2025-02-01"))])
    fast = ModelFacts("fast", WEEKLY, lead_time_days=D(10), first_deployed=date(2025, 3, 1),
                      events=[Event("deployed", at("2025-03-01"))])
    earlier = ModelFacts("earlier", WEEKLY, lead_time_days=D(90),
                         first_deployed=date(2024, 12, 1))
    summary = f.summarize([late, fast, earlier], date(2025, 1, 1), date(2025, 3, 31),
                          today=date(2025, 6, 1), target_lead_time_days=30, staleness_days=180)
    assert summary.cost_of_delay == Triple(D(200), D(400), D(600))
    assert summary.week_value == Triple(D(200), D(400), D(600))
    assert summary.delay_models == 2


def _metric(name, higher, *points, tolerance=D("0.05")):
    return Metric(name, higher, tolerance,
                  [Observation(value, at(day, 12)) for day, value in points])


DEPLOYED = [Event("deployed", at("2025-03-01", 10))]


@pytest.mark.parametrize(("metric", "day", "expected"), [
    # An observation before the deployment is not the baseline: 0.80 is, and 0.79 is within
    # 5 % of it (against 0.95 it would look degraded).
    (_metric("auc", True, ("2025-02-20", 0.95), ("2025-03-02", 0.80), ("2025-06-01", 0.79)),
     date(2025, 6, 30), ("ok", 0.80, 0.79)),
    (_metric("auc", True, ("2025-03-02", 0.80), ("2025-06-01", 0.75)),
     date(2025, 6, 30), ("degraded", 0.80, 0.75)),
    # Lower is better: the rmse rose from 0.40 to 0.43, more than 0.40 + 5 % = 0.42.
    (_metric("rmse", False, ("2025-02-20", 0.50), ("2025-03-02", 0.40), ("2025-06-01", 0.43)),
     date(2025, 6, 30), ("degraded", 0.40, 0.43)),
    (_metric("rmse", False, ("2025-03-02", 0.40), ("2025-06-01", 0.41)),
     date(2025, 6, 30), ("ok", 0.40, 0.41)),
    # Observations after the day do not count; before the first deployment: no baseline.
    (_metric("rmse", False, ("2025-03-02", 0.40), ("2025-06-01", 0.43)),
     date(2025, 5, 31), ("ok", 0.40, 0.40)),
    (_metric("auc", True, ("2025-02-20", 0.95)), date(2025, 2, 25), ("unknown", None, 0.95)),
    (_metric("auc", True, ("2025-02-20", 0.95)), date(2025, 6, 30), ("unknown", None, 0.95)),
])
def test_quality_status(metric, day, expected):
    status = f.quality_status(metric, DEPLOYED, day)
    assert (status.status, status.baseline, status.latest) == expected


def test_a_new_deployment_takes_a_new_baseline():
    events = DEPLOYED + [Event("deployed", at("2025-05-01"))]
    metric = _metric("auc", True, ("2025-03-02", 0.90), ("2025-05-02", 0.80), ("2025-06-01", 0.79))
    assert f.quality_status(metric, events, date(2025, 6, 30)).status == "ok"
    assert f.quality_status(metric, DEPLOYED, date(2025, 6, 30)).status == "degraded"


def test_staleness_counts_days_since_the_latest_deployment():
    events = [Event("deployed", at("2025-01-01", 23))]
    assert not f.is_stale(events, date(2025, 6, 30), 180)  # 180 days: not more than 180
    assert f.is_stale(events, date(2025, 7, 1), 180)
    retired = events + [Event("retired", at("2025-03-01"))]
    assert not f.is_stale(retired, date(2025, 7, 1), 180)  # not in production


def test_value_at_risk_prefers_the_measured_months_before_the_day():
    stale = [Event("deployed", at("2024-01-01"))]
    measured = ModelFacts("fraud", DAILY, events=stale,
                          measured={date(2025, 5, 1): D(1000), date(2025, 6, 1): D(2000),
                                    date(2025, 7, 1): D(9999), date(2025, 1, 1): D(7)})
    # April has none: the average of May and June × 12, July (the day's month) not counted.
    assert f.at_risk_annual_value(measured, date(2025, 7, 15)) == Triple.flat(D(18000))
    estimated = ModelFacts("churn", DAILY, events=stale)
    assert f.at_risk_annual_value(estimated, date(2025, 7, 15)) == DAILY.triple
    summary = f.summarize([measured, estimated, ModelFacts("idle", DAILY)], date(2025, 7, 1),
                          date(2025, 9, 30), today=date(2025, 7, 15), target_lead_time_days=30,
                          staleness_days=180)
    assert summary.at_risk == Triple(D(18000) + D(3650), D(18000) + D(7300),
                                     D(18000) + D(10950))
    assert summary.at_risk_models == ["fraud", "churn"]
    risk = f.risk(measured, date(2025, 7, 15), 180)
    assert risk.reasons == ["stale since 2024-06-30 (last deployed 2024-01-01)"]


def test_a_degraded_metric_puts_a_fresh_model_at_risk_with_its_reason():
    facts = ModelFacts("segments", DAILY, events=DEPLOYED, metrics=[
        _metric("auc", True, ("2025-03-02", 0.80), ("2025-06-01", 0.70))])
    risk = f.risk(facts, date(2025, 6, 30), 180)
    assert risk.reasons == ["auc degraded: 0.8 → 0.7"]
    assert risk.annual_value == DAILY.triple


# --- properties -----------------------------------------------------------------------------

days = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))
money = st.decimals(min_value=0, max_value=10_000_000, places=2)


@st.composite
def annual_values(draw):
    low, likely, high = sorted(draw(st.lists(money, min_size=3, max_size=3)))
    return AnnualValue(low, likely, high)


@st.composite
def facts(draw):
    events = [Event(draw(st.sampled_from(["deployed", "retired", "rolled_back"])),
                    datetime.combine(draw(days), datetime.min.time(), tzinfo=UTC)
                    + timedelta(hours=draw(st.integers(0, 23))))
              for _ in range(draw(st.integers(0, 4)))]
    measured = {f.month_start(draw(days)): draw(st.decimals(-1000, 100000, places=2))
                for _ in range(draw(st.integers(0, 3)))}
    return ModelFacts("m", draw(st.none() | annual_values()), events=events, measured=measured)


@settings(max_examples=60, deadline=None)
@given(facts(), days, days, days)
def test_value_delivered_adds_up_over_adjacent_periods(model, a, b, c):
    first, middle, last = sorted([a, b, c])
    whole = f.value_delivered(model, first, last)
    if middle == last:
        return
    parts = [f.value_delivered(model, first, middle),
             f.value_delivered(model, middle + timedelta(days=1), last)]
    for name in ("low", "expected", "high"):
        assert very_close(sum(getattr(p.value, name) for p in parts), getattr(whole.value, name))
    assert very_close(whole.measured + whole.estimated, whole.value.expected)
    assert whole.value.low <= whole.value.expected + D("1e-12")
    assert whole.value.expected <= whole.value.high + D("1e-12")


@settings(max_examples=40, deadline=None)
@given(annual_values(), st.integers(2023, 2026))
def test_a_whole_year_in_production_delivers_exactly_its_annual_value(annual, year):
    model = ModelFacts("m", annual, events=[Event("deployed", at(f"{year - 1}-06-01"))])
    delivered = f.value_delivered(model, date(year, 1, 1), date(year, 12, 31))
    assert very_close(delivered.value.expected, annual.triple.expected)
    assert very_close(delivered.value.low, annual.low) and very_close(delivered.value.high,
                                                                      annual.high)


@settings(max_examples=60, deadline=None)
@given(facts(), days, days)
def test_rollbacks_never_change_production(model, a, b):
    first, last = sorted([a, b])
    without = [e for e in model.events if e.type != "rolled_back"]
    assert f.production_days(model.events, first, last) == f.production_days(without, first, last)


@settings(max_examples=60, deadline=None)
@given(money, st.decimals(0, 1000, places=2), st.decimals(0, 1000, places=2))
def test_cost_of_delay_grows_with_the_lead_time_and_is_zero_within_target(annual, x, y):
    shorter, longer = sorted([x, y])
    assert f.delay_cost(annual, shorter, D(30)) <= f.delay_cost(annual, longer, D(30))
    if longer <= 30:
        assert f.delay_cost(annual, longer, D(30)) == 0

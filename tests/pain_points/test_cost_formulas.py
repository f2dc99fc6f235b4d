"""docs/product.md's cost formulas on hand-worked cases and as properties (Python numbers)."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pain_points.cost import (
    OPEN_ENDED, annual_run_rate, day_number, expected_hours, one_time_cost, period_share,
    weekdays_between, year_slices,
)


def share(observed: date, resolved: date | None, first: date, last: date) -> D:
    return period_share(day_number(observed), day_number(resolved) if resolved else OPEN_ENDED,
                        year_slices(first, last))


def test_pert_mean():
    assert expected_hours(D(1), D(2), D(4)) == D(13) / D(6)
    assert expected_hours(D(3), D(3), D(3)) == D(3)


def test_run_rate_of_ten_data_scientists_losing_two_hours_a_week():
    # 2 h × 10 people × 46 weeks × $110 = $101,200 a year
    assert annual_run_rate(D(2), 10, D(46), D(110)) == D(101200)


def test_one_time_cost_learning_spark():
    # the seed: 10 data scientists spend 20 h learning Spark, at $110 → $22,000 once
    assert one_time_cost(D(20), 10, D(110)) == D(22000)


@pytest.mark.parametrize("start,end,expected", [
    (date(2026, 1, 1), date(2026, 1, 8), 5),  # Thu..Wed
    (date(2026, 1, 3), date(2026, 1, 5), 0),  # a weekend
    (date(2026, 1, 5), date(2026, 1, 5), 0),  # empty
    (date(2026, 1, 8), date(2026, 1, 1), 0),  # reversed is empty, not negative
    (date(2026, 1, 1), date(2027, 1, 1), 261),  # 2026 starts on a Thursday
    (date(2024, 1, 1), date(2025, 1, 1), 262),  # leap year starting on a Monday
])
def test_weekdays(start, end, expected):
    assert weekdays_between(day_number(start), day_number(end)) == expected


def test_q1_2026_share_of_a_pain_point_open_all_year():
    # Q1 2026 has 22 + 20 + 22 = 64 weekdays out of 261
    assert share(date(2025, 6, 1), None, date(2026, 1, 1), date(2026, 3, 31)) == D(64) / D(261)


def test_resolved_on_is_excluded_and_observed_since_included():
    # observed Monday 2026-03-02, resolved Monday 2026-03-09: five weekdays count
    assert share(date(2026, 3, 2), date(2026, 3, 9), date(2026, 1, 1), date(2026, 12, 31)) == (
        D(5) / D(261)
    )


def test_period_across_a_year_boundary_uses_each_years_weekdays():
    # Dec 2025 (23 weekdays of 261) + Jan 2026 (22 of 261)
    got = share(date(2020, 1, 1), None, date(2025, 12, 1), date(2026, 1, 31))
    assert got == D(23) / D(261) + D(22) / D(261)


def test_period_with_to_before_from_is_refused():
    with pytest.raises(ValueError):
        year_slices(date(2026, 2, 1), date(2026, 1, 1))


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(days, st.one_of(st.none(), days), days, st.integers(0, 800), st.integers(1, 800))
def test_adjacent_periods_add_up_to_their_union(observed, resolved, first, len1, len2):
    if resolved is not None and resolved < observed:
        observed, resolved = resolved, observed
    middle = first + timedelta(days=len1)
    last = middle + timedelta(days=len2)
    whole = share(observed, resolved, first, last)
    parts = share(observed, resolved, first, middle) + share(observed, resolved,
                                                              middle + timedelta(days=1), last)
    assert abs(whole - parts) < D("1e-20")


@given(st.integers(2000, 2100))
def test_a_whole_calendar_year_costs_exactly_the_run_rate(year):
    assert share(date(1999, 1, 1), None, date(year, 1, 1), date(year, 12, 31)) == 1


@given(st.integers(2000, 2100))
def test_four_quarters_add_up_to_the_year(year):
    quarters = [(date(year, m, 1), (date(year, m + 3, 1) if m < 10 else date(year + 1, 1, 1))
                 - timedelta(days=1)) for m in (1, 4, 7, 10)]
    total = sum(share(date(1999, 1, 1), None, a, b) for a, b in quarters)
    assert abs(total - 1) < D("1e-20")


@given(st.decimals(0, 168, places=2), st.decimals(0, 168, places=2), st.decimals(0, 168, places=2))
def test_low_expected_high_are_ordered(a, b, c):
    low, likely, high = sorted([a, b, c])
    assert low <= expected_hours(low, likely, high) <= high

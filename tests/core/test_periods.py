"""Quarter labels and bounds, calendar and fiscal."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.periods import Quarter, parse_quarter, quarter_of


def test_calendar_quarters():
    q = quarter_of(date(2026, 8, 15))
    assert q.label == "2026-Q3"
    assert (q.first_day, q.last_day) == (date(2026, 7, 1), date(2026, 9, 30))
    assert q.previous().label == "2026-Q2" and q.next().label == "2026-Q4"
    assert Quarter(2026, 4).next().label == "2027-Q1"


def test_fiscal_year_starting_in_july_is_named_by_the_year_it_ends():
    q = quarter_of(date(2025, 7, 1), start_month=7)
    assert q.label == "2026-Q1"
    assert (q.first_day, q.last_day) == (date(2025, 7, 1), date(2025, 9, 30))
    assert quarter_of(date(2026, 6, 30), start_month=7).label == "2026-Q4"
    assert parse_quarter("2026-Q3", 7).first_day == date(2026, 1, 1)


def test_february_fiscal_year():
    q = quarter_of(date(2026, 1, 31), start_month=2)
    assert q.label == "2026-Q4"
    assert (q.first_day, q.last_day) == (date(2025, 11, 1), date(2026, 1, 31))


@pytest.mark.parametrize("text", ["2026-Q5", "Q3", "2026Q3", "26-Q1", "2026-Q0", ""])
def test_malformed_quarters_are_refused(text):
    with pytest.raises(ValueError, match="2026-Q3"):
        parse_quarter(text)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 12))
def test_every_day_lies_in_its_quarter_and_quarters_tile_the_year(day, start):
    q = quarter_of(day, start)
    assert q.contains(day)
    assert q.next().first_day == q.last_day + timedelta(days=1)
    assert parse_quarter(q.label, start) == q

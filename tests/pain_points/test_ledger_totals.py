"""The ledger says what the filtered set adds up to, over every page: the run-rate of its
recurring pain points not resolved (with the range) and the one-time efforts once."""

from datetime import timedelta
from decimal import Decimal as D

from app.core import clock
from app.pain_points import cost
from tests import factories
from tests.dashboards.test_pages import add_pain_point
from tests.helpers import soup_of, text_of

WEEKS = D(46)


def _run_rate(low, likely, high, people, rate, which="expected"):
    hours = {"expected": cost.expected_hours(D(low), D(likely), D(high)), "low": D(low),
             "high": D(high)}[which]
    return cost.annual_run_rate(hours, D(people), WEEKS, D(rate))


def test_the_ledger_totals_the_filtered_set(client, db, as_role):
    team = factories.make_team(db, name="Totals", slug="totals",
                               headcounts={"data-scientist": (5, D("100"))})
    other = factories.make_team(db, name="Elsewhere", slug="elsewhere",
                                headcounts={"data-scientist": (5, D("100"))})
    add_pain_point(db, team, title="a", hours_low=D(1), hours_likely=D(2), hours_high=D(4),
                   people_affected=3)
    add_pain_point(db, team, title="b", hours_low=D(2), hours_likely=D(3), hours_high=D(7),
                   people_affected=2, status="wont_fix")
    add_pain_point(db, team, title="resolved", status="resolved",
                   resolved_on=clock.today() - timedelta(days=3))
    add_pain_point(db, team, title="learn", kind="one_time", hours_low=D(10),
                   hours_likely=D(20), hours_high=D(40), people_affected=2)
    add_pain_point(db, other, title="not in the filter", hours_likely=D(3), hours_high=D(40))
    db.commit()
    as_role("leader")
    page = soup_of(client.get("/pain-points?team=totals"))
    recurring = text_of(page.select_one("[data-testid=totals-recurring]"))
    expected = _run_rate(1, 2, 4, 3, 100) + _run_rate(2, 3, 7, 2, 100)
    low = _run_rate(1, 2, 4, 3, 100, "low") + _run_rate(2, 3, 7, 2, 100, "low")
    high = _run_rate(1, 2, 4, 3, 100, "high") + _run_rate(2, 3, 7, 2, 100, "high")
    assert recurring.startswith(f"${expected:,.0f} a year (${low:,.0f} – ${high:,.0f})")
    assert "for the 2 recurring pain points not resolved" in recurring
    once = text_of(page.select_one("[data-testid=totals-one-time]"))
    one_time = cost.one_time_cost(cost.expected_hours(D(10), D(20), D(40)), D(2), D(100))
    assert once.startswith(f"${one_time:,.0f} once ($2,000 – $8,000)")
    assert "for the 1 one-time effort" in once
    # Another filter, another total; nothing matched, no total.
    none = soup_of(client.get("/pain-points?team=totals&q=nothing-matches-this"))
    assert none.select_one("[data-testid=ledger-totals]") is None

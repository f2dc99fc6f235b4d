"""Words that were wrong: the Pareto caption, the LLM-spend legend, the ROI axis, ROI and
payback on /metrics/definitions, "a ml engineer"."""

from datetime import timedelta
from decimal import Decimal as D

from app.core import clock
from app.initiatives import figures as initiative_figures
from tests import factories
from tests.dashboards.test_pages import add_pain_point
from tests.helpers import soup_of, text_of


def test_the_pareto_caption_gives_the_share_and_claims_most_only_when_it_is(client, db,
                                                                             as_role):
    team = factories.make_team(db, name="Spread", slug="spread",
                               headcounts={"data-scientist": (5, D("100"))})
    # Fourteen equal pain points: the ten costliest are 10/14 = 71 % of the run-rate.
    for i in range(14):
        add_pain_point(db, team, title=f"Equal friction {i}")
    db.commit()
    as_role("leader")
    caption = text_of(soup_of(client.get("/dashboards/cost?team=spread")).select_one(
        "[data-testid=pareto-caption]"))
    assert "71.4%" in caption
    assert "most of the cost goes" not in caption
    assert "the other 4 pain points" in caption
    # One more, costlier than all the others together: now the top ten are most of it.
    add_pain_point(db, team, title="The big one", hours_low=D(40), hours_likely=D(60),
                   hours_high=D(80), people_affected=5)
    db.commit()
    caption = text_of(soup_of(client.get("/dashboards/cost?team=spread")).select_one(
        "[data-testid=pareto-caption]"))
    assert "most of the cost goes" in caption


def test_the_roi_charts_read_money_like_every_other_chart():
    bars = [initiative_figures.SavingsBar(1, "SDK", D("200000"), D("150000"), D("250000"),
                                          D("50000"))]
    axis = initiative_figures.expected_vs_realized(bars, "USD")["layout"]["xaxis"]
    assert axis["tickformat"] == "~s" and axis["tickprefix"] == "$"


def test_roi_and_payback_are_defined(client, as_role):
    as_role("viewer")
    page = soup_of(client.get("/metrics/definitions"))
    roi = text_of(page.select_one("section#roi"))
    assert "(expected annual savings × H − cost(H)) ÷ cost(H)" in roi
    payback = text_of(page.select_one("section#payback"))
    assert "one-time cost ÷ (expected annual savings − yearly run cost) × 12" in payback
    assert "never" in payback


def test_a_pain_point_of_ml_engineers_says_an_ml_engineer(client, db, as_role):
    team = factories.make_team(db, name="Words", slug="words",
                               headcounts={"ml-engineer": (4, D("120"))})
    pp = add_pain_point(db, team, persona="ml-engineer", title="Manual deploys",
                        observed_since=clock.today() - timedelta(days=3))
    db.commit()
    as_role("leader")
    text = text_of(soup_of(client.get(f"/pain-points/{pp.id}")))
    assert "the loaded hourly cost of an ML engineer in Words" in text
    assert "every ML engineer in the organisation" in text
    assert " a ml engineer" not in text.lower()

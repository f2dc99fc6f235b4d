"""The ROI dashboard stays the same size however many initiatives there are: the bar charts
draw the top 20 by their measure (and say so), the table ranks every initiative by ROI, 20 a
page, with the ledger's pager; the payback curve stays one aggregate."""

import json
from decimal import Decimal as D

import pytest
from bs4 import BeautifulSoup

from app.dashboards.roi_routes import PAGE_SIZE, TOP_BARS
from app.initiatives.models import Initiative, InitiativeLink
from tests import factories
from tests.helpers import soup_of

HTMX = {"HX-Request": "true"}
N = 30


def chart_data(soup: BeautifulSoup, chart: str) -> dict:
    return json.loads(soup.select_one(f"#{chart} script[type='application/json']").string)


def ranked_ids(soup: BeautifulSoup) -> list[int]:
    return [int(tr["data-initiative"]) for tr in soup.select("[data-testid=ranking] tbody tr")]


@pytest.fixture
def thirty(db) -> list[Initiative]:
    """30 initiatives on one pain point: the more reduction, the more savings; the cost grows
    with the index, so savings and ROI rank them differently. One costs nothing (no ROI)."""
    team = factories.make_team(db, headcounts={"data-scientist": (10, D(120))})
    pain_point = factories.make_pain_point(db, team)
    initiatives = [Initiative(title=f"Initiative {i:02d}", team_id=team.id, status="proposed",
                              one_time_cost=D(0) if i == 0 else D(1000 * i * i))
                   for i in range(N)]
    db.add_all(initiatives)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=i.id, pain_point_id=pain_point.id,
                               expected_reduction=D(n + 1)) for n, i in enumerate(initiatives)])
    db.commit()
    return initiatives


def test_charts_draw_the_top_20_and_say_so(client, db, as_role, thirty):
    assert (TOP_BARS, PAGE_SIZE) == (20, 20)
    as_role("leader")
    soup = soup_of(client.get("/dashboards/roi"))
    savings = chart_data(soup, "savings-chart")
    # Largest expected savings first: the largest reductions.
    by_savings = [str(i.id) for i in reversed(thirty)][:20]
    assert [len(t["y"]) for t in savings["data"]] == [20, 20]
    assert savings["data"][0]["y"] == by_savings
    assert [tr["data-initiative"] for tr in soup.select("#savings-chart tr[data-initiative]")] \
        == by_savings
    roi_bars = chart_data(soup, "roi-chart")["data"][0]
    assert len(roi_bars["y"]) == 20
    assert roi_bars["x"] == sorted(roi_bars["x"], reverse=True)
    notes = [" ".join(n.get_text(" ").split()) for n in soup.select("[data-testid=top-note]")]
    assert notes[0].startswith("Top 20 of 30 initiatives by expected savings")
    assert notes[1].startswith("Top 20 of 29 initiatives by ROI")  # one has no ROI
    assert all(n.select_one("a")["href"] == "#ranking-table"
               for n in soup.select("[data-testid=top-note]"))


def test_the_table_ranks_every_initiative_by_roi_20_a_page(client, db, as_role, thirty):
    as_role("leader")
    first = soup_of(client.get("/dashboards/roi"))
    assert "30 initiatives · page 1 of 2" in first.select_one("[data-testid=result-count]").text
    page_one = ranked_ids(first)
    assert len(page_one) == 20
    # The same ROI order as the chart, continued on page 2.
    assert [str(i) for i in page_one] == chart_data(first, "roi-chart")["data"][0]["y"]
    next_link = first.select_one("nav.pager a[rel=next]")
    assert next_link["href"] == "/dashboards/roi?horizon=3&page=2"
    assert next_link["hx-get"] == next_link["href"] and next_link["hx-push-url"] == "true"
    assert next_link["hx-target"] == "#dashboard"

    second = client.get(next_link["href"], headers=HTMX)
    assert second.status_code == 200 and soup_of(second).find("html") is None
    page_two = ranked_ids(soup_of(second))
    assert len(page_two) == 10 and not set(page_one) & set(page_two)
    assert set(page_one) | set(page_two) == {i.id for i in thirty}
    ranks = [tr.td.get_text(strip=True) for tr in soup_of(second).select(
        "[data-testid=ranking] tbody tr")]
    assert ranks == [str(n) for n in range(21, 30)] + ["—"]  # costing nothing: last, no rank
    assert page_two[-1] == thirty[0].id
    prev = soup_of(second).select_one("nav.pager a[rel=prev]")
    assert prev["href"] == "/dashboards/roi?horizon=3&page=1"
    assert soup_of(second).select_one("nav.pager a[rel=next]") is None
    # The charts are the same on every page.
    assert chart_data(soup_of(second), "roi-chart") == chart_data(first, "roi-chart")


def test_a_page_past_the_end_shows_the_last_and_a_bad_one_is_named(client, db, as_role,
                                                                     thirty):
    as_role("leader")
    assert len(ranked_ids(soup_of(client.get("/dashboards/roi?page=9")))) == 10
    for bad in ("0", "two", "-1"):
        response = client.get(f"/dashboards/roi?page={bad}", headers=HTMX)
        assert response.status_code == 422
        assert "Page:" in soup_of(response).select_one("[role=alert]").get_text(" ")


def test_few_initiatives_need_no_note_and_no_pager(client, db, as_role, thirty):
    for initiative in thirty[5:]:
        initiative.status = "cancelled"
    db.commit()
    as_role("leader")
    soup = soup_of(client.get("/dashboards/roi"))
    assert soup.select("[data-testid=top-note]") == []
    assert soup.select_one("nav.pager") is None
    assert len(ranked_ids(soup)) == 5


def test_the_payback_curve_is_one_aggregate(client, db, as_role, thirty):
    from datetime import timedelta

    from app.core.clock import today

    for initiative in thirty:
        initiative.started_on = today() - timedelta(days=30)
    db.commit()
    as_role("leader")
    curve = chart_data(soup_of(client.get("/dashboards/roi")), "curve-chart")
    assert [t["name"] for t in curve["data"]] == ["Cumulative cost",
                                                  "Cumulative realized savings"]
    # Every one-time cost, not only the 20 charted: Σ 1000 i² for i < 30.
    assert curve["data"][0]["y"][-1] == float(sum(1000 * i * i for i in range(N)))


def test_a_team_filter_counts_only_that_teams_links_as_the_api_does(client, db, as_role):
    """An org-wide initiative linking two teams' pain points: filtered to one team, the
    dashboard's expected savings are that team's share, the figure metrics/roi?team gives."""
    red = factories.make_team(db, headcounts={"data-scientist": (10, D(120))})
    blue = factories.make_team(db, headcounts={"data-scientist": (10, D(120))})
    shared = Initiative(title="Shared feature store", team_id=None, status="proposed",
                        one_time_cost=D(10000))
    db.add(shared)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=shared.id, expected_reduction=D(50),
                               pain_point_id=factories.make_pain_point(db, team).id)
                for team in (red, blue)])
    db.commit()
    as_role("leader")  # signed in: the API answers the session's reads too
    api = client.get("/api/v1/metrics/roi", params={"team": red.slug}).json()
    [item] = [i for i in api["initiatives"] if i["id"] == shared.id]
    # One pain point: 13/6 h × 10 × 46 weeks × $120 = 119,600 a year, half of it saved.
    assert D(item["expected_annual_savings"]) == D("59800.00")
    soup = soup_of(client.get("/dashboards/roi", params={"team": red.slug}))
    bars = chart_data(soup, "savings-chart")["data"]
    expected = dict(zip(bars[0]["y"], bars[0]["x"], strict=True))
    assert D(str(expected[str(shared.id)])) == D("59800")

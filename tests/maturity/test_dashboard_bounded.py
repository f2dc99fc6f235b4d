"""The maturity dashboard at many teams: a team filter that swaps an htmx fragment and pushes
the URL, charts bounded to the 30 best-scored teams (or the teams chosen) with a note of what is
left out, and the teams table paged like the pain-point ledger."""

import pytest

from app.maturity.routes import CHART_TEAMS, PAGE_SIZE
from tests import factories
from tests.helpers import soup_of, text_of
from tests.maturity.test_pages import L1, L2, assess, figures_of

HTMX = {"HX-Request": "true"}


@pytest.fixture
def many(db) -> list:
    """55 teams: 35 assessed with scores 1.0 + k/6 for k = 0…6 (five teams each), 20 never."""
    teams = [factories.make_team(db, name=f"Team {n:02d}", slug=f"team-{n:02d}")
             for n in range(55)]
    for n, team in enumerate(teams[:35]):
        k = n % 7
        assess(db, team, {key: "yes" for key in L1}
               | {key: ("yes" if i < k else "no") for i, key in enumerate(L2)})
    db.commit()
    return teams


def test_charts_draw_the_best_scored_30_and_say_what_is_left_out(client, db, as_role, many):
    assert (CHART_TEAMS, PAGE_SIZE) == (30, 50)
    as_role("leader")
    page = soup_of(client.get("/dashboards/maturity"))
    figs = figures_of(page)
    bars = figs["levels-chart"]["data"][0]
    assert len(bars["y"]) == 30
    # The five teams at 1.0 (n % 7 == 0) are the ones left out.
    assert min(bars["x"]) > 1.0
    assert not {f"Team {n:02d}" for n in range(0, 35, 7)} & set(bars["y"])
    assert len(figs["grid-chart"]["data"][0]["x"]) == 30
    assert len(figs["trend-chart"]["data"]) == 30
    assert len(page.select("#grid-chart thead th")) == 31  # the capability column + 30 teams
    note = text_of(page.select_one("[data-testid=charted-note]"))
    assert "the 30 best-scored of the 35 assessed teams (5 left out)" in note


def test_the_teams_table_pages_every_team(client, db, as_role, many):
    as_role("leader")
    first = soup_of(client.get("/dashboards/maturity"))
    rows = first.select("[data-testid=teams] tbody tr")
    assert len(rows) == 50 and rows[0]["data-team"] == "team-00"
    assert text_of(first.select_one("[data-testid=team-count]")) == "55 teams · page 1 of 2"
    link = first.select_one("nav.pager a[rel=next]")
    assert link["href"] == "/dashboards/maturity?page=2"
    assert (link["hx-get"], link["hx-target"], link["hx-push-url"]) == (
        link["href"], "#dashboard", "true")
    second = client.get(link["href"], headers=HTMX)
    assert second.status_code == 200 and soup_of(second).find("html") is None
    assert [tr["data-team"] for tr in soup_of(second).select("[data-testid=teams] tbody tr")] \
        == [f"team-{n:02d}" for n in range(50, 55)]


def test_a_team_filter_swaps_a_fragment_with_the_teams_chosen(client, db, as_role, many):
    as_role("leader")
    response = client.get("/dashboards/maturity?team=team-00&team=team-07&team=team-50",
                          headers=HTMX)
    assert response.status_code == 200
    page = soup_of(response)
    assert page.find("html") is None and page.find("form") is None
    fragment = soup_of(response)
    # Chosen teams are charted whatever their score; a never-assessed one has no bar.
    assert figures_of(fragment)["levels-chart"]["data"][0]["y"] == ["Team 00", "Team 07"]
    assert fragment.select_one("[data-testid=charted-note]") is None
    assert [tr["data-team"] for tr in fragment.select("[data-testid=teams] tbody tr")] == [
        "team-00", "team-07", "team-50"]
    assert "HX-Request" in response.headers["Vary"]

    full = soup_of(client.get("/dashboards/maturity?team=team-07"))
    form = full.select_one("form[hx-get='/dashboards/maturity']")
    assert (form["hx-target"], form["hx-push-url"]) == ("#dashboard", "true")
    assert full.select_one("#f-team-team-07").has_attr("checked")


@pytest.mark.parametrize(("query", "label"), [("team=nope", "Team"), ("page=0", "Page")])
def test_bad_filters_are_named(client, db, as_role, many, query, label):
    as_role("leader")
    response = client.get(f"/dashboards/maturity?{query}", headers=HTMX)
    assert response.status_code == 422
    assert text_of(soup_of(response).select_one("[data-testid=filter-errors] li")).startswith(
        f"{label}:")


def test_a_viewer_filters_within_its_own_teams(client, db, as_role, many):
    as_role("viewer", teams=[many[1]])
    page = soup_of(client.get("/dashboards/maturity"))
    assert [tr["data-team"] for tr in page.select("[data-testid=teams] tbody tr")] == ["team-01"]
    assert client.get("/dashboards/maturity?team=team-02").status_code == 422

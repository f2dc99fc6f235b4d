"""The model value dashboard and the overview's value tiles as HTML: the figures equal the API,
htmx fragments with pushed URLs, 422 naming the field, team scope, drill-down links, and the
charts are valid Plotly figures."""

import json
from datetime import date
from decimal import Decimal as D

import plotly.graph_objects as go
import pytest
from bs4 import BeautifulSoup

from app.value.formulas import AnnualValue, Event, Metric, ModelFacts, Observation
from tests import factories
from tests.api import bearer
from tests.value.helpers import store
from tests.helpers import at, soup_of

DAILY = AnnualValue(D(3650), D(7300), D(10950))
URL = "/dashboards/value?from=2025-Q1&to=2025-Q2"


def figure(page: BeautifulSoup, figure_id: str) -> dict:
    return json.loads(page.select_one(f"figure#{figure_id} script").string)


@pytest.fixture
def portfolio(db):
    fraud = factories.make_team(db, name="Fraud detection", slug="fraud")
    search = factories.make_team(db, name="Search", slug="search")
    store(db, fraud, ModelFacts("scorer", DAILY, events=[Event("deployed", at("2025-01-01"))],
                                measured={date(2025, 2, 1): D(5000)},
                                compute={date(2025, 1, 1): D(310)}),
          ideated=at("2024-11-01"))
    store(db, search, ModelFacts("ranker", DAILY, events=[Event("deployed", at("2025-03-01"))],
                                 metrics=[Metric("auc", True, D("0.05"), [
                                     Observation(0.9, at("2025-03-02")),
                                     Observation(0.7, at("2025-06-01"))])]),
          ideated=at("2025-02-20"), kind="llm")
    db.commit()
    return fraud, search


def test_the_dashboard_shows_the_apis_figures(client, db, as_role, portfolio):
    as_role("leader")
    page = soup_of(client.get(URL))
    api = client.get("/api/v1/metrics/value", params={"from": "2025-01-01", "to": "2025-06-30"},
                     headers=bearer(db, "leader")).json()
    summary = {n["data-metric"]: D(n["data-value"])
               for n in page.select("[data-testid=value-summary] [data-metric]")}
    assert summary["value-delivered"].quantize(D("0.01")) == D(api["value"]["total"])
    assert summary["net-value"].quantize(D("0.01")) == D(api["net_value"])
    assert summary["cost-of-delay"].quantize(D("0.01")) == D(api["cost_of_delay"]["total"])
    assert summary["value-at-risk"].quantize(D("0.01")) == D(api["value_at_risk"]["total"])
    ranked = [r["data-model"] for r in page.select("table[data-testid=ranked-models] tbody tr")]
    assert ranked == ["scorer", "ranker"]  # by net value
    risk = page.select("table[data-testid=value-at-risk] tbody tr")
    assert [r["data-model"] for r in risk] == ["ranker"]
    assert "auc degraded: 0.9 → 0.7" in risk[0].get_text()
    assert "value was worth" not in page.get_text()
    for figure_id in ("value-by-quarter", "value-vs-compute", "cost-of-delay"):
        go.Figure(figure(page, figure_id))  # valid Plotly properties
    quarters = figure(page, "value-by-quarter")
    assert quarters["data"][0]["x"] == ["2025-Q1", "2025-Q2"]
    assert quarters["data"][0]["customdata"][0] == (
        "/dashboards/value?from=2025-Q1&to=2025-Q1#ranked")
    scatter = figure(page, "value-vs-compute")
    assert [t["name"] for t in scatter["data"]] == ["LLM", "Classical ML", "value = compute"]
    assert scatter["data"][1]["customdata"][0].startswith("/models/")


def test_a_filter_swap_is_a_fragment_with_the_pushed_url(client, db, as_role, portfolio):
    as_role("leader")
    response = client.get(URL + "&team=search", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == "/dashboards/value?team=search&from=2025-Q1&to=2025-Q2"
    page = soup_of(response)
    assert page.find("html") is None and page.find("form") is None
    assert [r["data-model"] for r in page.select("table[data-testid=ranked-models] tbody tr")] \
        == ["ranker"]


def test_a_bad_filter_is_a_422_naming_the_field(client, db, as_role, portfolio):
    as_role("leader")
    response = client.get("/dashboards/value?from=2025-Q9")
    assert response.status_code == 422
    assert "From quarter" in soup_of(response).select_one("[data-testid=filter-errors]").get_text()


def test_a_viewer_sees_its_own_teams_models_only(client, db, as_role, portfolio):
    fraud, _ = portfolio
    as_role("viewer", teams=[fraud])
    page = soup_of(client.get(URL))
    assert [r["data-model"] for r in page.select("table[data-testid=ranked-models] tbody tr")] \
        == ["scorer"]
    assert page.select("table[data-testid=value-at-risk]") == []


def test_the_overview_has_the_value_tiles(client, db, as_role, portfolio):
    as_role("leader")
    page = soup_of(client.get("/?from=2024-Q3&to=2025-Q2"))
    api = client.get("/api/v1/metrics/value", params={"from": "2025-04-01", "to": "2025-06-30"},
                     headers=bearer(db, "leader")).json()
    # The value tiles come after the page has drawn: the page holds their placeholder, whose
    # request carries the page's filters.
    placeholder = page.select_one("li[data-testid=value-tiles-loading]")
    assert "from=2024-Q3" in placeholder["hx-get"] and "to=2025-Q2" in placeholder["hx-get"]
    fragment = client.get(placeholder["hx-get"], headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and soup_of(fragment).find("html") is None
    tiles = {n["data-metric"]: n for n in soup_of(fragment).select("li.kpi")}
    assert set(tiles) == {"value-delivered", "cost-of-delay", "value-at-risk"}
    assert D(tiles["value-delivered"]["data-value"]).quantize(D("0.01")) == D(
        api["value"]["total"])
    assert D(tiles["value-at-risk"]["data-value"]).quantize(D("0.01")) == D(
        api["value_at_risk"]["total"])
    assert "estimated from annual values" in tiles["value-delivered"].get_text()
    assert tiles["cost-of-delay"]["data-n"] == "0"
    lead = json.loads(page.select_one("figure#overview-lead-time script").string)
    assert "cost of delay" in lead["data"][0]["hovertemplate"] + "".join(
        lead["data"][0].get("hovertext", []))


def test_the_statement_count_does_not_grow_with_the_data(client, db, connection, as_role,
                                                           portfolio):
    from sqlalchemy import event

    def count() -> int:
        statements = []

        def listen(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(connection, "before_cursor_execute", listen)
        try:
            assert client.get(URL).status_code == 200
        finally:
            event.remove(connection, "before_cursor_execute", listen)
        return len(statements)

    as_role("leader")
    small = count()
    fraud, _ = portfolio
    for i in range(30):
        store(db, fraud, ModelFacts(f"extra-{i}", DAILY,
                                    events=[Event("deployed", at("2025-01-05"))],
                                    measured={date(2025, 3, 1): D(100 + i)}),
              ideated=at("2024-12-01"))
    db.commit()
    assert count() == small <= 25

"""The demo leader reads the model value dashboard and the overview's value tiles in Chromium:
every chart drawn, a team filter swaps them and pushes the URL, a click on a quarter's bar
narrows to that quarter, the figures equal the metrics API, axe finds nothing serious."""

import json
import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from tests.browser.conftest import artifact, sign_in
from tests.browser.test_dashboards import figure_spec, serious_violations, wait_for_charts

LEADER = "leader@northstar.demo"


def test_value_dashboard_draws_every_chart_and_swaps_with_the_team_filter(page: Page):
    sign_in(page, LEADER)
    page.goto("/dashboards/value")
    assert wait_for_charts(page) == 3
    assert page.locator("figure[data-plotly] details.chart-table").count() == 3
    expect(page.locator("[data-testid=week-sentence]")).to_contain_text("was worth $")
    expect(page.locator("table[data-testid=value-at-risk] tbody tr")).to_have_count(2)
    expect(page.locator("table[data-testid=value-at-risk]")).to_contain_text(
        "silhouette_score degraded")
    scatter = figure_spec(page, "value-vs-compute")
    assert {t["name"] for t in scatter["data"]} == {"LLM", "Classical ML", "value = compute"}
    page.screenshot(path=str(artifact("dashboard-value.png")), full_page=True)
    assert serious_violations(page) == []

    before = figure_spec(page, "value-by-quarter")
    page.get_by_label("Customer segmentation").check()
    expect(page).to_have_url(re.compile(r"/dashboards/value\?team=customer-segmentation&from="))
    page.wait_for_function(
        "b => document.querySelector('figure#value-by-quarter script').textContent !== b",
        arg=json.dumps(before))
    wait_for_charts(page)
    expect(page.locator("table[data-testid=ranked-models]")).to_contain_text("churn-propensity")
    expect(page.locator("table[data-testid=ranked-models]")).not_to_contain_text(
        "home-feed-ranker")
    page.screenshot(path=str(artifact("dashboard-value-segmentation.png")), full_page=True)

    # A click on a quarter's bar narrows the dashboard to that quarter.
    bar = page.locator("figure#value-by-quarter .bars .point path").last
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(r"from=(\d{4}-Q\d)&to=\1"))
    wait_for_charts(page)


def test_overview_value_tiles_equal_the_metrics_api(page: Page, live_server: str):
    sign_in(page, LEADER)
    page.goto("/")
    wait_for_charts(page)
    tile = page.locator("li[data-metric=value-delivered]")
    expect(tile.locator(".kpi-value")).to_contain_text("$")
    expect(page.locator("li[data-metric=cost-of-delay]")).to_be_visible()
    quarter = page.locator("#f-to").input_value()
    year, q = quarter.split("-Q")
    first_month = (int(q) - 1) * 3 + 1
    last_day = {1: "03-31", 2: "06-30", 3: "09-30", 4: "12-31"}[int(q)]
    api = page.request.get(f"/api/v1/metrics/value?from={year}-{first_month:02d}-01"
                           f"&to={year}-{last_day}")
    assert api.status == 200, api.text()
    body = api.json()
    assert Decimal(tile.get_attribute("data-value")).quantize(Decimal("0.01")) == Decimal(
        body["value"]["total"])
    at_risk = body["value_at_risk"].get("count", len(body["value_at_risk"]["models"]))
    expect(page.locator("li[data-metric=value-at-risk] .kpi-n")).to_contain_text(
        f"{at_risk} stale or degraded model")
    risk = page.locator("li[data-metric=value-at-risk]").get_attribute("data-value")
    assert Decimal(risk).quantize(Decimal("0.01")) == Decimal(body["value_at_risk"]["total"])
    page.locator("section[aria-labelledby=kpi-title]").screenshot(
        path=str(artifact("overview-value-tiles.png")))


def test_a_drifting_models_value_page_draws_its_charts(page: Page):
    sign_in(page, LEADER)
    page.goto("/dashboards/value")
    wait_for_charts(page)
    page.locator("table[data-testid=value-at-risk] a", has_text="wholesale-buyer-clusters").click()
    page.wait_for_url(re.compile(r"/models/\d+$"))
    page.get_by_test_id("value-link").click()
    page.wait_for_url(re.compile(r"/models/\d+/value$"))
    assert wait_for_charts(page) == 2  # monthly value, silhouette_score over time
    expect(page.locator("#quality-1")).to_contain_text("degraded")
    expect(page.locator("table[data-testid=kpis] tbody tr")).to_have_count(1)
    page.screenshot(path=str(artifact("model-value.png")), full_page=True)
    assert serious_violations(page) == []

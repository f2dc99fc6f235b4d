"""The demo leader reads the dashboards in Chromium: every chart drawn, no console error; a
filter swaps the charts and pushes the URL; a click on a bar or a heat-map cell lands on the
filtered list; axe-core finds no serious or critical accessibility violation."""

import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import artifact, sign_in

LEADER = "leader@northstar.demo"
DASHBOARDS = [("overview", "/"), ("cost", "/dashboards/cost"),
              ("velocity", "/dashboards/velocity")]
ALL_DRAWN = """() => {
  const figures = [...document.querySelectorAll('figure[data-plotly]')];
  return figures.length > 0 && figures.every(f => f.querySelector('svg.main-svg'));
}"""


def wait_for_charts(page: Page) -> int:
    page.wait_for_function(ALL_DRAWN, timeout=15_000)
    return page.locator("figure[data-plotly]").count()


def figure_spec(page: Page, figure_id: str) -> dict:
    return json.loads(page.locator(f"figure#{figure_id} script[type='application/json']")
                      .text_content())


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("name, path", DASHBOARDS, ids=[name for name, _ in DASHBOARDS])
def test_each_dashboard_draws_its_charts_and_passes_axe(page: Page, name: str, path: str):
    sign_in(page, LEADER)
    page.goto(path)
    count = wait_for_charts(page)
    assert count == {"overview": 2, "cost": 6, "velocity": 5}[name]
    # Every chart keeps its text alternative beside the SVG.
    assert page.locator("figure[data-plotly] details.chart-table").count() == count
    if name == "overview":
        expect(page.locator("li.kpi")).to_have_count(13)
        expect(page.locator("li[data-metric=annual-cost] .kpi-value")).to_contain_text("$")
    page.screenshot(path=str(artifact(f"dashboard-{name}.png")), full_page=True)
    assert serious_violations(page) == []


def test_definitions_page_passes_axe_and_anchors_work(page: Page):
    sign_in(page, LEADER)
    page.goto("/")
    page.locator("li[data-metric=lead-time] a.kpi-label").click()
    expect(page).to_have_url(re.compile(r"/metrics/definitions#lead-time$"))
    expect(page.locator("section#lead-time")).to_be_in_viewport()
    page.screenshot(path=str(artifact("dashboard-definitions.png")), full_page=True)
    assert serious_violations(page) == []


def test_team_filter_swaps_the_charts_and_pushes_the_url(page: Page):
    sign_in(page, LEADER)
    page.goto("/dashboards/cost")
    wait_for_charts(page)
    before = figure_spec(page, "cost-by-stage")
    # Record whether the loading indicator shows while the swap is in flight.
    page.evaluate("""() => { window.busySeen = false;
      new MutationObserver(() => { if (document.querySelector('#busy.htmx-request'))
        window.busySeen = true; }).observe(document.querySelector('#busy'),
        {attributes: true}); }""")
    page.get_by_label("Fraud detection").check()
    expect(page).to_have_url(re.compile(r"/dashboards/cost\?team=fraud-detection&from="))
    page.wait_for_function(
        "before => document.querySelector(\"figure#cost-by-stage script\").textContent !== before",
        arg=json.dumps(before))
    wait_for_charts(page)
    after = figure_spec(page, "cost-by-stage")
    assert page.evaluate("window.busySeen") is True
    assert after["data"][0]["x"] != before["data"][0]["x"]
    assert all("team=fraud-detection" in url for url in after["data"][0]["customdata"])
    team_bars = figure_spec(page, "cost-by-team")["data"][0]["y"]
    assert team_bars == ["Fraud detection"]
    page.screenshot(path=str(artifact("dashboard-cost-fraud-detection.png")), full_page=True)
    # The pushed URL, opened afresh, shows the same view.
    url = page.url
    page.goto(url)
    wait_for_charts(page)
    assert figure_spec(page, "cost-by-stage") == after
    expect(page.get_by_label("Fraud detection")).to_be_checked()
    # A second filter narrows further; the loading indicator is wired to the form.
    assert "#busy" in page.locator("form.dash-filters").get_attribute("hx-indicator")
    page.locator("#f-persona").select_option("data-scientist")
    expect(page).to_have_url(re.compile(r"team=fraud-detection.*persona=data-scientist"))


def test_clicking_a_stage_bar_lists_its_pain_points(page: Page):
    sign_in(page, LEADER)
    page.goto("/dashboards/cost")
    wait_for_charts(page)
    spec = figure_spec(page, "cost-by-stage")
    bar = page.locator("figure#cost-by-stage .bars .point path").first
    bar.scroll_into_view_if_needed()  # the mouse works in viewport coordinates
    box = bar.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    target = spec["data"][0]["customdata"][0]
    page.wait_for_url(re.compile(r"/pain-points\?stage="))
    assert page.url.endswith(target)
    expect(page.get_by_label("Lifecycle stage")).not_to_have_value("")
    expect(page.locator("table.ledger tbody tr").first).to_be_visible()
    page.screenshot(path=str(artifact("dashboard-drilldown-stage.png")), full_page=True)


def test_clicking_a_journey_cell_lists_that_persona_at_that_stage(page: Page):
    sign_in(page, LEADER)
    page.goto("/dashboards/cost")
    wait_for_charts(page)
    heat = figure_spec(page, "journey")["data"][0]
    row, column = next((i, j) for i, cells in enumerate(heat["customdata"])
                       for j, url in enumerate(cells) if url)
    plot_area = page.locator("figure#journey .nsewdrag").first
    plot_area.scroll_into_view_if_needed()  # the mouse works in viewport coordinates
    grid = plot_area.bounding_box()
    assert grid is not None
    # The heat map fills the plot area: one cell per (stage row, persona column).
    x = grid["x"] + (column + 0.5) * grid["width"] / len(heat["x"])
    y = grid["y"] + (row + 0.5) * grid["height"] / len(heat["y"])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(r"/pain-points\?persona=.*&stage="))
    assert page.url.endswith(heat["customdata"][row][column])
    expect(page.locator("table.ledger tbody tr").first).to_be_visible()

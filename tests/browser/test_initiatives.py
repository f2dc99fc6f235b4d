"""The demo PM builds a scenario on "what to fix next", turns it into an initiative, delivers
it, resolves one of its pain points and sees realized savings appear; the ROI dashboard draws
its charts. In Chromium, against the demo organisation."""

import re
from datetime import timedelta
from decimal import Decimal as D

from playwright.sync_api import Page, expect

from app.core.clock import today
from app.pain_points import cost
from app.web.templating import money
from tests.browser.conftest import artifact, sign_in

PICKS = {  # two open recurring pain points of fraud-detection, one of the PM's teams
    "Flaky blue/green deploy of the scoring service": "60",
    "Waiting for data access approvals on PCI card data": "40",
}
RESOLVED = "Flaky blue/green deploy of the scoring service"


def amount(text: str) -> D:
    """"$12,345.67" → Decimal."""
    return D(re.sub(r"[^\d.\-]", "", text.replace("−", "-")))


def near(value: D) -> re.Pattern:
    """The amount shown for `value` computed from run-rates shown in cents: within a cent."""
    cents = value.quantize(D("0.01"))
    return re.compile("^(" + "|".join(re.escape(money(cents + d))
                                      for d in (D("-0.01"), D(0), D("0.01"))) + ")$")


def ranking_row(page: Page, title: str):
    return page.locator("table.ranking tr[data-pain-point]").filter(
        has=page.get_by_text(title, exact=True))


def test_pm_turns_a_scenario_into_an_initiative_that_realizes_savings(page: Page):
    sign_in(page, "pm@northstar.demo")
    page.goto("/initiatives")
    page.get_by_role("link", name="What to fix next").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What to fix next")
    expect(page.get_by_test_id("scenario-empty")).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    rates = {}
    for title, reduction in PICKS.items():
        row = ranking_row(page, title)
        rates[title] = amount(row.locator(".amount").inner_text())
        row.get_by_role("checkbox").check()
        row.locator("input.percent").fill(reduction)
    page.get_by_label("One-time cost (USD)").fill("40000")
    page.get_by_label("Yearly run cost (USD)").fill("5000")

    def projected() -> D:
        return sum((rates[t] * D(r) / 100 for t, r in PICKS.items()), D(0))

    expected = projected()
    shown = page.get_by_test_id("scenario-expected")
    expect(page.get_by_test_id("scenario-count")).to_have_text("2 pain points ticked")
    expect(shown).to_have_text(near(expected))
    months = D(40000) / (amount(shown.inner_text()) - D(5000)) * 12
    expect(page.get_by_test_id("scenario-payback")).to_have_text(f"{months:.1f} months")

    # Changing a reduction updates the projection, still without a reload.
    PICKS[RESOLVED] = "80"
    field = ranking_row(page, RESOLVED).locator("input.percent")
    field.fill("80")
    expect(shown).to_have_text(near(projected()))
    # Leaving the field fires `change`, one more projection: let it land before navigating
    # (an aborted request would fail the test).
    with page.expect_response(re.compile(r"/initiatives/scenario$")):
        field.blur()
    assert page.evaluate("window.__sameDocument") is True
    scenario_savings = shown.inner_text()
    page.screenshot(path=str(artifact("initiatives_next_scenario.png")), full_page=True)
    # The panel stays in view beside the rows being ticked.
    page.screenshot(path=str(artifact("initiatives_scenario_panel.png")))

    page.get_by_role("button", name="Create initiative from this scenario").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New initiative")
    expect(page.get_by_label("Team", exact=True)).to_have_value("fraud-detection")
    expect(page.get_by_label("One-time cost (USD)")).to_have_value("40000")
    for title, reduction in PICKS.items():
        expect(page.get_by_label(title, exact=True)).to_be_checked()
        expect(page.get_by_label(f"Expected reduction of “{title}” (%)")).to_have_value(
            reduction)
    page.get_by_label("Title", exact=True).fill("Safer deploys and faster data access")
    page.get_by_label("Owner").fill("Priya Raman")
    page.get_by_label("Start date").fill((today() - timedelta(days=60)).isoformat())
    page.screenshot(path=str(artifact("initiative_form_from_scenario.png")), full_page=True)
    page.get_by_role("button", name="Create initiative").click()

    expect(page).to_have_url(re.compile(r"/initiatives/\d+$"))
    detail_url = page.url
    expect(page.get_by_role("status").first).to_contain_text("created")
    expect(page.get_by_test_id("expected")).to_have_text(scenario_savings)
    expect(page.get_by_test_id("realized")).to_have_text("$0.00")
    # Plotly loads deferred: let it draw before leaving (an aborted download fails the test).
    expect(page.locator("figure[data-plotly-drawn]")).to_have_count(1)

    # Delivered three weeks ago.
    delivered = today() - timedelta(days=21)
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Status").select_option("delivered")
    page.get_by_label("Delivery date").fill(delivered.isoformat())
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("delivered-on")).to_have_text(delivered.isoformat())
    expect(page.get_by_test_id("promise")).to_contain_text("realized $0.00")
    expect(page.locator("figure[data-plotly-drawn]")).to_have_count(1)

    # Resolve one of its pain points, two weeks ago, on the pain point's own page.
    row = page.locator("table.linked tr[data-pain-point]").filter(has_text=RESOLVED)
    run_rate = amount(row.locator("td").nth(3).inner_text().split("$")[1])
    row.get_by_role("link", name=RESOLVED).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(RESOLVED)
    resolved = today() - timedelta(days=14)
    page.get_by_label("Status", exact=True).select_option("resolved")
    page.get_by_label("Resolved on").fill(resolved.isoformat())
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status").first).to_contain_text("Resolved")

    page.goto(detail_url)
    realized = amount(page.get_by_test_id("realized").inner_text())
    share = cost.period_share(cost.day_number(resolved), cost.OPEN_ENDED,
                              cost.year_slices(delivered, today()))
    assert realized > 0
    assert abs(realized - run_rate * D(PICKS[RESOLVED]) / 100 * share) <= D("0.01")
    expect(page.locator("table.linked tr[data-pain-point]").filter(has_text=RESOLVED)
           ).to_contain_text("yes, since")
    expect(page.locator("#quarters figure, figure#quarters").locator(".main-svg").first
           ).to_be_visible()
    page.screenshot(path=str(artifact("initiative_detail_realized.png")), full_page=True)

    page.goto("/initiatives")
    row = page.locator("tr[data-initiative]").filter(has_text="Safer deploys")
    expect(row.get_by_test_id("realized")).to_have_text(money(realized))
    page.get_by_label("ROI over", exact=True).select_option("1")
    expect(page).to_have_url(re.compile(r"horizon=1"))
    expect(page.get_by_test_id("result-count")).to_contain_text("ROI over 1 year")
    page.screenshot(path=str(artifact("initiatives_list.png")), full_page=True)


def test_roi_dashboard_draws_its_charts(page: Page):
    sign_in(page, "leader@northstar.demo")
    page.goto("/dashboards/roi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Initiatives and ROI")
    drawn = page.locator("figure[data-plotly-drawn]")
    expect(drawn).to_have_count(3)
    for chart in ("savings-chart", "curve-chart", "roi-chart"):
        expect(page.locator(f"#{chart} .main-svg").first).to_be_visible()
    # The text alternative holds the same initiatives.
    page.locator("#roi-chart summary").click()
    expect(page.locator("#roi-chart tr[data-initiative]").first).to_be_visible()
    page.screenshot(path=str(artifact("roi_dashboard.png")), full_page=True)

    # The horizon swaps the charts through htmx and the URL follows.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("ROI over", exact=True).select_option("1")
    expect(page).to_have_url(re.compile(r"horizon=1"))
    expect(page.get_by_role("heading", name="Initiatives ranked by ROI over 1 year")
           ).to_be_visible()
    expect(page.locator("figure[data-plotly-drawn]")).to_have_count(3)
    assert page.evaluate("window.__sameDocument") is True

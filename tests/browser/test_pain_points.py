"""The demo PM logs, previews, saves, edits and resolves a pain point in Chromium, and filters
the ledger through htmx; every cost shown is checked against docs/product.md's formula."""

import re
from datetime import timedelta
from decimal import Decimal as D

from playwright.sync_api import Page, expect

from app.demo.catalog import TEAMS
from app.pain_points import cost
from app.core.clock import today
from app.web.templating import hours, money, money_whole
from tests.browser.conftest import artifact, sign_in

WEEKS = D(46)  # the organisation's default working weeks (the demo keeps it)
RATE = D("110.00")  # the seeded data-scientist default; fraud-detection has no override
PEOPLE = D(next(t for t in TEAMS if t["slug"] == "fraud-detection")["headcounts"]["data-scientist"])


def run_rate(low: int, likely: int, high: int, which: str = "expected") -> D:
    hours = {"expected": cost.expected_hours(D(low), D(likely), D(high)),
             "low": D(low), "high": D(high)}[which]
    return cost.annual_run_rate(hours, PEOPLE, WEEKS, RATE)


def type_into(page: Page, label: str, value: str) -> None:
    """Types like a person (keyup events, no blur): the preview must follow keystrokes."""
    field = page.get_by_label(label, exact=True)
    field.clear()
    field.press_sequentially(value, delay=30)


def test_pm_logs_edits_and_resolves_a_pain_point(page: Page):
    sign_in(page, "pm@northstar.demo")
    page.goto("/pain-points")
    page.get_by_role("link", name="Log a pain point").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a pain point")

    page.get_by_label("Team", exact=True).select_option("fraud-detection")
    page.get_by_label("Persona", exact=True).select_option("data-scientist")
    page.get_by_label("Lifecycle stage").select_option("experimentation")
    page.get_by_label("Title", exact=True).fill("Notebook kernels die on the shared cluster")
    page.get_by_label("Description").fill("Long feature joins run out of memory and restart.")
    page.get_by_label("Observed since").fill((today() - timedelta(days=14)).isoformat())
    page.get_by_role("radio", name=re.compile("Recurring")).check()
    expect(page.get_by_test_id("preview-rate")).to_contain_text(f"{money(RATE)}/h")
    expect(page.get_by_test_id("preview-people")).to_contain_text(str(PEOPLE))
    expect(page.get_by_label("People affected")).to_have_attribute("placeholder", str(PEOPLE))

    type_into(page, "Low", "1")
    type_into(page, "Likely", "2")
    type_into(page, "High", "4")
    expect(page.get_by_test_id("preview-expected")).to_have_text(money_whole(run_rate(1, 2, 4)))
    expect(page.get_by_test_id("preview-range")).to_have_text(
        f"Range: {money_whole(run_rate(1, 2, 4, 'low'))} – "
        f"{money_whole(run_rate(1, 2, 4, 'high'))}")
    type_into(page, "Likely", "3")  # the preview follows as the PM types
    expect(page.get_by_test_id("preview-expected")).to_have_text(money_whole(run_rate(1, 3, 4)))
    page.screenshot(path=str(artifact("pain_point_form_preview.png")), full_page=True)

    page.get_by_role("button", name="Log pain point").click()
    expect(page).to_have_url(re.compile(r"/pain-points/\d+$"))
    expect(page.get_by_role("status").first).to_contain_text("logged")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Notebook kernels die on the shared cluster")
    expected = run_rate(1, 3, 4)
    expect(page.get_by_test_id("breakdown-expected")).to_have_text(
        f"Expected: {hours(cost.expected_hours(D(1), D(3), D(4)))} h/week expected "
        f"(PERT: (1 + 4×3 + 4) / 6) × {PEOPLE} people × 46 weeks × {money(RATE)}/h = "
        f"{money(expected)} a year")
    expect(page.get_by_test_id("cost-expected")).to_have_text(money_whole(expected))
    page.screenshot(path=str(artifact("pain_point_detail.png")), full_page=True)

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Likely", exact=True)).to_have_value("3")
    type_into(page, "High", "10")
    expect(page.get_by_test_id("preview-expected")).to_have_text(money_whole(run_rate(1, 3, 10)))
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(r"/pain-points/\d+$"))
    expect(page.get_by_test_id("cost-expected")).to_have_text(money_whole(run_rate(1, 3, 10)))
    expect(page.get_by_test_id("breakdown-high")).to_contain_text(
        f"= {money(run_rate(1, 3, 10, 'high'))} a year")

    # Resolving asks for the date: the field appears only for "Resolved".
    status_form = page.locator("form[action$='/status']")
    resolved_on = status_form.get_by_label("Resolved on")
    expect(resolved_on).to_be_hidden()
    status_form.get_by_label("Status").select_option("resolved")
    expect(resolved_on).to_be_visible()
    day = (today() - timedelta(days=1)).isoformat()
    resolved_on.fill(day)
    status_form.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Status changed to Resolved on {day}")
    expect(page.locator(".meta .badge").first).to_have_text("Resolved")
    history = page.locator("table.history tbody tr")
    expect(history.first).to_contain_text("Status: Open → Resolved")
    expect(history).to_have_count(3)  # logged, edited, resolved
    page.screenshot(path=str(artifact("pain_point_resolved.png")), full_page=True)


def test_filtering_the_ledger_swaps_the_table_and_pushes_the_url(page: Page):
    sign_in(page, "pm@northstar.demo")
    page.goto("/pain-points")
    rows = page.locator("#results tbody tr[data-pain-point]")
    expect(rows.first).to_be_visible()
    everything = rows.count()
    # A marker on the window survives an htmx swap but not a page load.
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Team", exact=True).select_option("recommendations")
    expect(page).to_have_url(re.compile(r"/pain-points\?team=recommendations"))
    expect(page.locator("#results tbody tr[data-pain-point] td:nth-child(2)").first).to_have_text(
        "Recommendations")
    teams = page.locator("#results tbody tr[data-pain-point] td:nth-child(2)").all_inner_texts()
    assert teams and set(teams) == {"Recommendations"}
    assert len(teams) < everything
    assert page.evaluate("window.__notReloaded === true")
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", re.compile(r"/pain-points/export\.csv\?team=recommendations"))

    page.get_by_label("Search titles and descriptions").press_sequentially("spark", delay=40)
    expect(page).to_have_url(re.compile(r"q=spark"))
    assert page.evaluate("window.__notReloaded === true")
    page.screenshot(path=str(artifact("pain_points_filtered.png")), full_page=True)

    # The pushed URL is a shareable link: opened directly it gives the same rows.
    page.reload()
    expect(page.get_by_label("Team", exact=True)).to_have_value("recommendations")
    expect(page.get_by_label("Search titles and descriptions")).to_have_value("spark")

"""The demo PM reads a model's Plotly timeline, then adds a model and its events in Chromium."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import artifact, sign_in
from tests.helpers import datetime_local


def submit(page: Page, button: str) -> None:
    """Posts a form and waits for the page it leads to, deferred scripts (plotly.js) included:
    leaving a page mid-download would be reported as a failed request."""
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state("load")


def test_pm_reads_a_demo_model_timeline(page: Page):
    sign_in(page, "pm@northstar.demo")
    page.goto("/models")
    expect(page.get_by_role("heading", level=1)).to_have_text("Models")
    page.screenshot(path=str(artifact("models-list.png")), full_page=True)

    # The filters swap the results and push the URL.
    page.get_by_label("Team", exact=True).select_option(label="Fraud detection")
    page.wait_for_url("**/models?team=fraud-detection")
    expect(page.get_by_role("link", name="card-fraud-scorer")).to_be_visible()
    expect(page.get_by_role("link", name="home-feed-ranker")).to_have_count(0)

    # An LLM product: lifecycle events and a compute bill.
    page.get_by_role("link", name="fraud-case-summarizer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("fraud-case-summarizer")
    timeline = page.locator("figure#timeline")
    expect(timeline.locator("svg.main-svg").first).to_be_visible()
    expect(timeline.locator(".scatterlayer .point").first).to_be_visible()
    # Hover labels work under the CSP (Plotly's empty <style> is allowed by its hash).
    # Plotly's drag layer sits on top and computes the hover from the pointer position.
    timeline.locator(".scatterlayer .point").first.hover(force=True)
    expect(timeline.locator(".hoverlayer .hovertext")).to_contain_text("Ideated")
    expect(timeline.locator(".hoverlayer .hovertext")).to_contain_text("source: api")
    compute = page.locator("figure#compute")
    expect(compute.locator("svg.main-svg").first).to_be_visible()
    compute.locator(".barlayer .point").last.hover(force=True)
    expect(compute.locator(".hoverlayer .hovertext")).to_contain_text("GPU hours")
    # The text alternative opens on demand.
    timeline.get_by_text("Show as table").click()
    expect(timeline.get_by_role("cell", name="Ideated").first).to_be_visible()
    page.screenshot(path=str(artifact("models-demo-timeline.png")), full_page=True)

    # The charts follow their container when the window narrows.
    svg = timeline.locator("svg.main-svg").first
    wide = float(svg.get_attribute("width"))
    page.set_viewport_size({"width": 760, "height": 900})
    page.wait_for_function(
        "w => document.querySelector('#timeline svg.main-svg').getAttribute('width') < w",
        arg=wide)
    # ...and keep their height, so the chart never runs over the table below it.
    plot = timeline.locator(".chart-plot").bounding_box()
    table = timeline.locator("details").bounding_box()
    assert plot["height"] == 340 and table["y"] >= plot["y"] + plot["height"]
    page.screenshot(path=str(artifact("models-demo-timeline-narrow.png")), full_page=True)


def test_pm_adds_a_model_and_its_events(page: Page):
    sign_in(page, "pm@northstar.demo")
    page.goto("/models")
    page.get_by_role("link", name="New model").click()
    page.get_by_label("Team", exact=True).select_option(label="Recommendations")
    page.get_by_label("Name").fill("browser-made-recommender")
    page.get_by_label("Use case").fill("Recommendations made in a browser test")
    page.get_by_label("LLM").check()
    page.get_by_label("Low").fill("100000")
    page.get_by_label("Likely").fill("144000")
    page.get_by_label("High").fill("200000")
    page.screenshot(path=str(artifact("models-new-form.png")), full_page=True)
    submit(page, "Create model")

    expect(page.get_by_role("heading", level=1)).to_have_text("browser-made-recommender")
    expect(page.get_by_role("status")).to_contain_text("created")
    expect(page.get_by_text("No lifecycle events yet").first).to_be_visible()

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ideated, deployed = now - timedelta(days=30), now - timedelta(days=9, hours=12)

    page.get_by_label("Event type", exact=True).select_option(label="Ideated")
    page.get_by_label("Occurred at (UTC)").fill(datetime_local(ideated))
    submit(page, "Add event")
    expect(page.get_by_role("status")).to_contain_text("Ideated")

    page.get_by_label("Event type", exact=True).select_option(label="Deployed")
    page.get_by_label("Occurred at (UTC)").fill(datetime_local(deployed))
    page.get_by_label("Version (optional)").fill("1.0")
    submit(page, "Add event")
    expect(page.get_by_role("status")).to_contain_text("Deployed")

    expect(page.get_by_test_id("lead-time")).to_have_text("20.5")
    rows = page.locator("table.events tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Deployed")
    expect(rows.nth(1)).to_contain_text("1.0")
    expect(rows.nth(1)).to_contain_text("Manual")
    timeline = page.locator("figure#timeline")
    expect(timeline.locator("svg.main-svg").first).to_be_visible()
    expect(timeline.locator(".scatterlayer .point")).to_have_count(2)

    page.get_by_label("Month", exact=True).fill(now.strftime("%Y-%m"))
    page.get_by_label("GPU hours").fill("40")
    page.get_by_label("Amount (USD)").fill("1250.50")
    submit(page, "Save compute cost")
    expect(page.get_by_role("status")).to_contain_text("Compute cost")
    expect(page.locator("figure#compute svg.main-svg").first).to_be_visible()
    page.screenshot(path=str(artifact("models-new-model-page.png")), full_page=True)

    page.get_by_role("link", name="All models").click()
    expect(page.get_by_role("link", name="browser-made-recommender")).to_be_visible()

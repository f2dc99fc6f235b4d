"""The demo leader downloads the quarterly summary in all five formats from /reports in
Chromium, and the printable page shows the same headline figures as the overview's tiles."""

import io
import subprocess
import zipfile
from decimal import Decimal

import openpyxl
from playwright.sync_api import Page, expect

from app.core import clock
from app.core.periods import quarter_of
from app.reports import formats
from app.reports.quarterly import METRICS
from tests.browser.conftest import artifact, sign_in

# The demo is loaded relative to today: its last complete quarter (2026-Q3 on 2026-11-29).
QUARTER = quarter_of(clock.today()).previous().label
FORMATS = {  # radio label → (file extension, what its first bytes must be)
    "PDF": ("pdf", b"%PDF-"),
    "Excel workbook (XLSX)": ("xlsx", b"PK"),
    "CSV files (zip)": ("zip", b"PK"),
    "Markdown": ("md", b"# Quarterly summary " + QUARTER.encode()),
    "HTML document": ("html", b"<!doctype html>"),
}
# The report's headline key → the overview tile's data-metric.
OVERVIEW = {"annual_cost": "annual-cost", "quarter_cost": "quarter-cost",
            "hours_per_week": "hours-per-week", "lead_time_median": "lead-time",
            "lead_time_p90": "lead-time-p90", "deployments": "deployments",
            "change_failure_rate": "change-failure-rate", "production_rate": "production-rate",
            "realized_savings": "realized-savings", "llm_spend": "llm-spend",
            "maturity": "maturity"}
# Every status line the page shows, recorded as it changes (the "Preparing…" state is brief).
RECORD_STATUS = """() => {
  window.__statuses = [];
  const status = document.querySelector('[data-report-status]');
  new MutationObserver(() => window.__statuses.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""


def _check_file(ext: str, data: bytes, magic: bytes) -> None:
    assert data.startswith(magic), ext
    if ext == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(data))
        assert book.sheetnames[:2] == ["About", "Headline"]
    elif ext == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert "02-headline.csv" in archive.namelist()


def test_leader_downloads_every_format_and_the_page_matches_the_overview(page: Page):
    sign_in(page, "leader@northstar.demo")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    page.get_by_label("Quarter", exact=True).select_option(QUARTER)
    expect(page.get_by_label("Team", exact=True)).to_have_value("")
    page.evaluate(RECORD_STATUS)
    page.screenshot(path=str(artifact("reports-form.png")), full_page=True)

    status = page.locator("[data-report-status]")
    for label, (ext, magic) in FORMATS.items():
        page.get_by_label(label, exact=True).check()
        with page.expect_download() as info:
            page.get_by_role("button", name="Download").click()
        download = info.value
        name = f"northstar-{QUARTER}.{ext}"
        assert download.suggested_filename == name
        target = artifact(f"report-download.{ext}")
        download.save_as(target)
        data = target.read_bytes()
        assert len(data) > 500, ext
        _check_file(ext, data, magic)
        expect(status).to_have_text(f"Downloaded {name}.")
        expect(page.get_by_role("button", name="Download")).to_be_enabled()
    statuses = page.evaluate("window.__statuses")
    assert "Preparing your PDF…" in statuses and "Preparing your spreadsheet…" in statuses

    # The first page of the PDF, as an image to look at.
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1",
                    str(artifact("report-download.pdf")), str(artifact("report-pdf-page"))],
                   check=True, timeout=60)

    # A bad quarter typed into the URL: the form says what is wrong.
    page.goto("/reports/download?quarter=2026-Q5&format=pdf")
    expect(page.get_by_test_id("report-errors")).to_contain_text("Quarter")
    # Chromium logs the intended 400 as a failed resource; nothing else may be logged.
    expected = [p for p in page.problems if "status of 400" in p]  # type: ignore[attr-defined]
    assert len(expected) == 1
    page.problems.remove(expected[0])  # type: ignore[attr-defined]

    page.goto("/reports")
    page.get_by_label("Quarter", exact=True).select_option(QUARTER)
    page.get_by_role("button", name="Open the printable page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{QUARTER} · Whole organisation")
    expect(page.locator("figure[data-plotly] .chart-plot svg").first).to_be_visible()
    expect(page.locator("figure[data-plotly][data-plotly-drawn]")).to_have_count(4)
    page.screenshot(path=str(artifact("report-printable.png")), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".report-toolbar")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    page.screenshot(path=str(artifact("report-printable-print.png")), full_page=True)
    page.emulate_media(media="screen")
    tiles = {t.get_attribute("data-metric"): t.get_attribute("data-value")
             for t in page.locator(".report-tile[data-metric]").all()}
    assert set(tiles) == {m.key for m in METRICS}

    page.goto(f"/?to={QUARTER}")
    overview = {t.get_attribute("data-metric"): t.get_attribute("data-value")
                for t in page.locator("[data-metric][data-value]").all()}
    kinds = {m.key: m.kind for m in METRICS}
    for key, tile in OVERVIEW.items():
        assert tile in overview, tile
        exact = overview[tile]
        shown = "" if exact == "" else str(formats.rounded(kinds[key], Decimal(exact)))
        assert tiles[key] == shown, (key, tiles[key], exact)

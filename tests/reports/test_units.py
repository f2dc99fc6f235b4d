"""The pure parts of the report: rounding and formats, Markdown escaping, file names, chart
dicts that Plotly accepts, and charts as images (or tables only when Chromium is missing)."""

from datetime import date
from decimal import Decimal

import plotly.graph_objects as go
import pytest

from app.core.periods import Quarter
from app.reports import charts, formats
from app.reports.export import FORMATS, filename
from app.reports.quarterly import Scope
from app.reports.writers.md import escape
from tests.reports.conftest import QUARTER, TEAM
from tests.reports.helpers import report
from tests.helpers import soup_of


@pytest.mark.parametrize(("kind", "value", "plain", "shown"), [
    (formats.MONEY, Decimal("1234.565"), "1234.56", "$1,234.56"),
    (formats.MONEY, Decimal("1234.575"), "1234.58", "$1,234.58"),
    (formats.MONEY, Decimal(-5), "-5.00", "−$5.00"),
    (formats.RATIO, Decimal("0.125"), "0.1250", "12.5%"),
    (formats.DAYS, Decimal("41.456"), "41.46", "41.5"),
    (formats.HOURS, Decimal("1234.5"), "1234.50", "1,234.50"),
    (formats.COUNT, 1234, "1234", "1,234"),
    (formats.SCORE, Decimal("1.4"), "1.40", "1.40"),
    (formats.DATE, date(2026, 7, 1), "2026-07-01", "2026-07-01"),
    (formats.MONEY, None, "", "—"),
])
def test_values_are_rounded_half_even_only_when_written(kind, value, plain, shown):
    assert formats.plain(kind, value) == plain
    assert formats.shown(kind, value, "USD") == shown


def test_markdown_escape_keeps_text_from_becoming_markup():
    assert escape("a | b *c* [d](e) <f> `g` _h_ \\") == (
        "a \\| b \\*c\\* \\[d\\](e) \\<f\\> \\`g\\` \\_h\\_ \\\\")
    assert escape("two\nlines\tand tabs") == "two lines and tabs"


def test_file_names_are_safe():
    class Stub:
        quarter = Quarter(2026, 3)
        scope = Scope(frozenset({1}), "x", team_slug='a"b/../c d')

    assert filename(Stub, FORMATS["xlsx"]) == "northstar-2026-Q3-a-b-..-c-d.xlsx"
    Stub.scope = Scope(frozenset({1, 2}), "Your teams")
    assert filename(Stub, FORMATS["csv"]) == "northstar-2026-Q3-my-teams.zip"
    Stub.scope = Scope(None, "Whole organisation")
    assert filename(Stub, FORMATS["pdf"]) == "northstar-2026-Q3.pdf"


def test_report_charts_are_valid_plotly_figures(db):
    from app.reports import export
    from app.reports.figures import report_figures

    wanted = export.parse_request(db, None, quarter=QUARTER, team=None, fmt="html",
                                  today=date(2026, 11, 29))
    figures = report_figures(export.build(db, wanted, today=date(2026, 11, 29)))
    assert set(figures) == {"cost_by_stage", "cost_by_persona", "velocity_by_month", "maturity"}
    for figure in figures.values():
        go.Figure(figure)  # raises on a misspelt property
        assert all("customdata" not in trace for trace in figure["data"])


def test_the_html_file_carries_its_charts_as_images(client, as_role):
    as_role("leader")
    soup = soup_of(report(client, "html", QUARTER, TEAM))
    images = soup.select("figure.report-chart img")
    assert len(images) == 4, charts.unavailable()
    assert all(img["src"].startswith("data:image/png;base64,") and img["alt"] for img in images)
    assert soup.find("script") is None and soup.find("link") is None  # self-contained


def test_without_chromium_the_report_keeps_its_tables(client, as_role, monkeypatch):
    as_role("leader")
    monkeypatch.setattr(charts, "render_png", lambda figures: {})
    soup = soup_of(report(client, "html", QUARTER, TEAM))
    assert soup.select("figure.report-chart img") == []
    assert "Charts could not be drawn" in soup.get_text()
    assert len(soup.select("table.report-table")) >= 6
    assert report(client, "pdf", QUARTER, TEAM).content.startswith(b"%PDF-")

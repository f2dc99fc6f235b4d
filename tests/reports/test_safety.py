"""Hostile text stored straight through the ORM comes out inert: neutralised in CSV and XLSX
(never a formula), escaped in Markdown and HTML."""

import io
from datetime import date

import openpyxl
import pytest
from markdown_it import MarkdownIt
from sqlalchemy import select

from app.teams.models import Team
from tests import factories
from tests.reports.conftest import QUARTER, TEAM
from tests.reports.helpers import csv_files, report
from tests.helpers import soup_of

HOSTILE = ['=HYPERLINK("http://x")', "@SUM(1)", "+1", "-2", "\tx", "\r=1+1"]


@pytest.fixture
def hostile(db):
    """Pain points with hostile titles, opened in the quarter (so the report lists them)."""
    team = db.scalar(select(Team).where(Team.slug == TEAM))
    for i, title in enumerate(HOSTILE):
        factories.make_pain_point(db, team, title=title, observed_since=date(2026, 8, 3 + i),
                                  hours_low=1, hours_likely=1, hours_high=1, people_affected=1)
    factories.make_pain_point(db, team, title="<script>alert(1)</script> | *bold* [x](http://x)",
                              observed_since=date(2026, 8, 20), people_affected=1)
    db.commit()
    return HOSTILE


def test_xlsx_neutralises_every_text_cell_that_looks_like_a_formula(client, as_role, hostile):
    as_role("leader")
    book = openpyxl.load_workbook(io.BytesIO(report(client, "xlsx", QUARTER, TEAM).content))
    titles = [row[1].value for row in book["Opened"].iter_rows(min_row=2)]
    for title in hostile:
        # XML reads a stored carriage return back as a line feed.
        assert ("'" + title).replace("\r", "\n") in titles, title
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), (
                        sheet.title, cell.coordinate, cell.value)


def test_csv_neutralises_every_text_cell_that_looks_like_a_formula(client, as_role, hostile):
    as_role("leader")
    files = csv_files(report(client, "csv", QUARTER, TEAM).content)
    titles = [row["title"] for row in files["opened"]]
    for title in hostile:
        assert "'" + title in titles, title
    for name, rows in files.items():
        for row in rows:
            for key, value in row.items():
                if value and not _is_number(value):
                    assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, key)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_markdown_and_html_escape_what_they_show(client, as_role, hostile):
    as_role("leader")
    html = MarkdownIt("commonmark").enable("table").render(
        report(client, "md", QUARTER, TEAM).text)
    soup = soup_of(html)
    assert soup.find("script") is None and not soup.select("table a")
    assert "<script>alert(1)</script> | *bold* [x](http://x)" in soup.get_text()
    page = soup_of(client.get("/reports/quarterly",
                                    params={"quarter": QUARTER, "team": TEAM}))
    assert not [s for s in page.find_all("script") if "alert" in s.get_text()]
    assert "<script>alert(1)</script> | *bold* [x](http://x)" in page.get_text()

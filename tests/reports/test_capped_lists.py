"""The report lists at most MAX_INITIATIVES initiatives (the largest expected savings) and
MAX_TEAMS teams (those whose maturity moved most), and says "And N more" in every format;
the headline and the narrative still speak of everything. The caps are lowered to 2 here so
that the demo organisation overflows them."""

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.reports import quarterly
from tests.reports.conftest import QUARTER
from tests.helpers import soup_of

CAP = 2


def download(client, fmt: str):
    response = client.get("/reports/download", params={"quarter": QUARTER, "format": fmt})
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
def whole(client, leader) -> dict:
    """The report as JSON with the real caps, which the demo organisation does not reach."""
    data = client.get("/api/v1/reports/quarterly", params={"quarter": QUARTER}).json()
    initiatives, maturity = data["listed"]["initiatives"], data["listed"]["maturity"]
    assert initiatives["listed"] == initiatives["total"] > CAP
    assert maturity["listed"] == maturity["total"] > CAP
    return data


@pytest.fixture
def capped(monkeypatch, whole) -> dict:
    monkeypatch.setattr(quarterly, "MAX_INITIATIVES", CAP)
    monkeypatch.setattr(quarterly, "MAX_TEAMS", CAP)
    return whole


def test_json_lists_the_largest_and_keeps_every_total(client, capped):
    whole = capped
    data = client.get("/api/v1/reports/quarterly", params={"quarter": QUARTER}).json()
    assert data["headline"] == whole["headline"] and data["narrative"] == whole["narrative"]
    total = whole["listed"]["initiatives"]["total"]
    assert data["listed"]["initiatives"] == {"listed": CAP, "total": total}
    largest = sorted(whole["sections"]["initiatives"],
                     key=lambda i: (-Decimal(i["expected"]), i["title"]))[:CAP]
    assert sorted(i["id"] for i in data["sections"]["initiatives"]) == sorted(
        i["id"] for i in largest)
    teams = whole["listed"]["maturity"]["total"]
    assert data["listed"]["maturity"] == {"listed": CAP, "total": teams}
    moved = [m for m in whole["sections"]["maturity"] if m["level"] != m["previous_level"]
             or (m["change"] and Decimal(m["change"]))]
    listed = data["sections"]["maturity"]
    assert len(listed) == CAP and all(m in moved for m in listed)


def test_every_format_says_how_many_more(client, capped):
    more_initiatives = capped["listed"]["initiatives"]["total"] - CAP
    more_teams = capped["listed"]["maturity"]["total"] - CAP
    initiatives_line = f"And {more_initiatives:,} more initiatives"
    teams_line = f"And {more_teams:,} more teams"

    md = download(client, "md").text
    assert f"*{initiatives_line}" in md and f"*{teams_line}" in md

    # The standalone document is also the PDF's source.
    soup = soup_of(download(client, "html"))
    assert soup.select_one("[data-testid=more-initiatives]").get_text().startswith(
        initiatives_line)
    assert soup.select_one("[data-testid=more-maturity]").get_text().startswith(teams_line)
    assert len(soup.select("[data-section=initiatives] tbody tr")) == CAP
    page = soup_of(client.get("/reports/quarterly", params={"quarter": QUARTER}))
    assert page.select_one("[data-testid=more-initiatives]") is not None

    book = load_workbook(io.BytesIO(download(client, "xlsx").content))
    sheet = book["Initiatives"]
    assert sheet.cell(row=CAP + 3, column=1).value.startswith(initiatives_line)
    assert sheet.auto_filter.ref.endswith(str(CAP + 1))  # the line is not a data row
    assert book["Maturity"].cell(row=CAP + 3, column=1).value.startswith(teams_line)

    archive = zipfile.ZipFile(io.BytesIO(download(client, "csv").content))
    about = dict(csv.reader(io.StringIO(
        archive.read("01-about.csv").decode("utf-8-sig"))))
    assert about["initiatives_listed"] == str(CAP)
    assert about["initiatives_total"] == str(CAP + more_initiatives)
    assert about["maturity_total"] == str(CAP + more_teams)
    rows = list(csv.reader(io.StringIO(archive.read(next(
        n for n in archive.namelist() if n.endswith("-initiatives.csv"))).decode("utf-8-sig"))))
    assert len(rows) == CAP + 1  # the header and the rows listed, nothing else


def test_nothing_more_is_said_when_everything_is_listed(client, whole):
    md = download(client, "md").text
    assert "more initiatives" not in md and "more teams" not in md

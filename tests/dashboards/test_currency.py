"""An organisation in yen sees "¥…" alike on the tiles, in the tables, on the chart axes and
hovers, on a pain point's page and in the exported report: one formatter writes them all."""

import io
import re
from decimal import Decimal as D

import openpyxl

from app.core import clock
from app.core.periods import quarter_of
from app.reports import formats
from app.settings.service import get_org_settings
from tests import factories
from tests.helpers import figure_json, soup_of


def in_yen(db):
    org = get_org_settings(db)
    org.currency = "JPY"
    team = factories.make_team(db, headcounts={"data-scientist": (10, D("8000.50"))})
    pain_point = factories.make_pain_point(db, team, persona="data-scientist",
                                           observed_since=clock.today().replace(day=1))
    db.commit()
    return org, team, pain_point


def amounts(nodes) -> list[str]:
    return [" ".join(n.get_text(" ").split()) for n in nodes]


def test_a_yen_organisation_sees_yen_on_tiles_tables_and_charts(client, db, as_role):
    org, _, pain_point = in_yen(db)
    as_role("leader")
    current = quarter_of(clock.today(), org.fiscal_year_start_month)

    overview = soup_of(client.get(f"/?to={current.label}"), status=200)
    tile = overview.select_one("li[data-metric=annual-cost]")
    assert tile.select_one(".kpi-value").get_text().startswith("¥")
    assert tile.select_one(".kpi-range").get_text().startswith("range ¥")

    cost = soup_of(client.get(f"/dashboards/cost?to={current.label}"), status=200)
    assert "¥" in cost.select_one("[data-testid=cost-summary] strong").get_text()
    # A year, low and high; then hours a week and pain points.
    cells = amounts(cost.select("figure#cost-by-stage tbody tr")[0].select("td.num"))[:3]
    assert len(cells) == 3 and all(c.startswith("¥") for c in cells), cells
    # No minor unit: the yen has none, and the code is never written after the amount.
    assert not any("." in c or "JPY" in c for c in cells), cells
    chart = figure_json(cost, "cost-by-stage")
    assert chart["layout"]["xaxis"]["tickprefix"] == "¥"
    assert all("¥" in hover for hover in chart["data"][0]["hovertext"])

    detail = soup_of(client.get(f"/pain-points/{pain_point.id}"), status=200)
    expected = detail.select_one("[data-testid=cost-expected]").get_text()
    assert expected.startswith("¥") and "." not in expected and "JPY" not in expected


def test_the_report_writes_yen_like_the_pages(client, db, as_role):
    org, _, _ = in_yen(db)
    as_role("admin")
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    download = "/reports/download"
    xlsx = client.get(download, params={"quarter": current.label, "format": "xlsx"})
    assert xlsx.status_code == 200, xlsx.text[:300]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    money_formats = {c.number_format for ws in book for row in ws.iter_rows() for c in row
                     if "¥" in str(c.number_format) or "JPY" in str(c.number_format)}
    assert money_formats == {'"¥"#,##0;-"¥"#,##0'}
    markdown = client.get(download, params={"quarter": current.label, "format": "md"})
    assert markdown.status_code == 200
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "¥" in markdown.text
    # No amount with the code after it ("1,234.00 JPY"), none with a minor unit (¥8.0M is
    # a short amount, not sen).
    assert not re.search(r"\d JPY", markdown.text)
    assert not re.search(r"¥[\d,]*\.\d+(?![\dKMB])", markdown.text)
    assert formats.shown(formats.MONEY, D("8000.50"), "JPY") == "¥8,000"

"""The quarterly report's figures in every format equal the metrics API's for the same quarter
and team (and the previous quarter's, for the change), on the demo organisation."""

import io
import json
from decimal import Decimal

import openpyxl
import pytest

from app.reports import formats
from tests.reports.conftest import PREVIOUS, QUARTER, TEAM, team_id
from tests.reports.helpers import (
    METRICS,
    api_headline,
    csv_files,
    dec,
    report_json,
    markdown_text,
    page_tiles,
    pdf_text,
    report,
    xlsx_rows,
)
from tests.helpers import soup_of

SCOPES = [None, TEAM]


def _scope_ids(db, team):
    return None if team is None else frozenset({team_id(db, team)})


@pytest.mark.parametrize("team", SCOPES)
def test_xlsx_headline_equals_the_metrics_api(client, db, as_role, team):
    as_role("leader")
    body = report(client, "xlsx", QUARTER, team).content
    header, rows = xlsx_rows(body, "Headline")
    col = {title: i for i, title in enumerate(header)}
    found = {row[col["Metric"]].value: row for row in rows}
    assert set(found) == set(METRICS)
    for label, quarter in ((QUARTER, QUARTER), (PREVIOUS, PREVIOUS)):
        expected = api_headline(client, db, quarter, team, _scope_ids(db, team))
        for metric in METRICS:
            cell = found[metric][col[label]]
            assert dec(cell.value) == expected[metric]["value"], (quarter, metric)
    expected = api_headline(client, db, QUARTER, team, _scope_ids(db, team))
    for metric in ("annual_cost", "quarter_cost"):
        assert dec(found[metric][col["Low"]].value) == expected[metric]["low"]
        assert dec(found[metric][col["High"]].value) == expected[metric]["high"]
    # Numbers are numbers, with the format of their kind.
    for metric in ("annual_cost", "quarter_cost", "realized_savings", "llm_spend"):
        cell = found[metric][col[QUARTER]]
        assert cell.data_type == "n" and isinstance(cell.value, float)
        assert '"$"#,##0.00' in cell.number_format
    for metric in ("change_failure_rate", "production_rate"):
        assert found[metric][col[QUARTER]].number_format == "0.0%"
    assert isinstance(found["deployments"][col[QUARTER]].value, int)


def test_xlsx_has_a_sheet_per_section_each_with_a_frozen_header(client, as_role):
    as_role("leader")
    book = openpyxl.load_workbook(io.BytesIO(report(client, "xlsx", QUARTER).content))
    assert book.sheetnames == ["About", "Headline", "Narrative", "Top pain points", "Opened",
                               "Resolved", "Cost by stage", "Cost by persona",
                               "Velocity by month", "Maturity", "Initiatives",
                               "Model value", "Value at risk"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(c.font.bold for c in sheet[1] if c.value), sheet.title
    # Every money column is numeric with a currency format, row after row.
    top = book["Top pain points"]
    header = [c.value for c in top[1]]
    money = [header.index(t) for t in ("Annual cost", "Low", "High")]
    assert top.max_row == 11
    for row in top.iter_rows(min_row=2):
        for i in money:
            assert row[i].data_type == "n" and '"$"' in row[i].number_format
        assert row[header.index("Share of the cost")].number_format == "0.0%"


@pytest.mark.parametrize("team", SCOPES)
def test_csv_zip_headline_and_cost_by_stage_equal_the_metrics_api(client, db, as_role, team):
    as_role("leader")
    files = csv_files(report(client, "csv", QUARTER, team).content)
    assert {"about", "headline", "narrative", "top_pain_points", "opened", "resolved",
            "cost_by_stage", "cost_by_persona", "velocity_by_month", "maturity",
            "initiatives", "model_value", "value_at_risk"} == set(files)
    rows = {row["metric"]: row for row in files["headline"]}
    expected = api_headline(client, db, QUARTER, team, _scope_ids(db, team))
    previous = api_headline(client, db, PREVIOUS, team, _scope_ids(db, team))
    for metric in METRICS:
        assert dec(rows[metric]["value"] or None) == expected[metric]["value"], metric
        assert dec(rows[metric]["previous"] or None) == previous[metric]["value"], metric
    assert dec(rows["annual_cost"]["low"]) == expected["annual_cost"]["low"]
    assert dec(rows["annual_cost"]["high"]) == expected["annual_cost"]["high"]

    first, last = "2026-07-01", "2026-09-30"
    value = report_json(client, "/api/v1/metrics/value", team=team, **{"from": first, "to": last})
    figures = {row["key"]: row for row in files["model_value"]}
    assert dec(figures["value_delivered"]["value"]) == dec(value["value"]["total"])
    assert dec(figures["value_delivered"]["low"]) == dec(value["value"]["low"])
    assert dec(figures["value_measured"]["value"]) == dec(value["value"]["measured"])
    assert dec(figures["net_value"]["value"]) == dec(value["net_value"])
    assert dec(figures["cost_of_delay"]["value"]) == dec(value["cost_of_delay"]["total"])
    assert dec(figures["value_at_risk"]["value"]) == dec(value["value_at_risk"]["total"])
    assert [row["model"] for row in files["value_at_risk"]] == [
        m["model"] for m in value["value_at_risk"]["models"]]
    stages = report_json(client, "/api/v1/metrics/cost", group_by="stage", team=team,
                      **{"from": first, "to": last})["groups"]
    by_key = {row["key"]: row for row in files["cost_by_stage"]}
    assert set(by_key) == {g["key"] for g in stages}
    for group in stages:
        row = by_key[group["key"]]
        assert (row["cost"], row["annual_cost"], row["hours_per_week"]) == (
            group["cost"], group["annual_run_rate"], group["hours_per_week"])


@pytest.mark.parametrize("team", SCOPES)
def test_json_headline_equals_the_metrics_api(client, db, as_role, team):
    as_role("leader")
    data = report(client, "json", QUARTER, team).json()
    assert data["quarter"] == QUARTER and data["previous_quarter"] == PREVIOUS
    assert data["scope"]["team"] == team
    expected = api_headline(client, db, QUARTER, team, _scope_ids(db, team))
    for metric in METRICS:
        value = data["headline"][metric]["value"]
        assert dec(value) == expected[metric]["value"], metric
        if value is not None and metric != "deployments":
            assert isinstance(value, str)  # decimals leave as strings, like the API's


@pytest.mark.parametrize("team", SCOPES)
def test_printable_page_pdf_and_markdown_show_the_api_figures(client, db, as_role, team,
                                                              tmp_path):
    as_role("leader")
    page = client.get("/reports/quarterly", params={"quarter": QUARTER, "team": team or ""})
    assert page.status_code == 200
    tiles = page_tiles(page.text)
    expected = api_headline(client, db, QUARTER, team, _scope_ids(db, team))
    kinds = {"annual_cost": formats.MONEY, "quarter_cost": formats.MONEY,
             "realized_savings": formats.MONEY, "llm_spend": formats.MONEY}
    for metric in METRICS:
        value = expected[metric]["value"]
        assert tiles[metric][0] == ("" if value is None else str(value)), metric
        if metric in kinds:  # money is shown to the cent: the API's own string, formatted
            assert tiles[metric][1] == formats.shown(formats.MONEY, value, "USD")

    text = pdf_text(report(client, "pdf", QUARTER, team).content, tmp_path)
    markdown = markdown_text(report(client, "md", QUARTER, team).content)
    for metric, (_, shown) in tiles.items():
        assert shown in text, (metric, shown)
        assert shown in markdown, (metric, shown)
    assert f"{QUARTER} · " in text and "Page 1 of" in text


def test_the_narrative_is_built_from_the_figures(client, as_role):
    as_role("leader")
    data = report(client, "json", QUARTER).json()
    first = data["narrative"][0]
    top = data["sections"]["top_pain_points"][0]
    assert first.startswith(("The annual cost of friction rose",
                             "The annual cost of friction fell"))
    assert f"“{top['title']}”" in first
    deployments = data["headline"]["deployments"]["value"]
    assert f"There were {deployments} deployments, with a change failure rate of " in " ".join(
        data["narrative"])
    page = soup_of(client.get("/reports/quarterly", params={"quarter": QUARTER}))
    assert page.select_one("[data-testid=narrative]").get_text() == " ".join(data["narrative"])


def test_sections_are_consistent_with_the_headline(client, as_role):
    as_role("leader")
    data = report(client, "json", QUARTER).json()
    months = data["sections"]["velocity_by_month"]
    assert [m["month"] for m in months] == ["2026-07-01", "2026-08-01", "2026-09-01"]
    assert sum(m["deployments"] for m in months) == data["headline"]["deployments"]["value"]
    top = data["sections"]["top_pain_points"]
    assert len(top) == 10
    costs = [Decimal(p["annual_cost"]) for p in top]
    assert costs == sorted(costs, reverse=True)
    assert all(Decimal(p["low"]) <= Decimal(p["annual_cost"]) <= Decimal(p["high"]) for p in top)
    for row in data["sections"]["opened"]:
        assert "2026-07-01" <= row["observed_since"] <= "2026-09-30"
    for row in data["sections"]["resolved"]:
        assert "2026-07-01" <= row["resolved_on"] <= "2026-09-30" and row["status"] == "resolved"
    realized = sum((Decimal(i["realized"]) for i in data["sections"]["initiatives"]), Decimal(0))
    assert realized == Decimal(data["headline"]["realized_savings"]["value"])
    scores = [Decimal(m["score"]) for m in data["sections"]["maturity"] if m["score"]]
    assert (sum(scores) / len(scores)).quantize(Decimal("0.01")) == Decimal(
        data["headline"]["maturity"]["value"])
    json.dumps(data)  # plain JSON all the way down

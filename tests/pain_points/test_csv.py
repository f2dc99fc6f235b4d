"""CSV import and export of pain points: the function, the pages and the CLI."""

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal as D
from functools import partial
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.auth.service import principal_for_user
from app.cli import app as cli_app
from app.config import get_settings
from app.core import clock
from app.core.csv_tools import MAX_BYTES, MAX_ROWS, ImportResult, RowError, parse_table
from app.core.clock import utcnow
from app.db import make_engine, make_sessionmaker
from app.pain_points import csv_io, service
from app.pain_points.csv_io import COLUMNS, EXPORT_COLUMNS, REQUIRED
from app.pain_points.models import PainPoint
from app.pain_points.measures import PainPointFilters
from app.pain_points.queries import list_pain_points
from app.web.templating import money
from tests import factories
from tests.conftest import page_csrf

TODAY = date(2026, 11, 29)
WEEKS = D(46)
GOOD = {"team": "fraud", "persona": "data-scientist", "stage": "deployment",
        "title": "Hand-built Docker images", "hours_low": "1", "hours_likely": "2",
        "hours_high": "4", "observed_since": "2026-01-05"}


def csv_bytes(*rows: dict[str, str], columns=COLUMNS, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def good(**changes: str) -> dict[str, str]:
    return GOOD | changes


def stored(db: Session) -> list[PainPoint]:
    db.expire_all()
    return list(db.scalars(select(PainPoint).order_by(PainPoint.id)))


def cents(value: D) -> D:
    return D(value).quantize(D("0.01"), rounding=ROUND_HALF_EVEN)


@pytest.fixture
def teams(db):
    fraud = factories.make_team(db, name="Fraud detection", slug="fraud",
                                headcounts={"data-scientist": (10, D("120")), "ml-engineer": 4})
    search = factories.make_team(db, name="Search", slug="search",
                                 headcounts={"data-scientist": 3})
    return fraud, search


@pytest.fixture
def admin(db):
    return principal_for_user(factories.make_user(db, role="admin"))


def run(db, data: bytes, actor, **kwargs) -> ImportResult:
    return csv_io.import_pain_points(db, data, actor=actor, today=TODAY, **kwargs)


# --- import: the function -------------------------------------------------------------------


def test_a_valid_file_imports_every_row_with_the_right_costs(db, teams, admin):
    fraud, _ = teams
    data = csv_bytes(
        good(title="Hand-built images"),  # people_affected blank: the team's 10 data scientists
        good(team="FRAUD DETECTION", persona="ML engineer", stage="Monitoring & retraining",
             title="Learn Spark", kind="one_time", hours_low="12", hours_likely="20",
             hours_high="40", people_affected="2"),
        good(title="Flaky notebooks", kind="Recurring", hours_low="0.5", hours_likely="1",
             hours_high="2", people_affected="3", status="resolved", resolved_on="2026-03-02",
             description="Kernels die", evidence="https://wiki.example/notebooks"),
    )
    result = run(db, data, admin)
    assert (result.imported, result.errors) == (3, [])
    rows, total = list_pain_points(db, PainPointFilters(team_ids=frozenset({fraud.id})),
                                   weeks=WEEKS)
    assert total == 3
    costs = {r.pain_point.title: (cents(r.annual_cost), cents(r.annual_cost_low),
                                  cents(r.annual_cost_high)) for r in rows}
    # 13/6 h × 10 × 46 × $120; the one-time: 22 h × 2 × $120 (no override for ML engineers);
    # (0.5 + 4 + 2)/6 h × 3 × 46 × $120.
    assert costs == {
        "Hand-built images": (D("119600.00"), D("55200.00"), D("220800.00")),
        "Learn Spark": (D("5280.00"), D("2880.00"), D("9600.00")),
        "Flaky notebooks": (D("17940.00"), D("8280.00"), D("33120.00")),
    }
    by_title = {pp.title: pp for pp in stored(db)}
    assert by_title["Hand-built images"].people_affected == 10
    spark = by_title["Learn Spark"]
    assert (spark.kind, spark.stage_id, spark.persona_id) == (
        "one_time", factories.stage(db, "monitoring").id, factories.persona(db, "ml-engineer").id)
    flaky = by_title["Flaky notebooks"]
    assert (flaky.status, flaky.observed_since, flaky.resolved_on) == (
        "resolved", date(2026, 1, 5), date(2026, 3, 2))
    assert (flaky.description, flaky.evidence) == ("Kernels die", "https://wiki.example/notebooks")
    assert {pp.reporter_id for pp in by_title.values()} == {admin.user_id}


@pytest.mark.parametrize("bad, field, fragment", [
    ({"hours_low": "3", "hours_likely": "2"}, "hours_likely", "at least the low estimate"),
    ({"stage": "launch"}, "stage", "unknown stage 'launch'"),
    ({"observed_since": "2026/01/05"}, "observed_since", "YYYY-MM-DD"),
    ({"title": ""}, "title", "required"),
    ({"hours_high": "169"}, "hours_high", "more hours per week than a week has"),
    ({"hours_low": "-1"}, "hours_low", "greater than or equal to 0"),
    ({"people_affected": "0"}, "people_affected", "greater than or equal to 1"),
    ({"status": "resolved", "resolved_on": "2026-01-02"}, "resolved_on",
     "cannot be before observed since"),
    ({"observed_since": "2026-02-30"}, "observed_since", "not a date"),
    ({"kind": "weekly"}, "kind", "'recurring' or 'one_time'"),
])
def test_one_bad_row_among_good_ones_imports_nothing(db, teams, admin, bad, field, fragment):
    data = csv_bytes(good(title="first"), good(title="second") | bad, good(title="third"))
    result = run(db, data, admin)
    assert result.imported == 0
    assert [(e.line, e.field) for e in result.errors] == [(3, field)]
    assert fragment in result.errors[0].message
    assert stored(db) == []


def test_each_bad_row_is_reported_with_the_line_the_file_shows(db, teams, admin):
    # A quoted line break makes the second pain point span lines 3–4; blank lines still count.
    # (A description may hold line breaks; a title may not.)
    text = ("team,persona,stage,title,description,hours_low,hours_likely,hours_high\r\n"
            "fraud,data-scientist,deployment,one,,1,2,4\r\n"
            "fraud,data-scientist,deployment,two,\"two\r\nlines\",1,2,4\r\n"
            "\r\n"
            "fraud,data-scientist,nowhere,three,,1,2,4\r\n")
    result = run(db, text.encode(), admin)
    assert result.errors == [RowError(6, "stage", "unknown stage 'nowhere'")]


def test_skip_invalid_imports_the_good_rows_only_and_reports_the_others(db, teams, admin):
    data = csv_bytes(good(title="kept 1"), good(title="bad stage", stage="launch"),
                     good(title="bad date", observed_since="05/01/2026"), good(title="kept 2"))
    result = run(db, data, admin, skip_invalid=True)
    assert result.imported == 2
    assert [(e.line, e.field) for e in result.errors] == [(3, "stage"), (4, "observed_since")]
    assert [pp.title for pp in stored(db)] == ["kept 1", "kept 2"]


def test_an_import_audits_every_row_and_refreshes_the_totals_once(db, teams, admin,
                                                                   monkeypatch):
    """Every row is validated before any is stored; the rows go in as batches, each with its
    audit entry, and the dashboards' totals are refreshed once, at the commit."""
    import dataclasses

    from app.core import derived
    from app.pain_points import summary

    calls = []
    kept = derived._KEPT[summary.KEPT.name]
    monkeypatch.setitem(derived._KEPT, kept.name, dataclasses.replace(
        kept, refresh=lambda connection, scopes: (calls.append(set(scopes)),
                                                   kept.refresh(connection, scopes))))
    monkeypatch.setattr(service, "BATCH", 2)  # three batches, three flushes
    data = csv_bytes(*(good(title=f"row {n}") for n in range(5)),
                     good(title="bad", stage="launch"))
    result = run(db, data, admin, skip_invalid=True)
    assert (result.imported, [(e.line, e.field) for e in result.errors]) == (5, [(7, "stage")])
    assert calls == []  # flushes and the batches' savepoint-free writes refresh nothing
    db.commit()
    assert len(calls) == 1
    assert [pp.title for pp in stored(db)] == [f"row {n}" for n in range(5)]
    entries = db.scalars(select(AuditEntry.entity_id).where(
        AuditEntry.entity_type == "pain_point", AuditEntry.action == "create"))
    assert sorted(entries) == sorted(str(pp.id) for pp in stored(db))


@pytest.mark.parametrize("missing", ["team", "title", "hours_likely"])
def test_a_missing_column_is_one_error_naming_it(db, teams, admin, missing):
    columns = [c for c in COLUMNS if c != missing]
    result = run(db, csv_bytes(good(), columns=columns), admin, skip_invalid=True)
    assert result.imported == 0
    assert result.errors == [RowError(1, missing, "required column is missing from the header row")]
    assert stored(db) == []


def test_header_names_are_trimmed_and_case_insensitive(db, teams, admin):
    data = csv_bytes(good(), columns=COLUMNS).replace(b"team,persona", b" Team , PERSONA", 1)
    assert run(db, data, admin).imported == 1


@pytest.mark.parametrize("column, fragment", [
    ("id", "cannot update existing ones"),
    ("annual_cost", "computed by Northstar"),
    ("hours_likley", "unknown column"),
])
def test_unknown_and_export_only_columns_are_refused(db, teams, admin, column, fragment):
    result = run(db, csv_bytes(good(), columns=(*COLUMNS, column)), admin, skip_invalid=True)
    assert [(e.line, e.field) for e in result.errors] == [(1, column)]
    assert fragment in result.errors[0].message
    assert stored(db) == []


def test_a_file_with_a_byte_order_mark_imports(db, teams, admin):
    result = run(db, csv_bytes(good(title="Excel wrote me"), bom=True), admin)
    assert (result.imported, result.errors) == (1, [])
    assert [pp.title for pp in stored(db)] == ["Excel wrote me"]


def test_latin_1_bytes_are_refused_naming_the_line(db, teams, admin):
    data = csv_bytes(good(title="plain"), good(title="Café au lait")).decode().encode("latin-1")
    result = run(db, data, admin, skip_invalid=True)
    assert result.imported == 0
    assert [(e.line, e.field) for e in result.errors] == [(3, "file")]
    assert "not UTF-8" in result.errors[0].message and "0xe9" in result.errors[0].message
    assert stored(db) == []


@pytest.mark.parametrize("field, value", [
    ("title", '=HYPERLINK("https://evil.example","click")'),
    ("title", "@SUM(1)"),
    ("title", "+1"),
    ("title", " -2+3"),
    ("description", "=1+1"),
    ("evidence", "\t=cmd"),
])
def test_a_formula_looking_text_cell_is_refused_naming_its_field(db, teams, admin, field, value):
    result = run(db, csv_bytes(good(**{field: value})), admin)
    assert [(e.line, e.field) for e in result.errors] == [(2, field)]
    assert "formula" in result.errors[0].message
    assert stored(db) == []


def test_a_row_with_an_unquoted_comma_is_refused(db, teams, admin):
    text = ("team,persona,stage,title,hours_low,hours_likely,hours_high\n"
            "fraud,data-scientist,deployment,Slow, flaky builds,1,2,4\n")
    result = run(db, text.encode(), admin)
    assert [(e.line, e.field) for e in result.errors] == [(2, "row")]
    assert "8 cells but the header has 7 columns" in result.errors[0].message


def test_an_unterminated_quote_is_refused_not_swallowed(db, teams, admin):
    text = ("team,persona,stage,title,hours_low,hours_likely,hours_high\n"
            "fraud,data-scientist,deployment,\"open quote,1,2,4\n"
            "fraud,data-scientist,deployment,next,1,2,4\n")
    result = run(db, text.encode(), admin, skip_invalid=True)
    assert result.imported == 0
    assert [(e.line, e.field) for e in result.errors] == [(2, "file")]


def test_an_oversized_file_is_refused(db, teams, admin):
    data = csv_bytes(good()) + b"\n" * (MAX_BYTES - len(csv_bytes(good())) + 1)
    assert len(data) == MAX_BYTES + 1
    result = run(db, data, admin, skip_invalid=True)
    assert result.errors == [RowError(None, "file", "is larger than 5 MB; split it into smaller "
                                                    "files")]
    assert stored(db) == []


def test_at_most_ten_thousand_rows():
    row = "fraud,data-scientist,deployment,t,1,2,4\n"
    header = "team,persona,stage,title,hours_low,hours_likely,hours_high\n"
    parse = partial(parse_table, columns=COLUMNS, required=REQUIRED, noun="pain points")
    assert len(parse((header + row * MAX_ROWS).encode()).rows) == MAX_ROWS
    too_many = parse((header + row * (MAX_ROWS + 1)).encode())
    assert too_many.fatal and too_many.rows == []
    assert [(e.field, e.message) for e in too_many.errors] == [
        ("file", "has more than 10,000 rows; split it into smaller files")]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"team,persona,stage,title,hours_low,"
                                                       b"hours_likely,hours_high\r\n,,,,,,\r\n"])
def test_an_empty_file_is_refused(db, teams, admin, data):
    result = run(db, data, admin)
    assert result.refused and [e.field for e in result.errors] == ["file"]


def test_a_pm_imports_rows_of_its_own_teams_only(db, teams):
    fraud, _ = teams
    pm = principal_for_user(factories.make_user(db, role="pm", teams=[fraud]))
    data = csv_bytes(good(title="ours"), good(title="theirs", team="search"))
    refused = run(db, data, pm)
    assert refused.imported == 0
    assert [(e.line, e.field) for e in refused.errors] == [(3, "team")]
    assert "own teams only" in refused.errors[0].message
    assert stored(db) == []
    skipped = run(db, data, pm, skip_invalid=True)
    assert skipped.imported == 1
    assert [pp.title for pp in stored(db)] == ["ours"]


# --- export ------------------------------------------------------------------------------------


def export(client, query: str = "", status: int = 200) -> list[dict[str, str]]:
    response = client.get(f"/pain-points/export.csv{query}")
    assert response.status_code == status, response.text
    if status != 200:
        return []
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="pain-points-{clock.today().isoformat()}.csv"')
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))
    assert tuple(reader.fieldnames) == EXPORT_COLUMNS
    return list(reader)


def test_export_neutralises_formula_looking_text(client, db, as_role, teams):
    fraud, _ = teams
    as_role("leader")
    hyperlink = '=HYPERLINK("https://evil.example","click")'
    factories.make_pain_point(db, fraud, title=hyperlink, description="-1+2", evidence="@evidence")
    factories.make_pain_point(db, fraud, title="@SUM(1)", hours_likely=D(3))
    factories.make_pain_point(db, fraud, title="+cmd", description="\tindented", hours_likely=D(1))
    factories.make_pain_point(db, fraud, title="Plain – text, with a comma", hours_likely=D("1.5"))
    db.commit()
    rows = export(client)
    by_title = {r["title"]: r for r in rows}
    assert set(by_title) == {"'" + hyperlink, "'@SUM(1)", "'+cmd", "Plain – text, with a comma"}
    assert (by_title["'" + hyperlink]["description"], by_title["'" + hyperlink]["evidence"]) == (
        "'-1+2", "'@evidence")
    assert by_title["'+cmd"]["description"] == "'\tindented"
    # Numbers are not text: nothing is prefixed there.
    assert by_title["'@SUM(1)"]["hours_likely"] == "3.00"


def test_export_money_is_rounded_half_even_to_the_lists_figure(client, db, as_role):
    team = factories.make_team(db, headcounts={"data-scientist": (1, D("48.75"))})
    as_role("admin")
    # 0.25 h × 1 × 46 weeks × $48.75 = $560.625 (exact in binary too, so SQLite's floating
    # point keeps it): half-even gives .62 where half-up would give .63. (SQLite's driver
    # already hands back cents; on PostgreSQL the export's own rounding decides.)
    pp = factories.make_pain_point(db, team, hours_low=D("0.25"), hours_likely=D("0.25"),
                                   hours_high=D("0.25"), people_affected=1)
    factories.make_pain_point(db, team, kind="one_time", hours_low=D(1), hours_likely=D(2),
                              hours_high=D(9), people_affected=3, title="one-time")
    db.commit()
    rows = {int(r["id"]): r for r in export(client)}
    listed, _ = list_pain_points(db, PainPointFilters(team_ids=frozenset({team.id})), weeks=WEEKS)
    assert len(listed) == len(rows) == 2
    for row in listed:
        cells = rows[row.pain_point.id]
        assert cells["annual_cost"] == str(cents(row.annual_cost))
        assert "$" + f"{D(cells['annual_cost']):,.2f}" == money(row.annual_cost)
        assert cells["annual_cost_low"] == str(cents(row.annual_cost_low))
        assert cells["annual_cost_high"] == str(cents(row.annual_cost_high))
    cells = rows[pp.id]
    assert (cells["annual_cost"], cells["hourly_cost"], cells["expected_hours"]) == (
        "560.62", "48.75", "0.25")
    # (1 + 8 + 9)/6 = 3 h × 3 people × $48.75, once.
    one_time = next(r for r in rows.values() if r["title"] == "one-time")
    assert (one_time["kind"], one_time["annual_cost"], one_time["people_affected"]) == (
        "one_time", "438.75", "3")


def test_export_applies_the_ledgers_filters(client, db, as_role, teams):
    fraud, search = teams
    as_role("leader")
    a = factories.make_pain_point(db, fraud, title="Docker pain", observed_since=date(2026, 3, 1))
    b = factories.make_pain_point(db, fraud, title="Monitoring gaps", stage="monitoring",
                                  description="no docker alerts", observed_since=date(2026, 2, 1))
    c = factories.make_pain_point(db, fraud, title="Resolved docker", status="resolved",
                                  resolved_on=date(2026, 4, 1), persona="ml-engineer",
                                  observed_since=date(2026, 1, 1))
    d = factories.make_pain_point(db, search, title="Search docker",
                                  observed_since=date(2026, 5, 1))
    factories.make_pain_point(db, fraud, title="Deleted docker", deleted_at=utcnow())
    db.commit()

    def ids(query: str) -> list[int]:
        return [int(r["id"]) for r in export(client, query)]

    assert sorted(ids("")) == sorted([a.id, b.id, c.id, d.id])
    assert sorted(ids("?team=fraud")) == sorted([a.id, b.id, c.id])
    assert ids("?stage=monitoring") == [b.id]
    assert ids("?persona=ml-engineer") == [c.id]
    assert ids("?status=resolved") == [c.id]
    assert sorted(ids("?status=open&status=resolved&team=fraud")) == sorted([a.id, b.id, c.id])
    assert sorted(ids("?q=DOCKER&team=fraud")) == sorted([a.id, b.id, c.id])
    assert ids("?team=fraud&q=docker&sort=newest") == [a.id, b.id, c.id]
    assert ids("?team=&persona=&stage=&status=&q=&sort=&page=3") != []
    export(client, "?team=no-such-team", status=422)
    export(client, "?sort=cheapest", status=422)


def test_export_keeps_a_viewer_to_its_own_teams(client, db, as_role, teams):
    fraud, search = teams
    factories.make_pain_point(db, fraud, title="ours")
    factories.make_pain_point(db, search, title="theirs")
    as_role("viewer", teams=[fraud])
    assert [r["title"] for r in export(client)] == ["ours"]
    assert export(client, "?team=search") == []


def test_export_requires_a_login(client):
    response = client.get("/pain-points/export.csv")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# --- import: the page ------------------------------------------------------------------------


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def post_import(client, data: bytes, csrf: str | None, **fields: str):
    form = {"csrf_token": csrf} if csrf is not None else {}
    return client.post("/pain-points/import", data=form | fields,
                       files={"file": ("pain-points.csv", data, "text/csv")})


def error_rows(response) -> list[tuple[str, str, str]]:
    table = soup_of(response).find("table", id="import-errors")
    return [tuple(td.get_text(strip=True) for td in tr("td")) for tr in table.tbody("tr")]


def test_the_import_page_documents_the_format(client, as_role):
    as_role("pm")
    page = soup_of(client.get("/pain-points/import"))
    form = page.find("form", action="/pain-points/import")
    assert form["enctype"] == "multipart/form-data" and form["method"] == "post"
    assert form.find("input", attrs={"name": "csrf_token"})["value"]
    assert form.find("input", attrs={"name": "file", "type": "file"}) is not None
    assert form.find("input", attrs={"name": "skip_invalid", "type": "checkbox"}) is not None
    table = page.find("table", id="import-columns")
    columns = [tr.td.get_text(strip=True) for tr in table.tbody("tr")]
    assert columns == list(COLUMNS)
    example = page.find("pre").get_text().splitlines()
    assert example[0] == ",".join(COLUMNS)
    assert csv_io.row_to_input(dict(zip(COLUMNS, next(csv.reader([example[1]])))))[1] == []


def test_the_import_page_shows_each_bad_row_with_its_line_and_stores_nothing(client, db, as_role,
                                                                             teams):
    fraud, _ = teams
    as_role("pm", teams=[fraud])
    csrf = page_csrf(client, "/pain-points/import")
    data = csv_bytes(good(title="fine"), good(stage="launch"), good(team="search"),
                     good(title="<script>alert(1)</script>", hours_low="9"))
    response = post_import(client, data, csrf)
    assert response.status_code == 422
    rows = error_rows(response)
    assert [(line, field) for line, field, _ in rows] == [
        ("3", "stage"), ("4", "team"), ("5", "hours_likely")]
    assert rows[0][2] == "unknown stage 'launch'"
    assert "Nothing was imported" in soup_of(response).find("h2", id="result-title").get_text()
    assert soup_of(response).find("input", id="skip_invalid").get("checked") is None
    assert stored(db) == []


def test_the_import_page_imports_and_redirects_to_the_ledger(client, db, as_role, teams):
    fraud, _ = teams
    as_role("pm", teams=[fraud])
    csrf = page_csrf(client, "/pain-points/import")
    response = post_import(client, csv_bytes(good(title="one"), good(title="two"), bom=True),
                           csrf)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/pain-points"
    assert [pp.title for pp in stored(db)] == ["one", "two"]
    flash = soup_of(client.get("/pain-points/import")).select_one(".flash")
    assert flash.get_text(strip=True) == "Imported 2 pain points."


def test_the_import_page_can_skip_invalid_rows_and_lists_them(client, db, as_role, teams):
    as_role("admin")
    csrf = page_csrf(client, "/pain-points/import")
    data = csv_bytes(good(title="one"), good(title="=1+1"), good(title="two"))
    response = post_import(client, data, csrf, skip_invalid="on")
    assert response.status_code == 200
    assert [(line, field) for line, field, _ in error_rows(response)] == [("3", "title")]
    assert "Imported 2 pain points" in soup_of(response).find("h2", id="result-title").get_text()
    assert [pp.title for pp in stored(db)] == ["one", "two"]


def test_the_import_page_asks_for_a_file(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/pain-points/import")
    response = client.post("/pain-points/import", data={"csrf_token": csrf},
                           files={"file": ("", b"", "application/octet-stream")})
    assert response.status_code == 422
    assert error_rows(response) == [("—", "file", "choose a CSV file to import")]


@pytest.mark.parametrize("role", ["viewer", "leader"])
def test_readers_may_not_import(client, db, as_role, teams, role):
    fraud, _ = teams
    as_role(role, teams=[fraud])
    assert client.get("/pain-points/import").status_code == 403
    response = post_import(client, csv_bytes(good()), page_csrf(client))
    assert response.status_code == 403
    assert stored(db) == []


def test_an_import_without_the_csrf_token_is_refused(client, db, as_role, teams):
    as_role("admin")
    response = post_import(client, csv_bytes(good()), None)
    assert response.status_code == 403
    assert stored(db) == []


# --- import: the CLI -------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A migrated SQLite file of the test's own (as tests/test_cli.py), and a session on it."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", url)
    get_settings.cache_clear()
    migrated = runner.invoke(cli_app, ["migrate"])
    assert migrated.exit_code == 0, migrated.output
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()
    get_settings.cache_clear()


@pytest.fixture
def cli_org(cli_db: Session):
    fraud = factories.make_team(cli_db, name="Fraud detection", slug="fraud",
                                headcounts={"data-scientist": (10, D("120"))})
    factories.make_team(cli_db, name="Search", slug="search", headcounts={"data-scientist": 3})
    gone = factories.make_user(cli_db, role="admin", email="gone@example.com", is_active=False)
    admin = factories.make_user(cli_db, role="admin", email="admin@example.com")
    pm = factories.make_user(cli_db, role="pm", email="pm@example.com", teams=[fraud])
    factories.make_user(cli_db, role="viewer", email="viewer@example.com", teams=[fraud])
    cli_db.commit()
    return {"gone": gone.id, "admin": admin.id, "pm": pm.id}


def import_file(tmp_path: Path, data: bytes, *options: str):
    path = tmp_path / "pain-points.csv"
    path.write_bytes(data)
    return runner.invoke(cli_app, ["import", "pain-points", str(path), *options])


def test_cli_imports_a_valid_file_as_the_first_active_admin(tmp_path, cli_db, cli_org):
    result = import_file(tmp_path, csv_bytes(good(title="one"), good(title="two")))
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == ("imported 2\n", "")
    assert [(pp.title, pp.reporter_id) for pp in stored(cli_db)] == [
        ("one", cli_org["admin"]), ("two", cli_org["admin"])]


def test_cli_reports_bad_rows_and_imports_nothing(tmp_path, cli_db, cli_org):
    data = csv_bytes(good(), good(stage="launch"), good(observed_since="2026/01/05"))
    result = import_file(tmp_path, data)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: line 3: stage: unknown stage 'launch'",
        "error: line 4: observed_since: '2026/01/05' is not a date in the form YYYY-MM-DD, "
        "e.g. 2026-01-05",
    ]
    assert result.stdout == ""
    assert stored(cli_db) == []


def test_cli_skip_invalid_imports_the_good_rows_and_prints_the_skipped(tmp_path, cli_db,
                                                                      cli_org):
    result = import_file(tmp_path, csv_bytes(good(title="kept"), good(stage="launch")),
                         "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 1\n"
    assert result.stderr == "skipped: line 3: stage: unknown stage 'launch'\n"
    assert [pp.title for pp in stored(cli_db)] == ["kept"]
    nothing_good = import_file(tmp_path, csv_bytes(good(stage="launch")), "--skip-invalid")
    assert nothing_good.exit_code == 2
    assert "error: line 2: stage: " in nothing_good.stderr
    assert len(stored(cli_db)) == 1


def test_cli_refuses_a_missing_column_and_latin_1(tmp_path, cli_db, cli_org):
    missing = import_file(tmp_path, csv_bytes(good(), columns=COLUMNS[1:]))
    assert missing.exit_code == 2
    assert missing.stderr == ("error: line 1: team: required column is missing from the header "
                              "row\n")
    latin = import_file(tmp_path, csv_bytes(good(title="Café")).decode().encode("latin-1"))
    assert latin.exit_code == 2
    assert latin.stderr.startswith("error: line 2: file: is not UTF-8 text")
    assert stored(cli_db) == []


def test_cli_imports_as_a_pm_only_its_own_teams(tmp_path, cli_db, cli_org):
    data = csv_bytes(good(title="ours"), good(title="theirs", team="search"))
    refused = import_file(tmp_path, data, "--as-email", "PM@example.com")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: line 3: team: You may change pain points of your "
                                     "own teams only")
    skipped = import_file(tmp_path, data, "--as-email", "pm@example.com", "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert [(pp.title, pp.reporter_id) for pp in stored(cli_db)] == [("ours", cli_org["pm"])]


@pytest.mark.parametrize("email, message", [
    ("viewer@example.com", "error: as-email: viewer@example.com is a viewer; only an admin or a "
                           "pm may import pain points"),
    ("gone@example.com", "error: as-email: no active user with email gone@example.com"),
    ("ghost@example.com", "error: as-email: no active user with email ghost@example.com"),
])
def test_cli_refuses_an_actor_who_may_not_import(tmp_path, cli_db, cli_org, email, message):
    result = import_file(tmp_path, csv_bytes(good()), "--as-email", email)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert stored(cli_db) == []


def test_cli_without_an_active_admin_asks_for_one(tmp_path, cli_db):
    factories.make_team(cli_db, slug="fraud", headcounts={"data-scientist": 2})
    factories.make_user(cli_db, role="pm", email="pm@example.com")
    cli_db.commit()
    result = import_file(tmp_path, csv_bytes(good()))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: as-email: there is no active admin")
    assert stored(cli_db) == []


def test_cli_refuses_a_file_that_does_not_exist(tmp_path, cli_db):
    # A wide terminal: Rich wraps a long temporary path inside its error box otherwise.
    result = runner.invoke(cli_app, ["import", "pain-points", str(tmp_path / "nope.csv")],
                           env={"COLUMNS": "1000"})
    assert result.exit_code == 2
    assert "nope.csv" in result.stderr


def test_a_large_import_runs_in_the_background_and_its_page_shows_the_progress(
        client, db, as_role, teams, app, monkeypatch):
    """Validated in the request (bad rows skipped and listed), then stored by a job whose row
    the page polls; nothing is visible until the job commits."""
    from app.imports import service as import_service

    monkeypatch.setattr(import_service, "BACKGROUND_ROWS", 2)
    queued = []
    app.state.import_runner = queued.append  # run by hand below, as the worker thread would
    fraud, _ = teams
    as_role("pm", teams=[fraud])
    csrf = page_csrf(client, "/pain-points/import")
    data = csv_bytes(*(good(title=f"row {n}") for n in range(3)), good(stage="launch"))
    response = post_import(client, data, csrf, skip_invalid="on")
    assert response.status_code == 303, response.text
    job_page = response.headers["location"]
    assert job_page.startswith("/pain-points/import/jobs/")

    page = soup_of(client.get(job_page))
    status = page.find("section", id="import-job")
    assert status["hx-get"] == job_page and status["hx-trigger"] == "every 1s"
    assert status.find("progress")["max"] == "3" and status.find("progress")["value"] == "0"
    assert "Importing 3 pain points" in status.h2.get_text()
    assert stored(db) == []

    [work] = queued
    work()
    swap = client.get(job_page, headers={"HX-Request": "true"})
    done = soup_of(swap).find("section", id="import-job")
    assert done.get("hx-trigger") is None  # the polling stops
    assert done.h2.get_text(strip=True) == "Imported 3 pain points"
    assert [(line, field) for line, field, _ in error_rows(swap)] == [("5", "stage")]
    assert [pp.title for pp in stored(db)] == ["row 0", "row 1", "row 2"]


def test_an_import_job_is_shown_to_whoever_started_it_only(client, db, as_role, teams, app,
                                                           monkeypatch):
    from app.imports import service as import_service

    monkeypatch.setattr(import_service, "BACKGROUND_ROWS", 0)
    app.state.import_runner = lambda work: None
    fraud, _ = teams
    as_role("pm", teams=[fraud])
    csrf = page_csrf(client, "/pain-points/import")
    job_page = post_import(client, csv_bytes(good()), csrf).headers["location"]
    client.cookies.clear()
    as_role("pm", teams=[fraud])  # another pm of the same team
    assert client.get(job_page).status_code == 404

"""CSV import of lifecycle events: the function (on the test database) and the CLI command (on
a SQLite file of its own)."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.service import principal_for_user
from app.cli import app as cli_app
from app.config import get_settings
from app.core.csv_tools import RowError
from app.core.clock import utcnow
from app.db import make_engine, make_sessionmaker
from app.ml_models.csv_io import COLUMNS, import_events
from app.ml_models.models import LifecycleEvent, MLModel
from tests import factories

GOOD = {"team": "fraud", "model": "Scorer", "type": "ideated",
        "occurred_at": "2026-01-05T09:00:00Z"}


def csv_bytes(*rows: dict[str, str], columns=COLUMNS, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def good(**changes: str) -> dict[str, str]:
    return GOOD | changes


def events(session: Session) -> list[tuple[str, str, str, datetime, str | None, str | None]]:
    session.expire_all()
    rows = session.execute(select(MLModel.name, LifecycleEvent.type, LifecycleEvent.source,
                                  LifecycleEvent.occurred_at, LifecycleEvent.version,
                                  LifecycleEvent.external_id)
                           .join(MLModel, MLModel.id == LifecycleEvent.model_id)
                           .order_by(LifecycleEvent.id)).all()
    return [tuple(r) for r in rows]


def model_names(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(MLModel.name).order_by(MLModel.id)))


@pytest.fixture
def fraud(db):
    return factories.make_team(db, name="Fraud detection", slug="fraud")


@pytest.fixture
def admin(db, fraud):
    factories.make_team(db, name="Search", slug="search")
    return principal_for_user(factories.make_user(db, role="admin"))


def run(db, data: bytes, actor, **options):
    return import_events(db, data, actor=actor, **options)


# --- the function ---------------------------------------------------------------------------

def test_a_valid_file_records_its_events_and_creates_models(db, admin):
    data = csv_bytes(good(external_id="i-1"),
                     good(type="Deployed", occurred_at="2026-02-15T10:00:00+01:00", version="3",
                          source="mlflow", external_id="d-1"),
                     good(team="search", model="Ranker", type="registered"), bom=True)
    result = run(db, data, admin)
    assert (result.imported, result.existing, result.errors) == (3, 0, [])
    assert events(db) == [
        ("Scorer", "ideated", "csv", datetime(2026, 1, 5, 9, tzinfo=UTC), None, "i-1"),
        ("Scorer", "deployed", "mlflow", datetime(2026, 2, 15, 9, tzinfo=UTC), "3", "d-1"),
        ("Ranker", "registered", "csv", datetime(2026, 1, 5, 9, tzinfo=UTC), None, None),
    ]


def test_importing_the_same_file_again_adds_nothing(db, admin):
    data = csv_bytes(good(external_id="i-1"), good(type="deployed", external_id="d-1"))
    assert run(db, data, admin).imported == 2
    again = run(db, data, admin)
    assert (again.imported, again.existing, again.errors, again.refused) == (0, 2, [], False)
    assert len(events(db)) == 2


def test_bad_rows_are_reported_by_line_and_field_and_nothing_is_stored(db, admin):
    data = csv_bytes(
        good(),                                                  # line 2: fine
        good(model="New model", occurred_at="2026-01-05 09:00"),  # 3: no time zone
        good(type="launched"),                                   # 4
        good(team="nope"),                                       # 5
        good(model="m" * 121, source="jenkins"),                 # 6: two fields
        good(model="=HYPERLINK(\"https://evil.example\")"),      # 7
        good(occurred_at=""),                                    # 8
    )
    result = run(db, data, admin)
    assert result.imported == 0 and result.refused
    assert [(e.line, e.field) for e in result.errors] == [
        (3, "occurred_at"), (4, "type"), (5, "team"), (6, "model"), (6, "source"),
        (7, "model"), (8, "occurred_at")]
    messages = {(e.line, e.field): e.message for e in result.errors}
    assert "time zone" in messages[(3, "occurred_at")] and "UTC" in messages[(3, "occurred_at")]
    assert not messages[(3, "occurred_at")].startswith("value error")
    assert messages[(5, "team")] == "unknown team 'nope'"
    assert "formula" in messages[(7, "model")]
    assert messages[(8, "occurred_at")] == "this field is required"
    assert str(result.errors[0]).startswith("line 3: occurred_at: has no time zone")
    assert events(db) == [] and model_names(db) == []


def test_a_row_refused_by_the_service_leaves_nothing_behind_even_its_model(db, admin):
    future = (utcnow() + timedelta(days=3)).isoformat()
    data = csv_bytes(good(), good(model="Tomorrow", type="deployed", occurred_at=future))
    result = run(db, data, admin, skip_invalid=True)
    assert result.imported == 1
    assert result.errors == [RowError(3, "occurred_at", "is in the future")]
    assert model_names(db) == ["Scorer"] and len(events(db)) == 1


def test_skip_invalid_imports_the_good_rows_and_reports_the_others(db, admin):
    data = csv_bytes(good(), good(type="launched"), good(type="deployed",
                                                         occurred_at="2026-02-01T00:00:00Z"))
    result = run(db, data, admin, skip_invalid=True)
    assert result.imported == 2 and not result.refused
    assert [(e.line, e.field) for e in result.errors] == [(3, "type")]
    assert [e[1] for e in events(db)] == ["ideated", "deployed"]


def test_an_external_id_reused_with_other_content_names_the_line(db, admin):
    data = csv_bytes(good(external_id="x"), good(type="deployed", external_id="x"))
    result = run(db, data, admin)
    assert [(e.line, e.field) for e in result.errors] == [(3, "external_id")]
    assert "already stored" in result.errors[0].message
    assert events(db) == []


def test_a_pm_imports_its_own_teams_only(db, admin, fraud):
    pm = principal_for_user(factories.make_user(db, role="pm", teams=[fraud]))
    result = run(db, csv_bytes(good(), good(team="search", model="Ranker")), pm)
    assert [(e.line, e.field) for e in result.errors] == [(3, "team")]
    assert "Search" in result.errors[0].message
    assert events(db) == [] and model_names(db) == []


@pytest.mark.parametrize(("data", "error"), [
    (csv_bytes(good(), columns=COLUMNS[1:]),
     RowError(1, "team", "required column is missing from the header row")),
    (b"team,model,type,occurred_at,colour\r\nfraud,Scorer,ideated,2026-01-05T00:00:00Z,red\r\n",
     RowError(1, "colour", "unknown column; the columns are " + ", ".join(COLUMNS))),
    (b"team,model,type,occurred_at\r\n", RowError(2, "file", "has no events below the header "
                                                             "row")),
    (b"team,model,type,occurred_at\r\nfraud,Scorer\r\n",
     RowError(2, "row", "has 2 cells but the header has 4 columns; put text that contains "
                        "commas in double quotes")),
])
def test_a_malformed_file_imports_nothing(db, admin, data, error):
    result = run(db, data, admin, skip_invalid=True)
    assert result.errors == [error] and result.imported == 0
    assert events(db) == []


def test_latin_1_is_refused_with_its_line(db, admin):
    data = csv_bytes(good(), good(model="Café")).decode().encode("latin-1")
    result = run(db, data, admin)
    assert [(e.line, e.field) for e in result.errors] == [(3, "file")]
    assert "not UTF-8" in result.errors[0].message


# --- the CLI --------------------------------------------------------------------------------

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
        fraud = factories.make_team(session, name="Fraud detection", slug="fraud")
        factories.make_team(session, name="Search", slug="search")
        factories.make_user(session, role="admin", email="admin@example.com")
        factories.make_user(session, role="pm", email="pm@example.com", teams=[fraud])
        factories.make_user(session, role="viewer", email="viewer@example.com", teams=[fraud])
        session.commit()
        yield session
    engine.dispose()
    get_settings.cache_clear()


def import_file(tmp_path: Path, data: bytes, *options: str):
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    return runner.invoke(cli_app, ["import", "events", str(path), *options])


def test_cli_imports_a_valid_file(tmp_path, cli_db):
    result = import_file(tmp_path, csv_bytes(good(external_id="1"),
                                             good(type="deployed", external_id="2")))
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == ("imported 2\n", "")
    assert [(e[0], e[1]) for e in events(cli_db)] == [("Scorer", "ideated"),
                                                      ("Scorer", "deployed")]
    again = import_file(tmp_path, csv_bytes(good(external_id="1")))
    assert (again.exit_code, again.stdout) == (0, "imported 0 (1 already stored)\n")


def test_cli_reports_bad_rows_and_imports_nothing(tmp_path, cli_db):
    result = import_file(tmp_path, csv_bytes(good(), good(type="launched"),
                                             good(occurred_at="2026-01-05T09:00:00")))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: line 3: type: input should be 'ideated'")
    assert lines[1].startswith("error: line 4: occurred_at: has no time zone; Northstar "
                               "stores UTC")
    assert len(lines) == 2 and result.stdout == ""
    assert events(cli_db) == [] and model_names(cli_db) == []


def test_cli_skip_invalid_imports_the_good_rows(tmp_path, cli_db):
    result = import_file(tmp_path, csv_bytes(good(), good(team="nope")), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 1\n"
    assert result.stderr == "skipped: line 3: team: unknown team 'nope'\n"
    assert len(events(cli_db)) == 1
    nothing_good = import_file(tmp_path, csv_bytes(good(team="nope")), "--skip-invalid")
    assert nothing_good.exit_code == 2
    assert len(events(cli_db)) == 1


def test_cli_imports_as_a_pm_only_its_teams_and_refuses_readers(tmp_path, cli_db):
    data = csv_bytes(good(), good(team="search", model="Ranker"))
    as_pm = import_file(tmp_path, data, "--as-email", "pm@example.com", "--skip-invalid")
    assert as_pm.exit_code == 0, as_pm.output
    assert "skipped: line 3: team: " in as_pm.stderr
    assert model_names(cli_db) == ["Scorer"]
    viewer = import_file(tmp_path, data, "--as-email", "viewer@example.com")
    assert viewer.exit_code == 2
    assert viewer.stderr == ("error: as-email: viewer@example.com is a viewer; only an admin "
                             "or a pm may import events\n")
    unknown = import_file(tmp_path, data, "--as-email", "nobody@example.com")
    assert unknown.exit_code == 2 and "no active user" in unknown.stderr
    assert len(events(cli_db)) == 1

"""`northstar export`: the quarterly summary to a file, on a database of its own (the demo
loaded by `northstar demo`); bad input exits non-zero naming the field and writes nothing."""

import io
import json
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from app.cli import app
from app.config import get_settings
from app.core import clock
from app.core.periods import quarter_of
from app.db import make_engine
from tests.reports.conftest import QUARTER, TEAM

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory) -> Iterator[str]:
    """A migrated database with the demo, of the configured kind: a SQLite file, or a private
    PostgreSQL schema."""
    url = os.environ.get("NORTHSTAR_TEST_DATABASE_URL")
    schema = None
    if url and make_url(url).get_backend_name() == "postgresql":
        schema = f"export_{uuid.uuid4().hex[:10]}"
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        database = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    else:
        database = f"sqlite:///{tmp_path_factory.mktemp('export') / 'cli.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_DATABASE_URL", database)
        get_settings.cache_clear()
        for args in (["migrate"], ["demo", "--password", "northstar-demo-password"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
        yield database
        get_settings.cache_clear()
    get_settings.cache_clear()
    if schema:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def export_cli(cli_database, monkeypatch):
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", cli_database)
    get_settings.cache_clear()

    def run(*args: str):
        return runner.invoke(app, ["export", *args])

    yield run
    get_settings.cache_clear()


def test_export_writes_the_team_workbook(export_cli, tmp_path: Path):
    out = tmp_path / "q3.xlsx"
    result = export_cli("--quarter", QUARTER, "--team", TEAM, "--format", "xlsx", "--output",
                        str(out))
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stdout
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert (book["About"]["A3"].value, book["About"]["B3"].value) == ("quarter", QUARTER)
    as_json = tmp_path / "q3.json"
    assert export_cli("--quarter", QUARTER, "--team", TEAM, "--format", "json", "--output",
                  str(as_json)).exit_code == 0
    data = json.loads(as_json.read_text())
    header = [c.value for c in book["Headline"][1]]
    for row in book["Headline"].iter_rows(min_row=2, values_only=True):
        metric, value = row[0], row[header.index(QUARTER)]
        expected = data["headline"][metric]["value"]
        assert (None if value is None else Decimal(str(value))) == (
            None if expected is None else Decimal(str(expected))), metric
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("fmt", ["pdf", "csv", "md", "html"])
def test_export_writes_every_format(export_cli, tmp_path: Path, fmt):
    out = tmp_path / f"report.{fmt}"
    result = export_cli("--quarter", QUARTER, "--format", fmt, "--output", str(out))
    assert result.exit_code == 0, result.output
    magic = {"pdf": b"%PDF-", "csv": b"PK", "md": b"# Quarterly summary 2026-Q3 \xc2\xb7 Whole",
             "html": b"<!doctype html>"}[fmt]
    assert out.read_bytes().startswith(magic)


def _future() -> str:
    return quarter_of(clock.today()).next().label


@pytest.mark.parametrize(("args", "field"), [
    (["--quarter", "2026-Q5"], "quarter"),
    (["--quarter", "Q3"], "quarter"),
    (["--quarter", "FUTURE"], "quarter"),
    (["--team", "no-such-team"], "team"),
    (["--format", "docx"], "format"),
])
def test_bad_input_exits_non_zero_and_writes_no_file(export_cli, tmp_path: Path, args, field):
    out = tmp_path / "report.out"
    args = [_future() if a == "FUTURE" else a for a in args]
    result = export_cli(*args, "--output", str(out))
    assert result.exit_code == 2, result.output
    assert f"error: {field}:" in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_refused_before_any_work(export_cli, tmp_path: Path):
    out = tmp_path / "nowhere" / "report.xlsx"
    result = export_cli("--quarter", QUARTER, "--output", str(out))
    assert result.exit_code == 2
    assert "error: output: the folder" in result.stderr
    assert not out.parent.exists()

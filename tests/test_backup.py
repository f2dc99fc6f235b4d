"""`northstar backup` / `northstar restore`: the demo organisation goes SQLite → PostgreSQL →
SQLite through the CLI, and every metric, row and login survives the trip.

PostgreSQL is always needed here, whatever NORTHSTAR_TEST_DATABASE_URL says: the point is
moving between the two backends. It is on this machine and in CI, so there is no skip: an
unreachable server fails the test.
"""

import dataclasses
import gzip
import json
import os
from collections.abc import Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.auth.models import LoginAttempt, User, UserSession
from app.auth.service import authenticate, resolve_token
from app.backup import TRANSIENT_TABLES
from app.cli import app as cli
from app.config import Settings, get_settings
from app.core.periods import parse_quarter
from app.dashboards.kpis import quarter_kpis
from app.db import Base, make_engine, make_sessionmaker
from app.demo.loader import DEMO_USERS, load_demo
from app.migrate import head_revision, upgrade_to_head
from app.pain_points.models import Confirmation, PainPoint
from app.pain_points.queries import GroupBy, PainPointFilters, cost_figures
from app.settings.models import OrgSettings
from app.teams.models import Team
from tests import factories
from tests.conftest import drop_schema, is_postgres, isolated_engine

TODAY = date(2026, 11, 29)
QUARTERS = ("2026-Q3", "2026-Q2")
DEMO_PASSWORD = "demo-password-123"
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/northstar_test"
CENTS = Decimal("0.01")
runner = CliRunner()


def postgres_url() -> str:
    configured = os.environ.get("NORTHSTAR_TEST_DATABASE_URL", "")
    return configured if configured and is_postgres(configured) else POSTGRES_DEFAULT


def invoke(database_url: str, *args: str):
    """The CLI against `database_url`, as an operator would run it."""
    get_settings.cache_clear()
    try:
        return runner.invoke(cli, list(args), env={"NORTHSTAR_DATABASE_URL": database_url})
    finally:
        get_settings.cache_clear()


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


# --- what must survive ------------------------------------------------------------------------


def _cents(value: Any) -> Any:
    return value.quantize(CENTS, rounding=ROUND_HALF_EVEN) if isinstance(value, Decimal) else value


def metrics(session: Session) -> dict[str, Any]:
    """The leader's KPIs (org-wide and per team) and cost by stage for two quarters, to cents."""
    session.expire_all()
    org = session.get(OrgSettings, 1)
    team_ids = sorted(session.scalars(select(Team.id)))
    result: dict[str, Any] = {"currency": org.currency}
    for label in QUARTERS:
        quarter = parse_quarter(label, org.fiscal_year_start_month)
        for scope in [None, *[frozenset({t}) for t in team_ids]]:
            kpis = quarter_kpis(session, org, quarter, team_ids=scope, today=TODAY)
            result[f"{label} kpis {sorted(scope or [])}"] = {
                f.name: {k: _cents(v) for k, v in dataclasses.asdict(getattr(kpis, f.name)).items()}
                for f in dataclasses.fields(kpis) if f.name != "quarter"
            }
        stages = cost_figures(session, PainPointFilters(), first=quarter.first_day,
                              last=quarter.last_day, weeks=org.working_weeks_per_year,
                              group_by=GroupBy.stage)
        result[f"{label} cost by stage"] = [
            {k: _cents(v) for k, v in dataclasses.asdict(row).items()} for row in stages
        ]
    return result


def row_counts(session: Session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables}


def dump_body(path: Path) -> list[str]:
    """Every line of a backup but its header (which names the time and the source backend)."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return list(lines)[1:]


# --- the round trip, once for the module ------------------------------------------------------


@dataclasses.dataclass
class Trip:
    source: Engine
    postgres: Engine
    postgres_url: str
    sqlite: Engine
    sqlite_url: str
    tmp: Path
    first_dump: Path
    second_dump: Path
    token: str
    expected: dict[str, Any]
    counts: dict[str, int]


def _session(engine: Engine) -> Session:
    return make_sessionmaker(engine)()


@pytest.fixture(scope="module")
def trip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trip]:
    tmp = tmp_path_factory.mktemp("backup")
    source_url = f"sqlite:///{tmp / 'source.db'}"
    upgrade_to_head(source_url)
    source = make_engine(source_url)
    with _session(source) as session:
        load_demo(session, today=TODAY, password=DEMO_PASSWORD)
        # What the demo leaves empty or at its defaults: an API token, a confirmation, edited
        # org settings (seeded rows that the restore must replace), and transient rows.
        org = session.get(OrgSettings, 1)
        org.currency, org.working_weeks_per_year = "EUR", Decimal("45.5")
        admin = session.scalar(select(User).where(User.email == DEMO_USERS[0].email))
        pm = session.scalar(select(User).where(User.email == DEMO_USERS[1].email))
        token = factories.make_token(session, admin, name="ci — déploiement")
        pain_point = session.scalars(select(PainPoint).order_by(PainPoint.id)).first()
        session.add(Confirmation(pain_point_id=pain_point.id, user_id=pm.id,
                                 hours=Decimal("2.75"), comment="me too ✓"))
        session.add(AuditEntry(actor="cli", action="update", entity_type="pain_point",
                               entity_id=str(pain_point.id),
                               before={"hours": "1.50", "tags": ["a", "ü"], "n": None},
                               after={"hours": "2.25", "nested": {"x": [1, 2.5, True]}}))
        session.add(LoginAttempt(email="x@example.com", ip="10.0.0.1", succeeded=False))
        session.add(UserSession(token_hash="f" * 64, user_id=admin.id))
        session.commit()
        expected, counts = metrics(session), row_counts(session)
    assert counts["user_session"] == counts["login_attempt"] == 1

    pg_base = postgres_url()
    postgres, schema = isolated_engine(pg_base)  # no skip: unreachable PostgreSQL fails here
    pg_url = make_url(pg_base).update_query_dict(
        {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    sqlite_url = f"sqlite:///{tmp / 'restored.db'}"
    first, second = tmp / "from-sqlite.jsonl.gz", tmp / "from-postgres.jsonl.gz"
    try:
        ok(invoke(source_url, "backup", str(first)))
        ok(invoke(pg_url, "migrate"))
        ok(invoke(pg_url, "restore", str(first)))
        ok(invoke(pg_url, "backup", str(second)))
        ok(invoke(sqlite_url, "migrate"))
        ok(invoke(sqlite_url, "restore", str(second)))
        yield Trip(source, postgres, pg_url, make_engine(sqlite_url), sqlite_url, tmp, first,
                   second, token, expected, counts)
    finally:
        postgres.dispose()
        source.dispose()
        drop_schema(pg_base, schema)


def test_every_metric_is_identical_after_sqlite_to_postgres_and_back(trip):
    assert trip.expected["2026-Q3 kpis []"]["annual_cost"]["value"] > 0  # the demo is there
    assert trip.expected["2026-Q3 kpis []"]["deployments"]["value"] > 0
    assert trip.expected["currency"] == "EUR"
    for engine in (trip.postgres, trip.sqlite):
        with _session(engine) as session:
            assert metrics(session) == trip.expected, engine.dialect.name


def test_every_row_is_moved_except_the_transient_ones(trip):
    expected = {name: 0 if name in TRANSIENT_TABLES else n for name, n in trip.counts.items()}
    for engine in (trip.postgres, trip.sqlite):
        with _session(engine) as session:
            assert row_counts(session) == expected, engine.dialect.name
    # Value for value: what PostgreSQL gives back is what SQLite gave it.
    assert dump_body(trip.first_dump) == dump_body(trip.second_dump)


def test_the_backup_names_its_revision_and_keeps_values_losslessly(trip):
    with gzip.open(trip.first_dump, "rt", encoding="utf-8") as lines:
        header = json.loads(next(lines))
        body = [json.loads(line) for line in lines]
    assert header["format"] == "northstar-backup" and header["version"] == 1
    assert header["alembic_revision"] == head_revision()
    assert header["source_dialect"] == "sqlite"
    assert datetime.fromisoformat(header["created_at"]).tzinfo is not None
    assert not set(header["tables"]) & TRANSIENT_TABLES
    # Derived tables (cost quarter totals, model milestones, deployment months) stay out: a restore rebuilds them,
    # and the row counts after the round trip (test above) include them.
    derived = {t.name for t in Base.metadata.sorted_tables if t.info.get("backup") is False}
    assert derived == {"pain_point_cost_quarter", "pain_point_cost_summary", "model_milestone",
                       "deployment_month", "pain_point_run_rate"}
    assert not set(header["tables"]) & derived
    assert body[-1] == {"end_of_backup": True, "tables": len(header["tables"]),
                        "rows": sum(n for t, n in trip.counts.items()
                                    if t not in TRANSIENT_TABLES | derived)}
    starts = [item["table"] for item in body if isinstance(item, dict) and "table" in item]
    assert starts == header["tables"]
    assert starts.index("team") < starts.index("pain_point") < starts.index("initiative_pain_point")
    columns = next(i["columns"] for i in body
                   if isinstance(i, dict) and i.get("table") == "persona")
    persona = next(row for row in body if isinstance(row, list) and len(row) == len(columns)
                   and row[columns.index("slug")] == "data-scientist")
    assert isinstance(persona[columns.index("hourly_cost")], str)  # a decimal, not a float


def test_users_and_tokens_still_work_after_the_round_trip(trip):
    settings = Settings(database_url=trip.sqlite_url, secret_key="x",
                        secret_key_file=trip.tmp / "secret")
    for engine in (trip.postgres, trip.sqlite):
        with _session(engine) as session:
            for demo_user in DEMO_USERS:
                user = authenticate(session, settings, email=demo_user.email,
                                    password=DEMO_PASSWORD, ip="127.0.0.1")
                assert user is not None and user.role == demo_user.role, engine.dialect.name
            principal = resolve_token(session, trip.token)
            assert principal is not None and principal.email == DEMO_USERS[0].email
            session.rollback()


def test_new_rows_get_fresh_ids_after_a_restore_into_postgres(trip):
    with _session(trip.postgres) as session:
        highest = session.scalar(select(func.max(PainPoint.id)))
        team = session.scalars(select(Team).order_by(Team.id)).first()
        pain_point = factories.make_pain_point(session, team, title="After the restore")
        entry = AuditEntry(actor="test", action="create", entity_type="pain_point",
                           entity_id=str(pain_point.id))
        session.add(entry)
        session.flush()
        assert pain_point.id == highest + 1
        assert entry.id > trip.counts["audit_log"]
        session.rollback()


def _snapshot(engine: Engine) -> tuple[dict[str, int], str]:
    with _session(engine) as session:
        org = session.get(OrgSettings, 1)
        return row_counts(session), f"{org.currency} {org.working_weeks_per_year}"


@pytest.mark.parametrize("target", ["postgres", "sqlite"])
def test_a_database_with_data_is_refused_without_force(trip, target):
    engine, url = getattr(trip, target), getattr(trip, f"{target}_url")
    before = _snapshot(engine)
    result = invoke(url, "restore", str(trip.first_dump))
    assert result.exit_code == 2, result.output
    assert "error: the database is not empty" in result.stderr
    assert "--force" in result.stderr
    assert _snapshot(engine) == before


def test_force_replaces_everything(trip):
    with _session(trip.sqlite) as session:
        team = session.scalars(select(Team).order_by(Team.id)).first()
        factories.make_pain_point(session, team, title="Only in the target")
        session.get(OrgSettings, 1).currency = "GBP"
        session.commit()
    result = invoke(trip.sqlite_url, "restore", "--force", str(trip.second_dump))
    assert "Restored" in ok(result)
    with _session(trip.sqlite) as session:
        assert session.scalar(select(func.count()).select_from(PainPoint).where(
            PainPoint.title == "Only in the target")) == 0
        assert metrics(session) == trip.expected


def _rewritten(source: Path, target: Path, edit) -> Path:
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        content = list(lines)
    with gzip.open(target, "wt", encoding="utf-8") as out:
        out.writelines(edit(content))
    return target


def test_a_backup_of_another_schema_revision_is_refused(trip):
    def other_revision(lines):
        header = json.loads(lines[0]) | {"alembic_revision": "0000_older"}
        return [json.dumps(header) + "\n", *lines[1:]]

    dump = _rewritten(trip.first_dump, trip.tmp / "old.jsonl.gz", other_revision)
    before = _snapshot(trip.postgres)
    result = invoke(trip.postgres_url, "restore", "--force", str(dump))
    assert result.exit_code == 2, result.output
    assert "revision 0000_older" in result.stderr and f"revision {head_revision()}" in result.stderr
    assert _snapshot(trip.postgres) == before


@pytest.mark.parametrize("target", ["postgres", "sqlite"])
def test_a_restore_that_fails_half_way_leaves_the_target_untouched(trip, target):
    """--force deletes first; a truncated file fails after thousands of inserts: all rolled
    back, the old data still there."""
    engine, url = getattr(trip, target), getattr(trip, f"{target}_url")
    dump = _rewritten(trip.first_dump, trip.tmp / f"truncated-{target}.jsonl.gz",
                      lambda lines: lines[: len(lines) * 9 // 10])
    before = _snapshot(engine)
    result = invoke(url, "restore", "--force", str(dump))
    assert result.exit_code == 2, result.output
    assert "truncated" in result.stderr
    assert _snapshot(engine) == before


def test_a_file_that_is_not_a_backup_is_refused(trip, tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("hello\n")
    result = invoke(trip.sqlite_url, "restore", str(plain))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: file: ")


def test_restore_needs_a_migrated_database(trip, tmp_path):
    result = invoke(f"sqlite:///{tmp_path / 'blank.db'}", "restore", str(trip.first_dump))
    assert result.exit_code == 1
    assert "northstar migrate" in result.stderr


def test_backup_refuses_a_missing_folder(trip, tmp_path):
    result = invoke(trip.sqlite_url, "backup", str(tmp_path / "nowhere" / "b.jsonl.gz"))
    assert result.exit_code == 2
    assert "error: file: the folder" in result.stderr

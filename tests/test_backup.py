"""`northstar backup` / `northstar restore` on a database that served real traffic.

The source is PostgreSQL filled the way users fill it: the demo loaded by `northstar demo`, then
the API with Idempotency-Keys (stored answers are `bytea`), browser sign-ins (sessions, login
attempts), CSV imports from the page and the command line, assessments, initiatives and
confirmations. It goes PostgreSQL → SQLite → PostgreSQL through the CLI, and every metric the
API and the overview answer, and every row count, must be the same at each stop.

PostgreSQL is needed whatever NORTHSTAR_TEST_DATABASE_URL says (the point is moving between the
two backends). The test creates its database when the server lacks it; it skips only when no
PostgreSQL server answers and the tests were not asked to run on PostgreSQL.
"""

import csv
import dataclasses
import gzip
import io
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import (
    Column, Engine, Interval, MetaData, PickleType, Table, func, select, text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.ops import backup
from app.auth.service import authenticate, resolve_token
from app.ops.backup import CODECS, NoCodec, codec_for, excluded_tables
from app.cli import app as cli
from app.config import Settings, get_settings
from app.core.periods import quarter_of
from app.dashboards.kpis import quarter_kpis
from app.core.orm import Base
from app.db import make_engine, make_sessionmaker
from app.demo.loader import DEMO_USERS
from app.main import create_app
from app.maturity.rubric import load_rubric
from app.ops.migrate import head_revision
from app.pain_points.models import PainPoint
from app.settings.models import OrgSettings
from app.teams.models import Team
from tests import factories
from tests.conftest import drop_schema, is_postgres, isolated_engine
from tests.helpers import csrf_from, soup_of

DEMO_PASSWORD = "demo-password-123"
# With no PostgreSQL URL configured: the maintenance database every server has (a fresh clone
# needs nothing prepared); each run works in private schemas of its own and drops them.
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CENTS = Decimal("0.01")
# Left out of a backup on purpose, and empty after a restore (docs/backup-restore-observability.md).
TRANSIENT = {"login_attempt", "user_session", "sso_login"}
runner = CliRunner()


# --- PostgreSQL: the configured server, its database created when missing --------------------


def postgres_url() -> str:
    configured = os.environ.get("NORTHSTAR_TEST_DATABASE_URL", "")
    return configured if configured and is_postgres(configured) else POSTGRES_DEFAULT


def ensure_postgres_database(url: str) -> None:
    """Creates the database `url` names when the server lacks it; skips the module only when no
    PostgreSQL server answers at all and the tests were not pointed at PostgreSQL."""
    engine = make_engine(url)
    try:
        with engine.connect():
            return
    except OperationalError as exc:
        message = str(exc.orig)
        if "does not exist" not in message:
            configured = os.environ.get("NORTHSTAR_TEST_DATABASE_URL", "")
            if configured and is_postgres(configured):
                raise  # asked for PostgreSQL: an unreachable server fails the run
            parsed = make_url(url)
            pytest.skip(f"no PostgreSQL server answers at {parsed.host}:{parsed.port} "
                        f"({message.strip().splitlines()[0]}) and NORTHSTAR_TEST_DATABASE_URL "
                        "is not PostgreSQL: backup/restore between the backends is not tested")
    finally:
        engine.dispose()
    parsed = make_url(url)
    server = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False),
                         isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(parsed.database)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
    except ProgrammingError as exc:  # another run created it meanwhile
        if "already exists" not in str(exc.orig):
            raise
    finally:
        server.dispose()


def invoke_on(database_url: str, *args: str):
    """The CLI against `database_url`, as an operator would run it."""
    get_settings.cache_clear()
    try:
        return runner.invoke(cli, list(args), env={"NORTHSTAR_DATABASE_URL": database_url})
    finally:
        get_settings.cache_clear()


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def schema_url(base: str, schema: str) -> str:
    return make_url(base).update_query_dict(
        {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


# --- real traffic -----------------------------------------------------------------------------


def app_client(url: str, tmp: Path) -> TestClient:
    settings = Settings(database_url=url, secret_key="backup-test-secret-key",
                        secret_key_file=tmp / "secret")
    return TestClient(create_app(settings), base_url="http://testserver", follow_redirects=False)


def serve_traffic(client: TestClient, token: str, tmp: Path, url: str) -> None:
    """What API clients, browsers and operators do in a day, through the app's own doors."""
    today = datetime.now(UTC).date()
    keys = iter(range(1_000_000))

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"trip-{next(keys)}"}
        response = client.post(f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code in (200, 201), (path, response.text)
        replay = client.post(f"/api/v1{path}", json=body, headers=headers)  # a client's retry
        assert replay.headers.get("Idempotent-Replayed") == "true", (path, replay.text)
        assert replay.content == response.content
        return response.json()

    post("/teams", {"name": "Séance — ranking", "slug": "ranking",
                    "description": "Two lines:\nsearch and ✓ ranking",
                    "headcounts": [{"persona": "data-scientist", "headcount": 4,
                                    "hourly_cost": "101.25"}]})
    pain_point = post("/pain-points", {
        "team": "ranking", "persona": "data-scientist", "stage": "deployment",
        "title": "Feature store «timeouts»", "description": "Tab\there, and ümlauts",
        "hours_low": "1.25", "hours_likely": "2.50", "hours_high": "6.75",
        "observed_since": (today - timedelta(days=200)).isoformat()})
    model = post("/models", {"team": "ranking", "name": "Reranker", "use_case": "search",
                             "annual_value_low": "100000.25", "annual_value_likely": "150006",
                             "annual_value_high": "250000.75"})
    post(f"/models/{model['id']}/events", {"type": "ideated",
                                           "occurred_at": "2026-02-03T04:05:06.789012+02:00"})
    post("/events", {"team": "ranking", "model": "Reranker", "type": "deployed",
                     "occurred_at": f"{today - timedelta(days=20)}T10:00:00Z",
                     "source": "api", "external_id": "deploy-1"})
    post(f"/models/{model['id']}/compute-costs", {
        "month": (today.replace(day=1) - timedelta(days=1)).isoformat(),
        "gpu_hours": "12.50", "amount": "431.07", "note": "A100s"})
    post(f"/models/{model['id']}/kpis", {"key": "clicks", "name": "Clicks «won»",
                                         "unit": "clicks", "value_per_unit": "0.0125"})
    post("/kpi-observations", {"team": "ranking", "model": "Reranker", "kpi": "clicks",
                               "month": (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
                               "amount": "-12.5", "source": "api", "external_id": "kpi-1",
                               "note": "a loss ✓"})
    post("/quality-observations", {"team": "ranking", "model": "Reranker", "metric": "ndcg",
                                   "value": 0.4123456789, "source": "api",
                                   "observed_at": f"{today - timedelta(days=10)}T10:00:00Z",
                                   "external_id": "q-1"})
    post("/maturity-assessments", {"team": "ranking", "answers": {
        key: ("yes", "partial", "no")[i % 3] for i, key in enumerate(load_rubric().keys())}})
    post("/initiatives", {"title": "Warm pools", "owner": "Marcus", "team": "ranking",
                          "status": "in_progress", "one_time_cost": "9000.10",
                          "yearly_run_cost": "1800", "started_on": "2026-01-05",
                          "links": [{"pain_point": pain_point["id"],
                                     "expected_reduction": "62.50"}]})

    # A browser: a failed and a good sign-in, then a CSV import from the page.
    page = client.get("/login")
    pm = DEMO_USERS[1].email
    client.post("/login", data={"email": pm, "password": "wrong", "csrf_token": csrf_from(
        page.text), "next": "/"})
    page = client.get("/login")
    signed_in = client.post("/login", data={"email": pm, "password": DEMO_PASSWORD,
                                            "csrf_token": csrf_from(page.text), "next": "/"})
    assert signed_in.status_code == 303, signed_in.text
    theirs = client.get("/api/v1/pain-points?team=fraud-detection",
                        headers={"Authorization": f"Bearer {token}"}).json()["items"][0]["id"]
    csrf = csrf_from(client.get(f"/pain-points/{theirs}").text)
    confirmed = client.post(f"/pain-points/{theirs}/confirm", data={
        "csrf_token": csrf, "hours": "3.25", "comment": "me too ✓"})
    assert confirmed.status_code == 303, confirmed.text
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["team", "persona", "stage", "title", "hours_low", "hours_likely",
                     "hours_high", "observed_since"])
    writer.writerow(["fraud-detection", "data-scientist", "deployment", "Imported, «quoted»",
                     "1", "2.25", "4", (today - timedelta(days=40)).isoformat()])
    csrf = csrf_from(client.get("/pain-points/import").text)
    imported = client.post("/pain-points/import", data={"csrf_token": csrf},
                           files={"file": ("p.csv", rows.getvalue().encode(), "text/csv")})
    assert imported.status_code in (200, 303), imported.text
    # A spreadsheet-sized upload runs as a background job; the page polls it until it ends.
    big = io.StringIO()
    writer = csv.writer(big)
    writer.writerow(["team", "persona", "stage", "title", "hours_low", "hours_likely",
                     "hours_high", "observed_since"])
    for n in range(1001):
        writer.writerow(["fraud-detection", "ml-engineer", "serving", f"Bulk {n}", "0.5", "1",
                         "2", (today - timedelta(days=30)).isoformat()])
    csrf = csrf_from(client.get("/pain-points/import").text)
    started = client.post("/pain-points/import", data={"csrf_token": csrf},
                          files={"file": ("big.csv", big.getvalue().encode(), "text/csv")})
    assert started.status_code == 303, started.text
    job_page = started.headers["location"]
    for _ in range(240):
        shown = client.get(job_page).text
        if "updates itself" not in shown:
            break
        time.sleep(0.5)
    assert "Imported 1,001 pain points" in soup_of(shown).get_text(), shown
    client.post("/logout", data={"csrf_token": csrf})

    events = tmp / "events.csv"
    events.write_text("team,model,type,occurred_at,version,source,external_id\n"
                      f"fraud-detection,Imported model,ideated,{today - timedelta(days=9)}"
                      "T08:00:00Z,,csv,imp-1\n")
    ok(invoke_on(url, "import", "events", str(events), "--as-email", DEMO_USERS[0].email))
    ok(invoke_on(url, "sso", "map", "--group", "ml-pms", "--role", "pm", "--team", "ranking"))


# --- what must survive ------------------------------------------------------------------------


def _cents(value: Any) -> Any:
    return value.quantize(CENTS, rounding=ROUND_HALF_EVEN) if isinstance(value, Decimal) else value


def overview(session: Session) -> dict[str, Any]:
    """The overview's KPI tiles, org-wide and per team, for the last two quarters."""
    org = session.get(OrgSettings, 1)
    today = datetime.now(UTC).date()
    result: dict[str, Any] = {"currency": org.currency}
    team_ids = sorted(session.scalars(select(Team.id)))
    quarter = quarter_of(today, org.fiscal_year_start_month)
    for label, q in (("this", quarter), ("previous", quarter.previous())):
        for scope in [None, *[frozenset({t}) for t in team_ids]]:
            kpis = quarter_kpis(session, org, q, team_ids=scope, today=today)
            result[f"{label} {sorted(scope or [])}"] = {
                f.name: {k: _cents(v) for k, v in dataclasses.asdict(getattr(kpis, f.name)).items()}
                for f in dataclasses.fields(kpis) if f.name != "quarter"}
    return result


API_READS = (
    "/metrics/cost?group_by=stage", "/metrics/cost?group_by=team",
    "/metrics/cost?group_by=persona", "/metrics/velocity", "/metrics/compute",
    "/metrics/maturity", "/metrics/roi", "/reports/quarterly",
    "/teams?include_archived=true&page_size=500", "/personas", "/settings",
    "/pain-points?page_size=500&include_deleted=true", "/models?page_size=500",
    "/initiatives?page_size=500", "/maturity-assessments?page_size=500",
    "/compute-costs?page_size=500",
)


def _canonical(value: Any) -> Any:
    """The answer without what is not data: days since the last deployment count from the
    moment of the request, and rows that tie on a list's sort key come in either order (the
    backends break ties differently; which row is first is no figure)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if k not in ("staleness_days", "rank")}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


# SQLite measures days between timestamps with julianday(), a float: a median of intervals can
# land one cent off PostgreSQL's exact interval arithmetic (42.07 against 42.08 days). Those
# figures may differ by that much between the backends, never within one.
FLOAT_DAYS_ON_SQLITE = frozenset({"retrain_cadence_days"})


def differences(got: Any, want: Any, *, loose: frozenset[str] = frozenset(),
                path: str = "") -> list[str]:
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want))
                for d in differences(got.get(k), want.get(k), loose=loose, path=f"{path}.{k}")]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True))
                for d in differences(g, w, loose=loose, path=f"{path}[{i}]")]
    if got == want:
        return []
    if path.rsplit(".", 1)[-1] in loose and isinstance(got, str) and isinstance(want, str):
        if abs(Decimal(got) - Decimal(want)) <= CENTS:
            return []
    return [f"{path}: {got!r} != {want!r}"]


def api_figures(url: str, token: str, tmp: Path) -> dict[str, Any]:
    """Every figure and list the API answers an admin."""
    with app_client(url, tmp) as client:
        answers = {}
        for path in API_READS:
            response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, (path, response.text)
            answer = response.json()
            # A list longer than a page is read whole: which rows a page holds depends on how
            # a backend breaks ties in the sort, the whole list does not.
            page = 1
            while isinstance(answer, dict) and "items" in answer and len(
                    answer["items"]) < answer.get("total", 0):
                page += 1
                more = client.get(f"/api/v1{path}&page={page}",
                                  headers={"Authorization": f"Bearer {token}"})
                assert more.status_code == 200 and more.json()["items"], (path, page)
                answer["items"] += more.json()["items"]
            answers[path] = _canonical(answer)
        return answers


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t))
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
    overview: dict[str, Any]
    api: dict[str, Any]
    counts: dict[str, int]


@pytest.fixture(scope="module")
def trip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trip]:
    tmp = tmp_path_factory.mktemp("backup")
    pg_base = postgres_url()
    ensure_postgres_database(pg_base)
    source, source_schema = isolated_engine(pg_base)
    target, target_schema = isolated_engine(pg_base)
    source_url, target_url = schema_url(pg_base, source_schema), schema_url(pg_base, target_schema)
    sqlite_url = f"sqlite:///{tmp / 'restored.db'}"
    first, second = tmp / "from-postgres.jsonl.gz", tmp / "from-sqlite.jsonl.gz"
    try:
        ok(invoke_on(source_url, "migrate"))
        ok(invoke_on(source_url, "demo", "--password", DEMO_PASSWORD))
        token = ok(invoke_on(source_url, "tokens", "create", "--email", DEMO_USERS[0].email,
                          "--name", "ci — déploiement")).strip().splitlines()[-1]
        with app_client(source_url, tmp) as client:
            serve_traffic(client, token, tmp, source_url)
        with make_sessionmaker(source)() as session:
            expected_overview = overview(session)
        expected_api = api_figures(source_url, token, tmp)
        counts = row_counts(source)

        ok(invoke_on(source_url, "backup", str(first)))
        ok(invoke_on(sqlite_url, "migrate"))
        ok(invoke_on(sqlite_url, "restore", str(first)))
        ok(invoke_on(sqlite_url, "backup", str(second)))
        ok(invoke_on(target_url, "migrate"))
        ok(invoke_on(target_url, "restore", str(second)))
        yield Trip(source, target, target_url, make_engine(sqlite_url), sqlite_url, tmp, first,
                   second, token, expected_overview, expected_api, counts)
    finally:
        source.dispose()
        target.dispose()
        drop_schema(pg_base, source_schema)
        drop_schema(pg_base, target_schema)


def test_the_traffic_filled_every_table(trip):
    # Pending single sign-ons exist only between the provider's redirect and its callback
    # (tests/test_oidc.py); they are transient and never in a backup.
    empty = sorted(name for name, n in trip.counts.items() if n == 0 and name != "sso_login")
    assert not empty, f"fill these tables with traffic in serve_traffic(): {empty}"


def test_every_figure_is_identical_after_postgres_to_sqlite_and_back(trip):
    first_tile = trip.overview["this []"]
    assert first_tile["annual_cost"]["value"] > 0  # the demo and the traffic are there
    assert trip.api["/metrics/velocity"] and trip.api["/metrics/roi"]
    for engine, url, loose in ((trip.sqlite, trip.sqlite_url, FLOAT_DAYS_ON_SQLITE),
                               (trip.postgres, trip.postgres_url, frozenset())):
        with make_sessionmaker(engine)() as session:
            assert overview(session) == trip.overview, engine.dialect.name
        wrong = differences(api_figures(url, trip.token, trip.tmp), trip.api, loose=loose)
        assert not wrong, f"{engine.dialect.name}:\n" + "\n".join(wrong[:40])


def test_every_table_is_restored_row_for_row_except_the_transient_ones(trip):
    expected = {name: 0 if name in TRANSIENT else n for name, n in trip.counts.items()}
    assert trip.counts["idempotency_key"] > 0 and trip.counts["user_session"] > 0
    for engine in (trip.sqlite, trip.postgres):
        assert row_counts(engine) == expected, engine.dialect.name
    # Value for value: what SQLite gives back is what PostgreSQL gave it.
    assert dump_body(trip.first_dump) == dump_body(trip.second_dump)


def test_a_retried_request_is_still_answered_from_its_stored_key_after_the_restore(trip):
    """Idempotency keys (stored answers in `bytea`) are restored exactly: a client retrying a
    write after the restore gets its first answer, not a duplicate."""
    with app_client(trip.postgres_url, trip.tmp) as client:
        body = {"name": "Séance — ranking", "slug": "ranking",
                "description": "Two lines:\nsearch and ✓ ranking",
                "headcounts": [{"persona": "data-scientist", "headcount": 4,
                                "hourly_cost": "101.25"}]}
        replay = client.post("/api/v1/teams", json=body, headers={
            "Authorization": f"Bearer {trip.token}", "Idempotency-Key": "trip-0"})
    assert replay.status_code == 201, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["slug"] == "ranking"


def test_the_backup_names_its_revision_and_keeps_values_losslessly(trip):
    with gzip.open(trip.first_dump, "rt", encoding="utf-8") as lines:
        header = json.loads(next(lines))
        body = [json.loads(line) for line in lines]
    assert header["format"] == "northstar-backup" and header["version"] == backup.FORMAT_VERSION
    assert header["alembic_revision"] == head_revision()
    assert header["source_dialect"] == "postgresql"
    assert datetime.fromisoformat(header["created_at"]).tzinfo is not None
    assert set(header["excluded"]) == excluded_tables()
    derived = {t.name for t in Base.metadata.sorted_tables if t.info.get("backup") is False}
    assert excluded_tables() == TRANSIENT | derived
    assert not set(header["tables"]) & excluded_tables()
    trailer = body[-1]
    assert trailer["manifest"] == {t: trip.counts[t] for t in header["tables"]}
    assert trailer["rows"] == sum(trailer["manifest"].values())
    starts = [item["table"] for item in body if isinstance(item, dict) and "table" in item]
    assert starts == header["tables"]
    assert starts.index("team") < starts.index("pain_point") < starts.index("initiative_pain_point")

    def rows_of(table: str) -> list[dict[str, Any]]:
        columns = next(i["columns"] for i in body if isinstance(i, dict) and i.get("table") == table)
        start = body.index({"table": table, "columns": columns})
        end = body.index({"end": table, "rows": trip.counts[table]})
        return [dict(zip(columns, row, strict=True)) for row in body[start + 1:end]]

    persona = next(r for r in rows_of("persona") if r["slug"] == "data-scientist")
    assert isinstance(persona["hourly_cost"], str)  # a decimal, not a float
    keys = [r for r in rows_of("idempotency_key") if r["response_body"] is not None]
    assert keys and all(isinstance(r["response_body"], str) for r in keys)  # base64


# --- the encoder table ------------------------------------------------------------------------


def test_every_column_type_of_the_schema_has_a_lossless_codec():
    """Fails the build when a column of a type without a codec enters the schema."""
    missing = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            try:
                codec_for(column)
            except NoCodec as exc:
                missing.append(exc.message)
    assert not missing, "\n".join(missing)


def test_a_column_type_without_a_codec_is_refused_before_any_file_is_written():
    table = Table("probe", MetaData(), Column("blob", PickleType), Column("span", Interval))
    for column in table.columns:
        with pytest.raises(NoCodec, match="add it to CODECS"):
            codec_for(column)


@pytest.mark.parametrize("value", [
    b"\x00\xff{\"a\": 1}", True, 2**31 - 1, "tab\tü✓", Decimal("110.00"), Decimal("-0.0001"),
    datetime(2026, 2, 3, 2, 5, 6, 789012, tzinfo=UTC), date(1999, 12, 31),
    {"nested": [1, 2.5, None, "ü"]}, 0.1 + 0.2, -1.7976931348623157e308, 5e-324,
])
def test_each_codec_gives_back_exactly_what_it_was_given(value):
    kinds = {bytes: "LargeBinary", bool: "Boolean", int: "Integer", str: "String",
             Decimal: "Numeric", datetime: "DateTime", date: "Date", dict: "JSON",
             float: "Float"}
    codec = next(c for base, c in CODECS if base.__name__ == kinds[type(value)])
    decoded = codec.decode(json.loads(json.dumps(codec.encode(value))))
    assert decoded == value and type(decoded) is type(value)
    if isinstance(value, Decimal):
        assert str(decoded) == str(value)  # the scale too


# --- refusals: nothing changes ----------------------------------------------------------------


def _snapshot(engine: Engine) -> tuple[dict[str, int], str]:
    with make_sessionmaker(engine)() as session:
        org = session.get(OrgSettings, 1)
        return row_counts(engine), f"{org.currency} {org.working_weeks_per_year}"


@pytest.mark.parametrize("target", ["postgres", "sqlite"])
def test_a_database_with_data_is_refused_without_force(trip, target):
    engine, url = getattr(trip, target), getattr(trip, f"{target}_url")
    before = _snapshot(engine)
    result = invoke_on(url, "restore", str(trip.first_dump))
    assert result.exit_code == 2, result.output
    assert "error: the database is not empty" in result.stderr
    assert "--force" in result.stderr
    assert _snapshot(engine) == before


def _rewritten(source: Path, target: Path, edit) -> Path:
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        content = list(lines)
    with gzip.open(target, "wt", encoding="utf-8") as out:
        out.writelines(edit(content))
    return target


def _header(lines: list[str], **changes: Any) -> list[str]:
    return [json.dumps(json.loads(lines[0]) | changes) + "\n", *lines[1:]]


def test_a_backup_of_another_schema_revision_is_refused(trip):
    dump = _rewritten(trip.first_dump, trip.tmp / "old.jsonl.gz",
                      lambda lines: _header(lines, alembic_revision="0000_older"))
    before = _snapshot(trip.postgres)
    result = invoke_on(trip.postgres_url, "restore", "--force", str(dump))
    assert result.exit_code == 2, result.output
    assert "revision 0000_older" in result.stderr and f"revision {head_revision()}" in result.stderr
    assert _snapshot(trip.postgres) == before


def test_a_backup_of_a_newer_format_is_refused(trip):
    dump = _rewritten(trip.first_dump, trip.tmp / "newer.jsonl.gz",
                      lambda lines: _header(lines, version=backup.FORMAT_VERSION + 1))
    before = _snapshot(trip.sqlite)
    result = invoke_on(trip.sqlite_url, "restore", "--force", str(dump))
    assert result.exit_code == 2, result.output
    assert f"format version {backup.FORMAT_VERSION + 1}, newer than this Northstar" in result.stderr
    assert _snapshot(trip.sqlite) == before


@pytest.mark.parametrize("target", ["postgres", "sqlite"])
def test_a_restore_that_fails_half_way_leaves_the_target_untouched(trip, target):
    """--force deletes first; a truncated file fails after thousands of inserts: all rolled
    back, the old data still there."""
    engine, url = getattr(trip, target), getattr(trip, f"{target}_url")
    dump = _rewritten(trip.first_dump, trip.tmp / f"truncated-{target}.jsonl.gz",
                      lambda lines: lines[: len(lines) * 9 // 10])
    before = _snapshot(engine)
    result = invoke_on(url, "restore", "--force", str(dump))
    assert result.exit_code == 2, result.output
    assert "truncated" in result.stderr
    assert _snapshot(engine) == before


def test_a_file_cut_in_the_middle_of_its_compressed_bytes_is_refused(trip):
    cut = trip.tmp / "cut.jsonl.gz"
    data = trip.first_dump.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    before = _snapshot(trip.sqlite)
    result = invoke_on(trip.sqlite_url, "restore", "--force", str(cut))
    assert result.exit_code == 2, result.output
    assert "truncated" in result.stderr
    assert _snapshot(trip.sqlite) == before


def test_a_damaged_row_or_manifest_is_refused(trip):
    def bad_value(lines: list[str]) -> list[str]:
        # A date no calendar has, in the first pain point's `observed_since` (a date column:
        # a value that merely looks like a date, a slug "data-teams", would restore fine).
        out, column, done = list(lines), None, False
        for i, line in enumerate(out):
            item = json.loads(line)
            if isinstance(item, dict) and item.get("table") == "pain_point":
                column = item["columns"].index("observed_since")
            elif isinstance(item, list) and column is not None and not done:
                item[column] = "2026-13-45"
                out[i], done = json.dumps(item) + "\n", True
        assert done
        return out

    def bad_manifest(lines: list[str]) -> list[str]:
        trailer = json.loads(lines[-1])
        trailer["manifest"]["team"] += 1
        return [*lines[:-1], json.dumps(trailer) + "\n"]

    before = _snapshot(trip.sqlite)
    for name, edit, message in (("value", bad_value, "cannot be read"),
                                ("manifest", bad_manifest, "manifest does not match")):
        dump = _rewritten(trip.first_dump, trip.tmp / f"bad-{name}.jsonl.gz", edit)
        result = invoke_on(trip.sqlite_url, "restore", "--force", str(dump))
        assert result.exit_code == 2, result.output
        assert message in result.stderr, result.stderr
    assert _snapshot(trip.sqlite) == before


def test_a_file_that_is_not_a_backup_is_refused(trip, tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("hello\n")
    result = invoke_on(trip.sqlite_url, "restore", str(plain))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: file: ")


def test_restore_needs_a_migrated_database(trip, tmp_path):
    result = invoke_on(f"sqlite:///{tmp_path / 'blank.db'}", "restore", str(trip.first_dump))
    assert result.exit_code == 1
    assert "northstar migrate" in result.stderr


def test_backup_refuses_a_missing_folder(trip, tmp_path):
    result = invoke_on(trip.sqlite_url, "backup", str(tmp_path / "nowhere" / "b.jsonl.gz"))
    assert result.exit_code == 2
    assert "error: file: the folder" in result.stderr


def test_a_failed_backup_leaves_no_file(trip, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise NoCodec("probe.span is of type Interval, which app/ops/backup.py cannot write")

    monkeypatch.setattr(backup, "write_backup", broken)
    target = tmp_path / "b.jsonl.gz"
    with trip.sqlite.connect() as conn, pytest.raises(NoCodec):
        backup.backup_to_file(conn, target)
    assert list(tmp_path.iterdir()) == []


# --- after the trip: people and ids -----------------------------------------------------------


def test_users_and_tokens_still_work_after_the_round_trip(trip):
    settings = Settings(database_url=trip.sqlite_url, secret_key="x",
                        secret_key_file=trip.tmp / "secret")
    for engine in (trip.postgres, trip.sqlite):
        with make_sessionmaker(engine)() as session:
            for demo_user in DEMO_USERS:
                user = authenticate(session, settings, email=demo_user.email,
                                    password=DEMO_PASSWORD, ip="127.0.0.1")
                assert user is not None and user.role == demo_user.role, engine.dialect.name
            principal = resolve_token(session, trip.token)
            assert principal is not None and principal.email == DEMO_USERS[0].email
            session.rollback()


def test_new_rows_get_fresh_ids_after_a_restore_into_postgres(trip):
    with make_sessionmaker(trip.postgres)() as session:
        highest = session.scalar(select(func.max(PainPoint.id)))
        team = session.scalars(select(Team).order_by(Team.id)).first()
        pain_point = factories.make_pain_point(session, team, title="After the restore")
        session.flush()
        assert pain_point.id == highest + 1
        session.rollback()


def test_force_replaces_everything(trip):
    with make_sessionmaker(trip.sqlite)() as session:
        team = session.scalars(select(Team).order_by(Team.id)).first()
        factories.make_pain_point(session, team, title="Only in the target")
        session.get(OrgSettings, 1).currency = "GBP"
        session.commit()
    result = invoke_on(trip.sqlite_url, "restore", "--force", str(trip.second_dump))
    assert "Restored" in ok(result)
    with make_sessionmaker(trip.sqlite)() as session:
        assert session.scalar(select(func.count()).select_from(PainPoint).where(
            PainPoint.title == "Only in the target")) == 0
        assert overview(session) == trip.overview

"""Serving under load (issue 9): requests queue for the connection pool instead of failing,
SQLite readers and writers do not lock each other out, and `northstar serve` keeps busy workers.

The SQLite tests run on files of their own, whatever NORTHSTAR_TEST_DATABASE_URL names; the
others use the configured test database (SQLite or PostgreSQL)."""

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import anyio.to_thread
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.config import Settings, get_settings
from app.db import (
    UNGATED_THREADS, SessionDep, begin_write, get_session, make_engine, make_sessionmaker,
)
from app.main import create_app
from app.ops.migrate import current_revision, head_revision, upgrade_to_head

WAIT = 30  # seconds: only a bound that keeps a broken test from hanging, never asserted


# --- SQLite: WAL, and writers that begin as writers -----------------------------------------

@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'serving.db'}"


@pytest.fixture
def counter_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    yield engine
    engine.dispose()


def counter(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()


def raw(path: str) -> sqlite3.Connection:
    """A second client of the file that never waits for a lock: busy means an error at once."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=0")
    return conn


def test_a_sqlite_file_runs_in_wal_mode_with_normal_sync(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_an_existing_rollback_journal_file_is_switched_to_wal(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    assert old.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    old.execute("CREATE TABLE t (x INTEGER)")
    old.commit()
    old.close()
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect():
        pass
    engine.dispose()
    # The mode is kept in the file: a client that sets nothing sees it.
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_in_memory_database_still_works():
    engine = make_engine("sqlite://")
    with make_sessionmaker(engine)() as session:
        begin_write(session)
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "memory"
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
        session.commit()
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()


def test_a_reader_does_not_block_a_writer(counter_engine, tmp_path):
    with counter_engine.connect() as reader:
        reader.begin()
        assert reader.execute(text("SELECT value FROM counter")).scalar_one() == 0
        writer = raw(str(tmp_path / "serving.db"))
        writer.execute("BEGIN")
        writer.execute("UPDATE counter SET value = 7")
        writer.execute("COMMIT")  # rollback journal: "database is locked" while the read lasts
        writer.close()
        # The reader keeps its snapshot until its transaction ends.
        assert reader.execute(text("SELECT value FROM counter")).scalar_one() == 0
    assert counter(counter_engine) == 7


def test_a_deferred_read_then_write_fails_after_another_write(counter_engine):
    """Why saves begin IMMEDIATE: waiting does not help a deferred transaction that read."""
    make = make_sessionmaker(counter_engine)
    with make() as first, make() as second:
        first.execute(text("SELECT value FROM counter")).scalar_one()
        second.execute(text("UPDATE counter SET value = value + 1"))
        second.commit()
        with pytest.raises(OperationalError, match="database is locked"):
            first.execute(text("UPDATE counter SET value = value + 1"))
        first.rollback()
    assert counter(counter_engine) == 1


def test_two_concurrent_read_then_write_transactions_both_succeed(counter_engine):
    make = make_sessionmaker(counter_engine)
    first_has_read = threading.Event()
    second_started = threading.Event()
    errors: list[BaseException] = []

    def increment(before_write: Callable[[], None]) -> None:
        try:
            with make() as session:
                begin_write(session)
                value = session.execute(text("SELECT value FROM counter")).scalar_one()
                before_write()
                session.execute(text("UPDATE counter SET value = :v"), {"v": value + 1})
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def first_waits() -> None:
        first_has_read.set()
        # Give the second writer time to line up behind the lock; not a timing assertion.
        second_started.wait(WAIT)
        threading.Event().wait(0.3)

    first = threading.Thread(target=increment, args=(first_waits,))
    second = threading.Thread(target=increment, args=(lambda: None,))
    first.start()
    assert first_has_read.wait(WAIT)
    second_started.set()
    second.start()
    first.join(WAIT)
    second.join(WAIT)
    assert errors == []
    assert counter(counter_engine) == 2  # neither lost the other's update


def request_for(method: str, engine: Engine) -> SimpleNamespace:
    state = SimpleNamespace(sessionmaker=make_sessionmaker(engine))
    return SimpleNamespace(method=method, app=SimpleNamespace(state=state))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_changing_request_holds_the_write_lock_from_its_start(method, counter_engine, tmp_path):
    dependency = get_session(request_for(method, counter_engine))
    next(dependency)
    other = raw(str(tmp_path / "serving.db"))
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        other.execute("BEGIN IMMEDIATE")
    dependency.close()
    other.execute("BEGIN IMMEDIATE")  # released with the request's session
    other.execute("ROLLBACK")
    other.close()


def test_many_concurrent_saves_all_succeed(counter_engine):
    """Twelve requests that read then write the same row at once, as a save does."""
    request = request_for("PATCH", counter_engine)
    start = threading.Barrier(12, timeout=WAIT)
    errors: list[BaseException] = []

    def save() -> None:
        try:
            start.wait()
            dependency = get_session(request)
            session = next(dependency)
            value = session.execute(text("SELECT value FROM counter")).scalar_one()
            session.execute(text("UPDATE counter SET value = :v"), {"v": value + 1})
            with pytest.raises(StopIteration):
                next(dependency)  # commits
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert errors == []
    assert counter(counter_engine) == 12


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_reading_request_leaves_the_write_lock_free(method, counter_engine, tmp_path):
    dependency = get_session(request_for(method, counter_engine))
    session = next(dependency)
    assert session.execute(text("SELECT value FROM counter")).scalar_one() == 0
    other = raw(str(tmp_path / "serving.db"))
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE counter SET value = 5")
    other.execute("COMMIT")
    other.close()
    with pytest.raises(StopIteration):
        next(dependency)  # commits its (empty) transaction


def test_migrations_run_on_a_fresh_wal_file(sqlite_url):
    assert upgrade_to_head(sqlite_url) == head_revision()
    assert current_revision(sqlite_url) == head_revision()
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


# --- requests, threads and the connection pool ----------------------------------------------

def serving_settings(tmp_path: Path, database_url: str, **overrides) -> Settings:
    return Settings(database_url=database_url, secret_key="serving-test-secret",
                    secret_key_file=tmp_path / "secret", **overrides)


def thread_tokens(app: FastAPI) -> Callable[[], float]:
    @app.get("/_test/thread-tokens")
    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    return tokens


def test_the_engine_pool_comes_from_the_settings(tmp_path, database_url):
    settings = serving_settings(tmp_path, database_url, db_pool_size=3, db_max_overflow=4)
    app = create_app(settings)
    try:
        assert app.state.engine.pool.size() == 3
        assert settings.db_capacity == 7
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize(("size", "overflow"), [(5, 10), (2, 1)])
def test_the_thread_pool_matches_the_connection_pool_after_startup(
        size, overflow, tmp_path, database_url, engine):
    settings = serving_settings(tmp_path, database_url, db_pool_size=size,
                                db_max_overflow=overflow)
    app = create_app(settings, engine=engine)
    thread_tokens(app)
    with TestClient(app) as client:
        assert client.get("/_test/thread-tokens").json() == size + overflow + UNGATED_THREADS


def test_requests_beyond_the_pool_queue_instead_of_answering_503(tmp_path, database_url):
    """Eight requests at once on a pool of two connections: two run at a time, all succeed.

    Each holds its connection while it waits for a partner at the barrier: had a third been let
    in, it would wait for a connection (503 after pool_timeout on PostgreSQL) or show in `most`.
    """
    settings = serving_settings(tmp_path, database_url, db_pool_size=1, db_max_overflow=1)
    app = create_app(settings)
    barrier = threading.Barrier(2, timeout=WAIT)
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    @app.get("/_test/hold-a-connection")
    def hold(session: SessionDep) -> dict[str, int]:
        session.execute(text("SELECT 1"))
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        try:
            barrier.wait()
        finally:
            with lock:
                running["now"] -= 1
        return {"ok": 1}

    statuses: list[int] = []
    try:
        with TestClient(app) as client:
            def call() -> None:
                statuses.append(client.get("/_test/hold-a-connection").status_code)

            threads = [threading.Thread(target=call) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(WAIT)
    finally:
        app.state.engine.dispose()
    assert statuses == [200] * 8
    assert running["most"] == 2


def test_health_and_static_files_are_not_held_up_by_busy_requests(tmp_path, database_url,
                                                                  engine):
    settings = serving_settings(tmp_path, database_url, db_pool_size=1, db_max_overflow=0)
    app = create_app(settings, engine=engine)
    entered, release = threading.Event(), threading.Event()

    @app.get("/_test/busy")
    def busy() -> dict[str, int]:
        entered.set()
        release.wait(WAIT)
        return {"ok": 1}

    answers: dict[str, int] = {}
    with TestClient(app) as client:
        slow = threading.Thread(target=lambda: answers.setdefault(
            "busy", client.get("/_test/busy").status_code))
        slow.start()
        try:
            assert entered.wait(WAIT)
            # The one slot is taken: these answer all the same.
            answers["healthz"] = client.get("/healthz").status_code
            answers["static"] = client.get("/static/favicon.svg").status_code
        finally:
            release.set()
            slow.join(WAIT)
    assert answers == {"busy": 200, "healthz": 200, "static": 200}


# --- northstar serve --------------------------------------------------------------------------

@pytest.fixture
def serve_calls(monkeypatch) -> Iterator[list[dict]]:
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: calls.append(kwargs))
    get_settings.cache_clear()
    yield calls
    get_settings.cache_clear()


def test_serve_gives_busy_workers_a_longer_healthcheck(serve_calls, monkeypatch):
    monkeypatch.setenv("NORTHSTAR_WORKER_HEALTHCHECK_TIMEOUT", "45")
    result = CliRunner().invoke(cli_app, ["serve", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert serve_calls[0]["workers"] == 3
    assert serve_calls[0]["timeout_worker_healthcheck"] == 45


def test_serve_defaults_to_a_30_second_healthcheck(serve_calls, monkeypatch):
    monkeypatch.delenv("NORTHSTAR_WORKER_HEALTHCHECK_TIMEOUT", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert serve_calls[0]["timeout_worker_healthcheck"] == 30


def test_serve_with_one_worker_has_no_supervisor_to_configure(serve_calls):
    result = CliRunner().invoke(cli_app, ["serve"])
    assert result.exit_code == 0, result.output
    assert "timeout_worker_healthcheck" not in serve_calls[0]


def test_the_installed_uvicorn_takes_the_healthcheck_timeout():
    import inspect

    import uvicorn

    assert "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters
    assert "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters


def test_a_read_authenticated_by_a_stale_token_survives_a_competing_write(sqlite_url):
    """The token's "last used" stamp is written in passing by a GET: when SQLite refuses it
    (another writer came first), the request goes on and the token still authenticates."""
    from datetime import timedelta

    from app.auth.models import ApiToken
    from app.auth.service import resolve_token
    from app.core.clock import utcnow
    from tests import factories

    upgrade_to_head(sqlite_url)
    engine = make_engine(sqlite_url)
    make = make_sessionmaker(engine)
    with make() as setup:
        user = factories.make_user(setup, role="viewer")
        secret = factories.make_token(setup, user)
        setup.execute(ApiToken.__table__.update().values(
            last_used_at=utcnow() - timedelta(hours=1)))
        setup.commit()
    with make() as reader, make() as writer:
        reader.execute(text("SELECT count(*) FROM team")).scalar_one()  # a read transaction
        writer.execute(text("UPDATE org_settings SET name = 'Elsewhere'"))
        writer.commit()
        principal = resolve_token(reader, secret)
        assert principal is not None and principal.user_id == user.id
        reader.commit()
    engine.dispose()

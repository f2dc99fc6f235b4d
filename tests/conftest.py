"""One migrated database per run, one rolled-back transaction per test.

The backend comes from NORTHSTAR_TEST_DATABASE_URL (a SQLite file by default). When it names
PostgreSQL, every database test runs there, and an unreachable server fails the run.
"""

import functools
import inspect
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.auth.service import principal_for_user
from app.cli import app as cli_app
from app.config import PROJECT_ROOT, Settings, get_settings
from app.core import clock
from app.core.derived import rebuild_all
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from tests import factories
from tests.helpers import login


# --- tests no database backend can change -------------------------------------------------

# Every database fixture here derives from `database_url`; a module, package or fixture whose
# source names one of these may open a database of the configured kind by itself.
DATABASE_FIXTURES = frozenset({"database_url"})
OWN_DATABASE = ("NORTHSTAR_TEST_DATABASE_URL", "test_database_url", "is_postgres",
                "make_engine", "create_engine", "create_app")


@functools.cache
def _file_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


@functools.cache
def _source_of(thing) -> str:
    try:
        return inspect.getsource(thing)
    except (OSError, TypeError):
        return ""


def touches_a_database(item: pytest.Item) -> bool:
    """Whether the test may reach a database of the configured kind: it requests a database
    fixture, or its module (package `__init__` included) or one of its fixtures could open
    one. Conservative: a test that builds an engine on a SQLite file of its own counts."""
    if DATABASE_FIXTURES & set(item.fixturenames):
        return True
    module = Path(str(item.fspath))
    sources = [_file_text(module)]
    tests_root = Path(__file__).parent
    for package in module.parents:
        if not package.is_relative_to(tests_root) or package == tests_root:
            break
        sources.append(_file_text(package / "__init__.py"))
    fixture_info = getattr(item, "_fixtureinfo", None)
    for definitions in (fixture_info.name2fixturedefs.values() if fixture_info else ()):
        sources.extend(_source_of(definition.func) for definition in definitions)
    return any(name in source for source in sources for name in OWN_DATABASE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Marked `nodb`, a test proves the same on every backend: scripts/test.sh runs it once.
    for item in items:
        if not touches_a_database(item):
            item.add_marker(pytest.mark.nodb)


def test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("NORTHSTAR_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def alembic_config(connection: Connection) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    config.attributes["configure_logger"] = False
    return config


def isolated_engine(url: str) -> tuple[Engine, str | None]:
    """An engine on an empty schema of its own.

    On PostgreSQL each test run gets a private schema (dropped at the end), so that runs
    sharing one database (two developers, two CI phases) cannot disturb each other.
    """
    if make_url(url).get_backend_name() != "postgresql":
        return make_engine(url), None
    schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"}), schema


def drop_schema(url: str, schema: str) -> None:
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return test_database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    # No skip: a configured database that cannot be reached fails the run right here.
    engine, schema = isolated_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
        rebuild_all(conn)  # as `northstar migrate` does
    yield engine
    engine.dispose()
    if schema:
        drop_schema(database_url, schema)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # SQLAlchemy's documented recipe: application commits become SAVEPOINT releases.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key-not-for-production",
                    secret_key_file=tmp_path / "secret")


# The templates of the run's first app, compiled as pages ask for them, for every later app.
_templates: dict[tuple[Path, Path], object] = {}


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]):
    application = create_app(settings, engine=engine)
    application.state.sessionmaker = session_factory
    # Jinja compiles a template on its first use by each app; a page's templates (layout,
    # macros, page) took ~0.1-0.3 s to compile, longer than most tests that show one.
    application.state.templates = _templates.setdefault(
        (settings.templates_dir, settings.static_dir), application.state.templates)
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def as_role(client: TestClient, db: Session):
    """Logs the client in as a fresh user of `role` (member of `teams`); returns the user."""

    def _login(role: str, teams=()):
        user = factories.make_user(db, role=role, teams=list(teams))
        db.commit()
        login(client, user.email)
        return user

    return _login


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


# --- fixtures many modules share -----------------------------------------------------------


@pytest.fixture
def fraud(db: Session):
    """The fraud-detection team, with no one on it."""
    return factories.make_team(db, name="Fraud detection", slug="fraud")


@pytest.fixture
def fraud_staffed(db: Session):
    """The fraud team with 10 data scientists at an override of $120/h (default $110)."""
    return factories.make_team(db, name="Fraud", slug="fraud",
                               headcounts={"data-scientist": (10, Decimal("120"))})


@pytest.fixture
def search(db: Session):
    return factories.make_team(db, name="Search", slug="search")


@pytest.fixture
def admin(db: Session):
    """The principal of a fresh admin, for calling services and importers directly."""
    return principal_for_user(factories.make_user(db, role="admin"))


@pytest.fixture
def fixed_today(request, monkeypatch):
    """`clock.today()` answers the test module's TODAY."""
    today = request.module.TODAY
    monkeypatch.setattr(clock, "today", lambda: today)
    return today


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A migrated SQLite file of the test's own (what the CLI commands open), a session on it."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", url)
    get_settings.cache_clear()
    migrated = CliRunner().invoke(cli_app, ["migrate"])
    assert migrated.exit_code == 0, migrated.output
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()
    get_settings.cache_clear()

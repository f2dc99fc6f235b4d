"""The `northstar` command line, each test on a SQLite file database of its own."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.models import ApiToken, User
from app.auth.service import authenticate, resolve_token
from app.cli import app
from app.config import PROJECT_ROOT, Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.demo.loader import DEMO_USERS
from app.initiatives.models import Initiative
from app.maturity.models import MaturityAssessment
from app.ops.migrate import head_revision
from app.ml_models.models import LifecycleEvent, MLModel
from app.pain_points.models import PainPoint
from app.teams.models import Team
from tests import factories
from tests.helpers import count

PASSWORD = "a-long-enough-password"
runner = CliRunner()


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session of the test's own on the file database, to look at what a command stored."""
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as s:
        yield s
    engine.dispose()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def migrated(database_url: str) -> str:
    result = invoke("migrate")
    assert result.exit_code == 0, result.output
    return database_url


def test_migrate_reaches_the_head_and_says_so(database_url):
    first = invoke("migrate")
    assert first.exit_code == 0, first.output
    assert f"to revision {head_revision()} (head)" in first.stdout
    again = invoke("migrate")
    assert again.exit_code == 0
    assert f"already at revision {head_revision()}" in again.stdout


def test_users_create_stores_a_user_who_can_sign_in(migrated, session):
    team = factories.make_team(session, slug="fraud-detection", name="Fraud detection")
    session.commit()
    result = invoke("users", "create", "--email", "Ana@Example.com", "--password", PASSWORD,
                    "--role", "pm", "--team", "fraud-detection", "--name", "Ana")
    assert result.exit_code == 0, result.output
    assert "ana@example.com" in result.stdout and result.stderr == ""
    settings = Settings(database_url=migrated, secret_key="x" * 32)
    user = authenticate(session, settings, email="ana@example.com", password=PASSWORD,
                        ip="127.0.0.1")
    assert user is not None and user.role == "pm" and user.name == "Ana"
    assert authenticate(session, settings, email="ana@example.com", password="wrong-password-1",
                        ip="127.0.0.1") is None
    members = session.scalars(select(User).join(User.teams).where(Team.id == team.id)).all()
    assert [m.email for m in members] == ["ana@example.com"]


@pytest.mark.parametrize("option, value, message", [
    ("--role", "boss", "error: role: unknown role 'boss'"),
    ("--team", "no-such-team", "error: teams: unknown team: no-such-team"),
    ("--email", "not-an-email", "error: email: enter a valid email address"),
    ("--password", "short", "error: password: use at least 10 characters"),
])
def test_users_create_refuses_bad_input_naming_the_field(migrated, session, option, value, message):
    args = {"--email": "bo@example.com", "--password": PASSWORD, "--role": "viewer"}
    args[option] = value
    result = invoke("users", "create", *[part for pair in args.items() for part in pair])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert count(session, User) == 0


def test_tokens_create_prints_a_token_that_resolves(migrated, session):
    created = invoke("users", "create", "--email", "ci@example.com", "--password", PASSWORD,
                     "--role", "pm")
    assert created.exit_code == 0, created.output
    result = invoke("tokens", "create", "--email", "ci@example.com", "--name", "ci-pipeline",
                    "--role", "viewer")
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip().splitlines()[-1]
    principal = resolve_token(session, raw)
    assert principal is not None
    assert (principal.email, principal.role, principal.via_token) == (
        "ci@example.com", "viewer", True)
    assert resolve_token(session, raw + "x") is None
    assert count(session, ApiToken) == 1


def test_tokens_create_for_an_unknown_email_is_refused(migrated, session):
    result = invoke("tokens", "create", "--email", "ghost@example.com", "--name", "ci")
    assert result.exit_code == 2
    assert "error: email: no user with email ghost@example.com" in result.stderr
    assert result.stdout == ""
    assert count(session, ApiToken) == 0


def test_tokens_create_refuses_more_rights_than_the_user(migrated, session):
    factories.make_user(session, email="vi@example.com", role="viewer")
    session.commit()
    result = invoke("tokens", "create", "--email", "vi@example.com", "--name", "x",
                    "--role", "admin")
    assert result.exit_code == 2
    assert "error: role: " in result.stderr
    assert count(session, ApiToken) == 0


def test_demo_twice_loads_once_and_prints_the_logins(migrated, session):
    tables = (Team, PainPoint, MLModel, LifecycleEvent, Initiative, MaturityAssessment, User)
    first = invoke("demo", "--password", PASSWORD)
    assert first.exit_code == 0, first.output
    counts = {t.__name__: count(session, t) for t in tables}
    assert counts["Team"] == 5 and counts["PainPoint"] >= 55 and counts["User"] == 4
    assert f"{counts['PainPoint']} pain points" in first.stdout
    second = invoke("demo", "--password", PASSWORD)
    assert second.exit_code == 0, second.output
    assert "already present" in second.stdout
    assert {t.__name__: count(session, t) for t in tables} == counts
    for output in (first.stdout, second.stdout):
        lines = output.splitlines()
        for demo_user in DEMO_USERS:
            assert any(line.split() == [demo_user.email, demo_user.role.value, PASSWORD]
                       for line in lines), output


def test_commands_refuse_a_database_that_was_not_migrated(database_url, session):
    result = invoke("demo")
    assert result.exit_code == 1
    assert "run `northstar migrate` first" in result.stderr
    invoke("migrate")
    assert count(session, Team) == 0


def test_serve_runs_the_app_factory_with_uvicorn(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: calls.append((target, kwargs)))
    result = invoke("serve", "--port", "8123", "--workers", "2")
    assert result.exit_code == 0, result.output
    from app.cli import SERVE_OPTIONS

    assert calls == [("app.main:create_app", {"factory": True, "host": "127.0.0.1",
                                              "port": 8123, "reload": False, "workers": 2,
                                              "timeout_worker_healthcheck": 30,
                                              **SERVE_OPTIONS})]
    # The app alone decides whom to believe about client addresses (app/web/edge.py).
    assert calls[0][1]["proxy_headers"] is False


def test_the_module_runs_as_a_program():
    # The browser tests and the Dockerfile's shell start the CLI as `python -m app.cli`.
    result = subprocess.run([sys.executable, "-m", "app.cli", "--help"], capture_output=True,
                            text=True, timeout=60, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    assert "migrate" in result.stdout and "demo" in result.stdout


def test_rebuild_restores_the_derived_tables_and_maintain_follows_the_settings(migrated,
                                                                               session):
    from datetime import timedelta
    from decimal import Decimal

    from sqlalchemy import delete

    from app.core import clock
    from app.core.periods import quarter_of
    from app.pain_points import queries, summary
    from app.pain_points.measures import PainPointFilters
    from app.pain_points.models import CostQuarter, CostSummaryState
    from app.settings.models import OrgSettings

    team = factories.make_team(session, headcounts={"data-scientist": 4})
    factories.make_pain_point(session, team, observed_since=clock.today() - timedelta(days=40))
    session.commit()
    session.execute(delete(CostQuarter))  # written behind Northstar's back
    session.commit()
    rebuilt = invoke("rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert ("Rebuilt initiative_saving, pain_point_cost_quarter, model_milestone, "
            "deployment_month, production_period, model_value_month in") in rebuilt.stdout
    quarter = quarter_of(clock.today(), 1)
    period = dict(first=quarter.first_day, last=quarter.last_day, weeks=Decimal("46"))
    session.expire_all()
    stored = summary.cost_figures(session, PainPointFilters(), **period)
    assert stored is not None and stored[0].pain_points == 1
    assert stored[0].cost == queries.live_cost_figures(session, PainPointFilters(),
                                                       **period)[0].cost

    assert "already up to date" in invoke("maintain").stdout
    session.get(OrgSettings, 1).working_weeks_per_year = Decimal("40")
    session.commit()  # no rebuild in the admin's request: the figures are live until maintain
    assert session.get(CostSummaryState, 1).working_weeks_per_year == Decimal("46")
    maintained = invoke("maintain")
    assert maintained.exit_code == 0, maintained.output
    # The initiatives' savings are priced in working weeks too.
    assert "Brought initiative_saving, pain_point_cost_quarter up to date" in maintained.stdout
    session.rollback()  # a new snapshot: the command committed in another connection
    assert session.get(CostSummaryState, 1).working_weeks_per_year == Decimal("40")

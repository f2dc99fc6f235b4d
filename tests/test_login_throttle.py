"""Failed sign-ins slow down, per account and per address, and never lock the owner out
(issue 14); email addresses are one key whatever their case and surrounding whitespace."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.auth import service
from app.auth.models import LoginAttempt, User
from app.core.clock import utcnow
from tests import factories
from tests.conftest import csrf_from


@pytest.fixture
def clock(monkeypatch):
    """The service's clock, moved by hand."""
    now = [utcnow()]
    monkeypatch.setattr(service, "utcnow", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    return advance


def _browser(app, ip: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", client=(ip, 40000),
                      follow_redirects=False)


def _sign_in(client: TestClient, email: str, password: str):
    csrf = csrf_from(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf, "next": "/"})


def test_backoff_doubles_after_the_free_failures_up_to_the_cap():
    assert [service.backoff_seconds(n, 5, 300) for n in range(4, 14)] == [
        0, 2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_growing_delays_then_the_right_password_gets_in(app, db, settings, clock):
    owner = factories.make_user(db)
    db.commit()
    waits = []
    with _browser(app, "198.51.100.20") as browser:
        for _ in range(settings.login_max_failures + 3):
            response = _sign_in(browser, owner.email, "wrong-password")
            if response.status_code == 429:
                waits.append(int(response.headers["Retry-After"]))
                clock(waits[-1])
                response = _sign_in(browser, owner.email, "wrong-password")
            assert response.status_code == 401
        assert waits == [2, 4, 8]
        refused = _sign_in(browser, owner.email, factories.PASSWORD)
        assert refused.status_code == 429
        assert "Try again in 16 seconds" in refused.text
        clock(16)
        assert _sign_in(browser, owner.email, factories.PASSWORD).status_code == 303
    # A refused try checks no password and is not counted.
    failures = db.scalar(select(func.count()).where(LoginAttempt.succeeded.is_(False)))
    assert failures == settings.login_max_failures + 3


def test_a_stranger_cannot_lock_the_owner_out(app, db, settings, clock):
    owner = factories.make_user(db, email="owner@example.com")
    db.commit()
    with _browser(app, "192.0.2.10") as home:
        assert _sign_in(home, owner.email, factories.PASSWORD).status_code == 303
    clock(60)
    with _browser(app, "203.0.113.66") as stranger:
        answers = []
        for variant in ["OWNER@example.com", " owner@EXAMPLE.com\t", "owner@example.com "] * 10:
            answers.append(_sign_in(stranger, variant, "guess").status_code)
            clock(1)
        assert answers.count(429) > 0  # the stranger is slowed down on this account
    with _browser(app, "192.0.2.10") as home:
        # From the address it signed in from before, the owner gets in at once.
        assert _sign_in(home, "Owner@Example.com", factories.PASSWORD).status_code == 303


def test_the_account_slows_strangers_by_all_their_failures(app, db, settings, clock):
    owner = factories.make_user(db)
    db.commit()
    for n in range(settings.login_max_failures):
        with _browser(app, f"203.0.113.{n + 1}") as stranger:
            assert _sign_in(stranger, owner.email, "guess").status_code == 401
    with _browser(app, "203.0.113.200") as another:
        response = _sign_in(another, owner.email, "guess")
    assert response.status_code == 429  # a new address per try does not reset the account


def test_an_address_is_slowed_across_accounts(app, db, settings, clock):
    with _browser(app, "203.0.113.7") as sprayer:
        statuses = [_sign_in(sprayer, f"someone{n}@example.com", "guess").status_code
                    for n in range(settings.login_max_failures * 4 + 1)]
    assert statuses[:-1] == [401] * (settings.login_max_failures * 4)
    assert statuses[-1] == 429


def test_failures_older_than_the_window_are_forgotten(app, db, settings, clock):
    owner = factories.make_user(db)
    db.commit()
    with _browser(app, "198.51.100.30") as browser:
        for _ in range(settings.login_max_failures):
            _sign_in(browser, owner.email, "wrong-password")
        assert _sign_in(browser, owner.email, factories.PASSWORD).status_code == 429
        clock(settings.login_window_minutes * 60 + 1)
        assert _sign_in(browser, owner.email, factories.PASSWORD).status_code == 303


def test_email_is_one_key_for_users_created_in_the_ui_and_the_cli(client, db, engine,
                                                                 monkeypatch, settings):
    admin = factories.make_user(db, role="admin")
    db.commit()
    from tests.conftest import login, page_csrf

    login(client, admin.email)
    response = client.post("/settings/users", data={
        "csrf_token": page_csrf(client, "/settings/users"), "email": "  Mixed.Case@Example.ORG ",
        "name": "Mixed", "password": "long-enough-password", "role": "viewer"})
    assert response.status_code in (303, 200), response.text
    assert db.scalar(select(User.email).where(User.name == "Mixed")) == "mixed.case@example.org"
    duplicate = client.post("/settings/users", data={
        "csrf_token": page_csrf(client, "/settings/users"), "email": "MIXED.case@example.org",
        "name": "Again", "password": "long-enough-password", "role": "viewer"})
    assert duplicate.status_code == 422


def test_cli_user_create_normalises_the_email(monkeypatch, tmp_path):
    from app.cli import app as cli_app
    from app.config import get_settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli_app, ["migrate"]).exit_code == 0
        result = runner.invoke(cli_app, ["users", "create", "--email", " Ana@Example.COM ",
                                         "--password", "long-enough-password", "--role", "pm"])
        assert result.exit_code == 0, result.output
        again = runner.invoke(cli_app, ["users", "create", "--email", "ana@example.com",
                                        "--password", "long-enough-password", "--role", "pm"])
        assert again.exit_code != 0
        token = runner.invoke(cli_app, ["tokens", "create", "--email", "ANA@example.com ",
                                        "--name", "ci"])
        assert token.exit_code == 0, token.output
    finally:
        get_settings.cache_clear()

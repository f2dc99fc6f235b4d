"""A database outage: requests fail fast with 503, /readyz says so, and the same process serves
again within seconds of the database returning; no acknowledged write is lost and retried writes
are stored once. The long version is bench/outage.py."""

import time

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.pain_points import service as pain_point_service
from tests.api import bearer
from tests.resilience import (
    PG_BIN_DIRS, Server, free_port, run_outage_load, seed_outage_database,
    server_env, throwaway_postgres,
)
from tests.helpers import page_text

PROBLEM = "application/problem+json"
FAST = 3.0  # seconds: "fail fast"
RECOVERY = 5.0  # seconds from the database's return to answers again


# --- in process: an engine whose PostgreSQL is not there ------------------------------------

@pytest.fixture
def down_client(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/northstar"  # nobody listens
    settings = Settings(database_url=url, secret_key="outage-test-secret",
                        secret_key_file=tmp_path / "secret")
    engine = make_engine(url)
    with TestClient(create_app(settings, engine=engine), follow_redirects=False) as client:
        yield client
    engine.dispose()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_api_answers_503_problem_json_at_once(down_client):
    response, seconds = timed(lambda: down_client.get(
        "/api/v1/teams", headers={"Authorization": "Bearer nst_whatever"}))
    assert response.status_code == 503
    assert seconds < FAST
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert body["status"] == 503 and "try again" in body["detail"]


def test_a_keyed_post_answers_503_before_anything_runs(down_client):
    response = down_client.post("/api/v1/teams", json={"name": "x"}, headers={
        "Authorization": "Bearer nst_whatever", "Idempotency-Key": "k"})
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM


def test_pages_answer_a_friendly_503_page(down_client):
    # A signed session cookie makes the page look its session up in the database.
    cookie = URLSafeTimedSerializer("outage-test-secret", salt="northstar-session").dumps("x")
    down_client.cookies.set("northstar_session", cookie)
    response, seconds = timed(lambda: down_client.get("/"))
    assert response.status_code == 503
    assert seconds < FAST
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "3"
    shown = page_text(response)
    assert "briefly unavailable" in shown and "try again" in shown


def test_readyz_is_503_and_healthz_200(down_client):
    response, seconds = timed(lambda: down_client.get("/readyz"))
    assert response.status_code == 503 and seconds < FAST
    assert response.json()["database"] == "unreachable"
    assert down_client.get("/healthz").status_code == 200


def test_other_database_errors_stay_500(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(pain_point_service, "create_pain_point", broken)
    with TestClient(client.app, raise_server_exceptions=False) as quiet:
        response = quiet.post("/api/v1/pain-points", headers=bearer(db), json={
            "team": "t", "persona": "data-scientist", "stage": "deployment", "title": "x",
            "hours_low": "1", "hours_likely": "1", "hours_high": "1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM


# --- a real outage: `northstar serve` on a PostgreSQL instance that the test stops -----------

@pytest.mark.skipif(not PG_BIN_DIRS, reason="no PostgreSQL server binaries to start an instance")
def test_outage_under_write_load(tmp_path):
    with throwaway_postgres() as pg:
        env = server_env(pg.url())
        token = seed_outage_database(pg.url())
        server = Server(env, tmp_path / "server.log")
        try:
            server.wait_ready()
            pid = server.process.pid
            report = run_outage_load(pg, server.base, token, clients=2, outages=[(2.0, 3.0)],
                                     duration=8.0, max_writes=400, grace=20.0, pause=0.05)
            alive = server.process.poll() is None
        finally:
            server.stop()
    print("\n" + report.summary())

    assert alive and server.process.pid == pid, "the server was restarted or died"
    [window] = report.windows
    # While the database was down: every answer a fast 503 problem, /readyz 503.
    during = report.during(window)
    assert during, "no request was answered during the outage"
    for attempt in during:
        assert attempt.status == 503, attempt
        assert attempt.content_type == PROBLEM and attempt.retry_after, attempt
        assert attempt.seconds < FAST, attempt
    assert window.probes and all(code == 503 and seconds < FAST
                                 for _, code, seconds in window.probes), window.probes
    # Serving again within 5 s of the database's return, without a restart.
    assert window.ready is not None and window.ready - window.up <= RECOVERY
    first = report.first_success_after(window.up)
    assert first is not None and first - window.up <= RECOVERY
    # Nothing but successes and 503s; no 503 once recovered.
    assert {a.status for a in report.attempts} <= {201, 503}, report.summary()
    assert not [a for a in report.attempts
                if a.status == 503 and a.started > window.up + RECOVERY]
    # Every write acknowledged, found exactly once; retried keys replayed, not stored again.
    assert report.attempted == report.acknowledged, report.summary()
    assert report.missing == [] and report.duplicated == [], report.summary()
    assert len(report.found) == len(report.acknowledged)
    assert report.replays and all(a.status == 201 and a.replayed for a in report.replays)
    assert any(a.status == 503 for a in report.attempts if a.write in report.acknowledged)

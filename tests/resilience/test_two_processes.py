"""Two `northstar serve` processes on one database behave as one app, whichever answers:
sessions, CSRF tokens, the login rate limit and Idempotency-Keys hold across them, because
their state lives in the database (and the secret key is shared), not in process memory."""

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy.orm import Session

from app.db import make_engine
from app.ops.migrate import upgrade_to_head
from tests import factories
from tests.conftest import csrf_from
from tests.resilience import Server, drop_shared_schema, server_env, shared_database

ADMIN = "admin@two.example"
TARGET = "target@two.example"
PASSWORD = factories.PASSWORD


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple[Server, Server, str]]:
    tmp = tmp_path_factory.mktemp("two_processes")
    url, schema = shared_database(tmp)
    env = server_env(url)
    try:
        upgrade_to_head(url)
        engine = make_engine(url)
        with Session(engine) as session:
            admin = factories.make_user(session, email=ADMIN, name="Ada Admin", role="admin")
            factories.make_user(session, email=TARGET, role="admin")
            token = factories.make_token(session, admin)
            session.commit()
        engine.dispose()
        a, b = Server(env, tmp / "a.log"), Server(env, tmp / "b.log")
        try:
            a.wait_ready()
            b.wait_ready()
            yield a, b, token
        finally:
            a.stop()
            b.stop()
    finally:
        drop_shared_schema(schema)


def client() -> httpx.Client:
    return httpx.Client(timeout=10, follow_redirects=False)


def sign_in(http: httpx.Client, server: Server, email: str, password: str) -> httpx.Response:
    page = http.get(f"{server.base}/login")
    return http.post(f"{server.base}/login", data={
        "email": email, "password": password, "csrf_token": csrf_from(page.text), "next": "/"})


def test_a_session_opened_on_one_process_works_on_the_other(servers):
    a, b, _ = servers
    with client() as http:
        assert sign_in(http, a, ADMIN, PASSWORD).status_code == 303
        page = http.get(f"{b.base}/")
        assert page.status_code == 200, page.text
        assert "Ada Admin" in BeautifulSoup(page.text, "html.parser").get_text()
        assert http.get(f"{b.base}/api/v1/teams").status_code == 200
        # Signing out on B ends the session on A too.
        csrf = csrf_from(page.text)
        assert http.post(f"{b.base}/logout", data={"csrf_token": csrf}).status_code == 303
        http.cookies.delete("northstar_flash")
        assert http.get(f"{a.base}/").status_code == 303


def test_a_csrf_token_from_one_process_is_accepted_by_the_other(servers):
    a, b, _ = servers
    with client() as http:
        assert sign_in(http, a, ADMIN, PASSWORD).status_code == 303
        csrf = csrf_from(http.get(f"{a.base}/").text)  # minted by A (cookie and token)
        team = {"name": "Made on B", "slug": "made-on-b"}
        refused = http.post(f"{b.base}/api/v1/teams", json=team)
        assert refused.status_code == 403  # the check is real: no token, no write
        created = http.post(f"{b.base}/api/v1/teams", json=team, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text


def test_failed_logins_count_on_both_processes(servers):
    a, b, _ = servers
    with client() as http:
        for _ in range(5):
            assert sign_in(http, a, TARGET, "wrong-password").status_code == 401
        refused = sign_in(http, b, TARGET, PASSWORD)  # the right password, too late
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in refused.text


def test_an_idempotency_key_used_on_one_process_replays_on_the_other(servers):
    a, b, token = servers
    auth = {"Authorization": f"Bearer {token}"}
    team = {"name": "Keyed", "slug": "keyed"}
    with client() as http:
        first = http.post(f"{a.base}/api/v1/teams", json=team,
                          headers=auth | {"Idempotency-Key": "team-keyed"})
        assert first.status_code == 201, first.text
        again = http.post(f"{b.base}/api/v1/teams", json=team,
                          headers=auth | {"Idempotency-Key": "team-keyed"})
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        other = http.post(f"{b.base}/api/v1/teams", json=team | {"name": "Other"},
                          headers=auth | {"Idempotency-Key": "team-keyed"})
        assert other.status_code == 422
        listed = http.get(f"{b.base}/api/v1/teams", headers=auth).json()["items"]
        assert [t["slug"] for t in listed].count("keyed") == 1


def test_simultaneous_duplicates_on_both_processes_are_done_once(servers):
    """The same keyed write sent to A and B at once: one does it, the other is told it is in
    flight (409), replays it, or (SQLite's single writer) is asked to retry (503)."""
    a, b, token = servers
    auth = {"Authorization": f"Bearer {token}"}
    statuses: list[int] = []
    with client() as http:
        for n in range(5):
            team = {"name": f"Race {n}", "slug": f"race-{n}"}
            headers = auth | {"Idempotency-Key": f"race-{n}"}
            barrier = threading.Barrier(2)
            answers: list[httpx.Response] = []

            def send(server: Server, barrier=barrier, answers=answers, team=team,
                     headers=headers) -> None:
                barrier.wait(timeout=10)
                answers.append(http.post(f"{server.base}/api/v1/teams", json=team,
                                         headers=headers))

            threads = [threading.Thread(target=send, args=(s,)) for s in (a, b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            statuses += [r.status_code for r in answers]
            assert {r.status_code for r in answers} <= {201, 409, 503}, [r.text for r in answers]
            # A client retries until it has an answer; then the write exists exactly once.
            for _ in range(50):
                retry = http.post(f"{b.base}/api/v1/teams", json=team, headers=headers)
                if retry.status_code == 201:
                    break
                time.sleep(0.1)
            assert retry.status_code == 201
            done_fresh = [r for r in answers if r.status_code == 201
                          and "idempotent-replayed" not in r.headers]
            assert len(done_fresh) <= 1
            if done_fresh:
                assert retry.headers["idempotent-replayed"] == "true"
        listed = http.get(f"{a.base}/api/v1/teams", headers=auth,
                          params={"page_size": 500}).json()["items"]
        slugs = [t["slug"] for t in listed]
        for n in range(5):
            assert slugs.count(f"race-{n}") == 1
    print(f"\nsimultaneous duplicates answered {sorted(statuses)}")

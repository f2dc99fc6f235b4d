"""The app's edge (issue 14): slow bodies cannot starve the request gate, and forwarded client
addresses are believed only from the proxies named in NORTHSTAR_TRUSTED_PROXIES."""

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import LoginAttempt
from app.cli import SERVE_OPTIONS
from app.config import PROJECT_ROOT
from app.web.edge import parse_trusted_proxies
from app.main import create_app
from tests.conftest import csrf_from

SLOW_CLIENTS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings, engine):
    """The app under a real uvicorn (the options `northstar serve` uses), with a request gate
    of two slots so that two stalled requests would be enough to starve it."""
    settings = settings.model_copy(update={"db_pool_size": 2, "db_max_overflow": 0,
                                           "body_total_seconds": 60})
    app = create_app(settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", **SERVE_OPTIONS))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", port
    server.should_exit = True
    thread.join(10)


def test_fifty_slow_body_clients_do_not_starve_a_normal_client(live_server):
    base, port = live_server
    slow: list[socket.socket] = []
    stop = threading.Event()
    for _ in range(SLOW_CLIENTS):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 1000\r\n\r\ne")
        slow.append(conn)

    def trickle() -> None:  # one more byte per connection every half second
        while not stop.wait(0.5):
            for conn in slow:
                try:
                    conn.sendall(b"x")
                except OSError:
                    pass

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(1.0)  # every slow client is well into its body
        timings = []
        with httpx.Client(base_url=base, timeout=5) as normal:
            for _ in range(5):
                started = time.monotonic()
                page = normal.get("/login")
                timings.append(time.monotonic() - started)
                assert page.status_code == 200
                # A database-backed answer that went through the gate.
                assert normal.get("/api/v1/teams").status_code == 401
        assert max(timings) < 1.0, timings
    finally:
        stop.set()
        trickler.join(5)
        for conn in slow:
            conn.close()


def test_a_body_over_the_limit_is_answered_413(live_server, settings):
    base, _ = live_server
    too_big = settings.max_body_bytes + 1
    with httpx.Client(base_url=base, timeout=5) as client:
        response = client.post("/api/v1/teams", content=b"{" + b" " * too_big + b"}",
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-Request-ID" in response.headers


def test_a_client_that_stops_sending_its_body_gets_408(settings, engine):
    settings = settings.model_copy(update={"body_idle_seconds": 0.3})
    app = create_app(settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **SERVE_OPTIONS))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 100\r\n\r\nemail=")
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408")
    finally:
        server.should_exit = True
        thread.join(10)


# --- proxies -------------------------------------------------------------------------------

def _client(app, peer: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", client=(peer, 40000),
                      follow_redirects=False)


def test_forged_forwarded_for_from_an_untrusted_peer_cannot_read_metrics(app):
    with _client(app, "203.0.113.9") as stranger:
        response = stranger.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 403
    with _client(app, "127.0.0.1") as local:
        assert local.get("/metrics").status_code == 200


def test_the_configured_proxy_is_believed_and_only_it(settings, engine, session_factory):
    settings = settings.model_copy(update={"trusted_proxies": "10.9.0.0/24"})
    app = create_app(settings, engine=engine)
    app.state.sessionmaker = session_factory
    with _client(app, "10.9.0.4") as via_proxy:
        assert via_proxy.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"}
                             ).status_code == 403  # the real client is not loopback
    with _client(app, "127.0.0.1") as local:
        # Loopback is no longer a trusted proxy here: its forwarded header is ignored.
        response = local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert response.status_code == 200


def _failed_login(client: TestClient, headers: dict) -> None:
    csrf = csrf_from(client.get("/login").text)
    client.post("/login", data={"email": "nobody@example.com", "password": "wrong-password",
                                "csrf_token": csrf}, headers=headers)


def test_login_attempts_are_counted_by_the_real_client_address(settings, engine, db,
                                                               session_factory):
    settings = settings.model_copy(update={"trusted_proxies": "10.9.0.4"})
    app = create_app(settings, engine=engine)
    app.state.sessionmaker = session_factory
    with _client(app, "10.9.0.4") as via_proxy:
        _failed_login(via_proxy, {"X-Forwarded-For": "198.51.100.7"})
    with _client(app, "203.0.113.9") as stranger:
        # A new forged address per try would spread failures thin; it is ignored.
        _failed_login(stranger, {"X-Forwarded-For": "192.0.2.1"})
        _failed_login(stranger, {"X-Forwarded-For": "192.0.2.2"})
    ips = sorted(db.scalars(select(LoginAttempt.ip)))
    assert ips == ["198.51.100.7", "203.0.113.9", "203.0.113.9"]


def test_trusted_proxies_are_checked_at_start():
    assert parse_trusted_proxies("127.0.0.1, ::1 ,10.0.0.0/8") == ["127.0.0.1", "::1", "10.0.0.0/8"]
    with pytest.raises(ValueError, match="proxy"):
        parse_trusted_proxies("127.0.0.1,proxy")


def test_compose_trusts_its_nginx_and_nothing_else():
    compose = yaml.safe_load(Path(PROJECT_ROOT / "docker-compose.yml").read_text())
    app_env = compose["services"]["app"]["environment"]
    assert "FORWARDED_ALLOW_IPS" not in app_env
    networks = compose["services"]["proxy"]["networks"]
    nginx_addresses = {n["ipv4_address"] for n in networks.values() if n and "ipv4_address" in n}
    assert app_env["NORTHSTAR_TRUSTED_PROXIES"] in nginx_addresses

"""Browser tests: the real app served by `northstar serve` on a free port, with the demo
organisation loaded, driven through Debian's Chromium with Playwright (no browser download)."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT
from app.db import make_engine
from tests.helpers import free_port

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
DEMO_PASSWORD = "northstar-demo"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _server_database(tmp_path_factory) -> tuple[str, str | None]:
    """A database of the configured kind for the server: a SQLite file, or a private
    PostgreSQL schema selected through the connection's search_path."""
    url = os.environ.get("NORTHSTAR_TEST_DATABASE_URL")
    if not url or make_url(url).get_backend_name() != "postgresql":
        return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'northstar.db'}", None
    schema = f"browser_{uuid.uuid4().hex[:10]}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def _northstar(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, check=True,
                   cwd=PROJECT_ROOT, capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[str]:
    url, schema = _server_database(tmp_path_factory)
    env = os.environ | {
        "NORTHSTAR_DATABASE_URL": url,
        "NORTHSTAR_SECRET_KEY": "browser-test-secret",
    }
    _northstar(env, "migrate")
    _northstar(env, "demo", "--password", DEMO_PASSWORD)
    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/readyz", timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"northstar serve did not become ready; see {log.name}")
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=10)
    log.close()
    if schema:
        engine = make_engine(os.environ["NORTHSTAR_TEST_DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: str, request) -> Iterator[Page]:
    """A fresh browser context; console errors and failed requests fail the test."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # An aborted request (net::ERR_ABORTED) was cancelled by the browser itself: a navigation
    # or the end of the test overtook it (the favicon, typically). Anything else is a failure.
    page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED"
            else problems.append(f"request failed: {r.url} ({r.failure})"))
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    seen = list(problems)  # what closing the context cancels is not the page's fault
    context.close()
    assert seen == [], seen


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name

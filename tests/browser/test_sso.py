"""Single sign-on in Chromium against a real OpenID Provider (oidc-provider on Node, started by
the tests from tests/oidc) and a real `northstar serve` configured for it. Nothing is mocked."""

import hashlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select, text

from app.audit.models import AuditEntry
from app.auth.models import SsoLogin, User
from app.config import PROJECT_ROOT
from app.db import make_engine
from tests.browser.conftest import ARTIFACTS, _northstar, _server_database
from tests.oidc.harness import CLIENT_ID, CLIENT_SECRET, free_port, running_provider

PROVIDER_NAME = "Test IdP"
ACCOUNTS = {
    "pat": {"password": "pat-provider-pw", "email": "pat@sso.example", "name": "Pat Okafor",
            "groups": ["ns-fraud-pms", "all-staff"]},
    "olive": {"password": "olive-provider-pw", "email": "olive@sso.example",
              "name": "Olive Outsider", "groups": ["marketing", "all-staff"]},
    "mo": {"password": "mo-provider-pw", "email": "mo@sso.example", "name": "Mo Mover",
           "groups": ["ns-fraud-pms"]},
    "tess": {"password": "tess-provider-pw", "email": "tess@sso.example", "name": "Tess Tamper",
             "groups": ["ns-fraud-pms"]},
}


@contextmanager
def serving(env: dict[str, str], port: int, log_path: Path) -> Iterator[None]:
    """`northstar serve` on `port` with `env`, until the block ends."""
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"northstar serve did not become ready; see {log.name}")
                time.sleep(0.2)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def sso(tmp_path_factory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("sso")
    url, schema = _server_database(tmp_path_factory)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_provider(tmp, redirect_uris=[f"{base}/auth/oidc/callback"],
                          post_logout_redirect_uris=[f"{base}/login"],
                          accounts=ACCOUNTS) as provider:
        env = os.environ | {
            "NORTHSTAR_DATABASE_URL": url, "NORTHSTAR_SECRET_KEY": "sso-browser-test-secret",
            "NORTHSTAR_OIDC_ISSUER": provider.issuer, "NORTHSTAR_OIDC_CLIENT_ID": CLIENT_ID,
            "NORTHSTAR_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "NORTHSTAR_OIDC_PROVIDER_NAME": PROVIDER_NAME,
            "NORTHSTAR_OIDC_SCOPES": "openid email profile groups",
        }
        _northstar(env, "migrate")
        _northstar(env, "demo", "--password", "northstar-demo")
        _northstar(env, "sso", "map", "--group", "ns-fraud-pms", "--role", "pm",
                   "--team", "fraud-detection")
        _northstar(env, "sso", "map", "--group", "ns-forecast-viewers", "--role", "viewer",
                   "--team", "forecasting")
        engine = make_engine(url)
        try:
            with serving(env, port, tmp / "server.log"):
                yield {"base": base, "provider": provider, "engine": engine, "env": env,
                       "tmp": tmp}
        finally:
            engine.dispose()
            if schema:
                admin = make_engine(os.environ["NORTHSTAR_TEST_DATABASE_URL"])
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


@pytest.fixture
def sso_page(browser: Browser, sso: dict, request) -> Iterator[Page]:
    context = browser.new_context(base_url=sso["base"], viewport={"width": 1280, "height": 900})
    sso_page = context.new_page()
    problems: list[str] = []
    sso_page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    sso_page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED"
            else problems.append(f"request failed: {r.url} ({r.failure})"))
    yield sso_page
    ARTIFACTS.mkdir(exist_ok=True)
    sso_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert problems == [], problems


def start_sign_in(sso_page: Page, path: str = "/pain-points") -> None:
    """Opens a page while signed out and follows Northstar to the provider's sign-in form."""
    sso_page.goto(path)
    expect(sso_page).to_have_url(re.compile(r"/login\?next="))
    sso_page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("Test provider sign-in")


def provider_login(sso_page: Page, login: str) -> None:
    sso_page.get_by_label("Username").fill(login)
    sso_page.get_by_label("Provider password").fill(ACCOUNTS[login]["password"])
    sso_page.get_by_role("button", name="Continue").click()


def count_users(sso: dict, email: str) -> int:
    with sso["engine"].connect() as conn:
        return conn.scalar(select(func.count()).select_from(User).where(User.email == email))


def audit_actions(sso: dict, entity_type: str) -> list[tuple[str, str, dict | None]]:
    with sso["engine"].connect() as conn:
        rows = conn.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.after)
                            .where(AuditEntry.entity_type == entity_type)
                            .order_by(AuditEntry.id)).all()
    return [tuple(r) for r in rows]


def test_login_page_offers_the_provider_and_the_password_form(sso_page: Page):
    sso_page.goto("/login")
    expect(sso_page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")).to_be_enabled()
    expect(sso_page.get_by_label("Email")).to_be_visible()  # password login is on by default
    expect(sso_page.locator("#sso-error")).to_have_count(0)


def test_mapped_pm_lands_on_the_ledger_with_their_team_and_signs_out_at_the_provider(
        sso_page: Page, sso: dict):
    start_sign_in(sso_page, "/pain-points")
    provider_login(sso_page, "pat")
    expect(sso_page).to_have_url(re.compile(r"/pain-points$"))
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("Pain points")
    expect(sso_page.locator(".who")).to_contain_text("Pat Okafor")
    expect(sso_page.locator(".who .role")).to_have_text("pm")
    # A PM edits only its own teams: the new pain point form offers exactly the mapped team.
    sso_page.goto("/pain-points/new")
    options = sso_page.locator("select#team option").all_inner_texts()
    assert [o for o in options if o.strip()] == ["Fraud detection"]
    assert count_users(sso, "pat@sso.example") == 1
    logins = [a for a in audit_actions(sso, "user")
              if a[0] == "login" and a[1] == "pat@sso.example"]
    assert logins and logins[-1][2]["via"] == "sso" and logins[-1][2]["role"] == "pm"

    sso_page.goto("/")
    sso_page.get_by_role("button", name="Sign out").click()
    # RP-initiated logout: the provider asks, then sends the browser back to Northstar.
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("Sign out of the test provider?")
    sso_page.get_by_role("button", name="Yes, sign me out").click()
    expect(sso_page).to_have_url(re.compile(r"/login"))
    expect(sso_page.get_by_role("status")).to_have_text("You are signed out.")
    sso_page.goto("/pain-points")
    expect(sso_page).to_have_url(re.compile(r"/login\?next="))


def test_user_in_no_mapped_group_is_refused_and_nothing_is_created(sso_page: Page, sso: dict):
    start_sign_in(sso_page)
    provider_login(sso_page, "olive")
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("You were not signed in")
    expect(sso_page.locator("#sso-refusal")).to_contain_text("in no group that has access")
    assert count_users(sso, "olive@sso.example") == 0
    refusals = [a for a in audit_actions(sso, "sso") if a[0] == "sso_refused"]
    assert any(a[2]["email"] == "olive@sso.example" and "no mapped group" in a[2]["reason"]
               for a in refusals)
    sso_page.goto("/pain-points")
    expect(sso_page).to_have_url(re.compile(r"/login\?next="))


def test_tampered_state_fails_the_genuine_answer_works_once_and_its_replay_fails(
        sso_page: Page, sso: dict):
    held: list[str] = []

    def hold(route):
        # Follow the provider's redirects by hand (a route sees no redirect hop) and keep the
        # answer meant for Northstar's callback instead of delivering it.
        location = route.request.url
        response = route.fetch(max_redirects=0)
        while response.status in (302, 303) and "/auth/oidc/callback" not in location:
            location = response.headers["location"]
            if "/auth/oidc/callback" not in location:
                response = sso_page.request.get(location, max_redirects=0)
        held.append(location)
        route.fulfill(status=200, content_type="text/html",
                      body="<!DOCTYPE html><title>held</title><h1>held</h1>")

    start_sign_in(sso_page)
    sso_page.route("**/interaction/*/login", hold)
    provider_login(sso_page, "tess")
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("held")
    sso_page.unroute("**/interaction/*/login")
    genuine = held[0]
    assert "/auth/oidc/callback?" in genuine
    parts = urlsplit(genuine)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(query) >= {"code", "state"}

    tampered = dict(query, state=query["state"][:-4] + "AAAA")
    sso_page.goto(f"/auth/oidc/callback?{urlencode(tampered)}")
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("You were not signed in")
    expect(sso_page.locator("#sso-refusal")).to_contain_text("not started in this browser")
    without_state = {k: v for k, v in query.items() if k != "state"}
    sso_page.goto(f"/auth/oidc/callback?{urlencode(without_state)}")
    expect(sso_page.locator("#sso-refusal")).to_contain_text("carried no state")
    assert count_users(sso, "tess@sso.example") == 0

    [state_cookie] = [c for c in sso_page.context.cookies() if c["name"] == "northstar_oidc_state"]
    sso_page.goto(genuine)
    expect(sso_page).to_have_url(re.compile(r"/pain-points$"))
    expect(sso_page.locator(".who .role")).to_have_text("pm")
    assert count_users(sso, "tess@sso.example") == 1

    # The same answer again, even with the browser's state cookie put back: used once only.
    sso_page.context.add_cookies([state_cookie])
    sso_page.goto(genuine)
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("You were not signed in")
    expect(sso_page.locator("#sso-refusal")).to_contain_text("already used")
    with sso["engine"].connect() as conn:
        verifier = conn.scalar(select(SsoLogin.code_verifier).where(
            SsoLogin.state_hash == hashlib.sha256(query["state"].encode()).hexdigest()))
    # And the provider itself refuses the code a second time, PKCE verifier and all.
    replay = httpx.post(f"{sso['provider'].issuer}/token", auth=(CLIENT_ID, CLIENT_SECRET), data={
        "grant_type": "authorization_code", "code": query["code"], "code_verifier": verifier,
        "redirect_uri": f"{sso['base']}/auth/oidc/callback"})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_user_moved_out_of_a_group_loses_its_role_at_the_next_sign_in(
        sso_page: Page, browser: Browser, sso: dict):
    sso["provider"].set_groups("mo", ["ns-fraud-pms"])
    start_sign_in(sso_page)
    provider_login(sso_page, "mo")
    expect(sso_page.locator(".who .role")).to_have_text("pm")

    sso["provider"].set_groups("mo", ["ns-forecast-viewers"])
    other = browser.new_context(base_url=sso["base"])
    try:
        second = other.new_page()
        start_sign_in(second, "/pain-points/new")
        provider_login(second, "mo")
        expect(second.locator(".who .role")).to_have_text("viewer")
        # A viewer may not open the form it could open as a PM.
        expect(second.get_by_role("heading", level=1)).to_contain_text("Forbidden")
        second.screenshot(path=str(ARTIFACTS / "sso_moved_user_as_viewer.png"), full_page=True)
    finally:
        other.close()

    sso["provider"].set_groups("mo", ["all-staff"])
    third = browser.new_context(base_url=sso["base"])
    try:
        again = third.new_page()
        start_sign_in(again)
        provider_login(again, "mo")
        expect(again.locator("#sso-refusal")).to_contain_text("in no group that has access")
    finally:
        third.close()
    # Leaving every mapped group ended the sessions it had opened, the first browser's too.
    sso_page.goto("/pain-points")
    expect(sso_page).to_have_url(re.compile(r"/login\?next="))
    with sso["engine"].connect() as conn:
        role = conn.scalar(select(User.role).where(User.email == "mo@sso.example"))
    assert role.value == "viewer"


def test_admin_maps_a_group_on_the_settings_page(sso_page: Page, sso: dict):
    sso_page.goto("/login")
    sso_page.get_by_label("Email").fill("admin@northstar.demo")
    sso_page.get_by_label("Password").fill("northstar-demo")
    sso_page.get_by_role("button", name="Sign in", exact=True).click()
    sso_page.goto("/settings")
    sso_page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Single sign-on").click()
    expect(sso_page.get_by_role("heading", level=1)).to_have_text("Single sign-on")
    table = sso_page.get_by_test_id("sso-mappings")
    expect(table.locator("tr[data-group=ns-fraud-pms] td").nth(1)).to_have_text("pm")
    sso_page.get_by_label("Group name, as the provider sends it").fill("ns-leaders")
    sso_page.get_by_label("Role").select_option("leader")
    sso_page.get_by_label("Recommendations").check()
    sso_page.get_by_role("button", name="Save mapping").click()
    expect(sso_page.get_by_role("status")).to_have_text("Group ns-leaders now gives leader.")
    row = table.locator("tr[data-group=ns-leaders] td")
    expect(row.nth(1)).to_have_text("leader")
    expect(row.nth(2)).to_have_text("Recommendations")
    sso_page.screenshot(path=str(ARTIFACTS / "sso_settings_page.png"), full_page=True)
    sso_page.once("dialog", lambda dialog: dialog.accept())
    sso_page.get_by_role("button", name="Remove the mapping of ns-leaders").click()
    expect(sso_page.get_by_role("status")).to_have_text("Group ns-leaders no longer gives access.")
    expect(table.locator("tr[data-group=ns-leaders]")).to_have_count(0)


def test_an_unreachable_provider_is_announced_and_password_login_still_works(
        browser: Browser, sso: dict):
    """A second server on the same database, configured with a provider nobody listens for."""
    port, dead = free_port(), free_port()
    env = sso["env"] | {"NORTHSTAR_OIDC_ISSUER": f"http://127.0.0.1:{dead}"}
    log_path = sso["tmp"] / "unreachable.log"
    with serving(env, port, log_path):
        context = browser.new_context(base_url=f"http://127.0.0.1:{port}")
        try:
            sso_page = context.new_page()
            sso_page.goto("/login")
            expect(sso_page.locator("#sso-error")).to_contain_text(
                f"Single sign-on with {PROVIDER_NAME} is unavailable right now")
            button = sso_page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")
            expect(button).to_be_disabled()
            sso_page.screenshot(path=str(ARTIFACTS / "sso_provider_unreachable.png"),
                                full_page=True)
            sso_page.get_by_label("Email").fill("pm@northstar.demo")
            sso_page.get_by_label("Password").fill("northstar-demo")
            sso_page.get_by_role("button", name="Sign in", exact=True).click()
            expect(sso_page.locator(".who .role")).to_have_text("pm")
        finally:
            context.close()
    # Why, for the operator: in the server's log.
    reason = f"single sign-on unavailable: cannot read http://127.0.0.1:{dead}"
    assert reason in log_path.read_text()

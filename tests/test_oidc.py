"""Single sign-on refusals and rules, through the app's pages, with a provider played by keys
generated here (discovery, JWKS and token endpoint answered by an httpx transport): each bad
answer gets a clear page, is logged and audited, and creates nothing.

The sign-in against a real provider is in tests/browser/test_sso.py."""

import logging
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import func, select, update

from app.audit.models import AuditEntry
from app.auth.models import Role, SsoGroupMapping, User, UserSession
from app.auth.oidc import OidcClient
from app.auth.sso import ClaimError, MappingRule, evaluate, parse_groups
from app.config import Settings
from app.core.clock import utcnow
from app.main import create_app
from tests import factories
from tests.conftest import csrf_from, login

ISSUER = "https://idp.example.test/realms/acme"
CLIENT_ID = "northstar"
KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1", "alg": "RS256", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1", "alg": "RS256", "use": "sig"})


class FakeProvider:
    """Answers like an OpenID Provider; `claims` and `key` shape the next ID token."""

    def __init__(self) -> None:
        self.discovery_issuer = ISSUER
        self.down = False
        self.key = KEY
        self.overrides: dict = {}
        self.remove: set[str] = set()
        self.nonce: str | None = None
        self.token_calls = 0

    def id_token(self) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": "sub-123", "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300, "nonce": self.nonce, "email": "pat@acme.example",
                  "name": "Pat Okafor", "groups": ["fraud-pms", "all-staff"]}
        claims.update(self.overrides)
        for name in self.remove:
            claims.pop(name, None)
        alg = "HS256" if isinstance(self.key, OctKey) else "RS256"
        return jwt.encode({"alg": alg, "kid": self.key.kid}, claims, self.key)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={
                "issuer": self.discovery_issuer, "authorization_endpoint": f"{ISSUER}/auth",
                "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
                "end_session_endpoint": f"{ISSUER}/logout",
                "id_token_signing_alg_values_supported": ["RS256"]})
        if path.endswith("/jwks"):
            return httpx.Response(200, json={"keys": [KEY.as_dict(private=False)]})
        if path.endswith("/token"):
            self.token_calls += 1
            return httpx.Response(200, json={"access_token": "at", "token_type": "Bearer",
                                             "expires_in": 300, "id_token": self.id_token()})
        return httpx.Response(404)


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def sso_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "oidc_issuer": ISSUER, "oidc_client_id": CLIENT_ID, "oidc_client_secret": "s3cret",
        "oidc_provider_name": "Acme SSO"})


@pytest.fixture
def app(sso_settings, engine, session_factory, provider):
    application = create_app(sso_settings, engine=engine)
    application.state.sessionmaker = session_factory
    application.state.oidc = OidcClient(sso_settings,
                                        transport=httpx.MockTransport(provider.handle))
    return application


@pytest.fixture
def mapped(db):
    fraud = factories.make_team(db, slug="fraud", name="Fraud")
    risk = factories.make_team(db, slug="risk", name="Risk")
    db.add(SsoGroupMapping(group_name="fraud-pms", role=Role.pm, teams=[fraud]))
    db.add(SsoGroupMapping(group_name="risk-viewers", role=Role.viewer, teams=[risk]))
    db.commit()
    return {"fraud": fraud, "risk": risk}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def start(client, provider: FakeProvider, next_path: str = "/pain-points") -> str:
    """Clicks "Sign in with …"; returns the state the provider would send back."""
    page = client.get("/login")
    response = client.post("/auth/oidc/login", data={"csrf_token": csrf_from(page.text),
                                                     "next": next_path})
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/auth"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    provider.nonce = query["nonce"]
    return query["state"]


def callback(client, state: str | None, **extra):
    params = {"code": "the-code", **extra}
    if state is not None:
        params["state"] = state
    return client.get("/auth/oidc/callback", params=params)


def refusal(response) -> str:
    alert = soup(response).find(id="sso-refusal")
    assert alert is not None, response.text
    return alert.get_text(strip=True)


def users(db) -> int:
    return db.scalar(select(func.count()).select_from(User))


def refusals(db) -> list[dict]:
    return [e.after for e in db.scalars(select(AuditEntry).where(
        AuditEntry.action == "sso_refused").order_by(AuditEntry.id))]


# --- the happy path ---------------------------------------------------------------------------


def test_first_sign_in_creates_the_user_with_role_and_teams_and_lands_on_next(
        client, db, provider, mapped):
    response = callback(client, start(client, provider))
    assert response.status_code == 303 and response.headers["location"] == "/pain-points"
    user = db.scalar(select(User).where(User.oidc_subject == "sub-123"))
    assert (user.email, user.name, user.role, user.oidc_issuer) == (
        "pat@acme.example", "Pat Okafor", Role.pm, ISSUER)
    db.refresh(user, ["teams"])
    assert [t.slug for t in user.teams] == ["fraud"]
    assert user.password_hash == ""  # no password: it cannot sign in with one
    page = soup(client.get("/pain-points"))
    assert page.select_one(".who .role").get_text(strip=True) == "pm"
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "login")).all()[-1]
    assert entry.after == {"via": "sso", "role": "pm", "groups": ["fraud-pms"]}


def test_later_sign_in_updates_name_and_email_and_recomputes_the_grant(
        client, db, provider, mapped):
    callback(client, start(client, provider))
    provider.overrides = {"email": "pat.okafor@acme.example", "name": "Pat O.",
                          "groups": ["risk-viewers", "fraud-pms"]}
    client.cookies.clear()
    assert callback(client, start(client, provider)).status_code == 303
    [user] = db.scalars(select(User).where(User.oidc_subject == "sub-123")).all()
    db.refresh(user)
    db.refresh(user, ["teams"])
    # The highest role of the mapped groups, the union of their teams.
    assert (user.email, user.name, user.role) == ("pat.okafor@acme.example", "Pat O.", Role.pm)
    assert sorted(t.slug for t in user.teams) == ["fraud", "risk"]
    assert users(db) == 1


def test_an_existing_account_with_the_same_email_is_never_taken_over(
        client, db, provider, mapped):
    owner = factories.make_user(db, email="pat@acme.example", role="admin")
    db.commit()
    response = callback(client, start(client, provider))
    assert response.status_code == 403
    assert "already exists and is not linked" in refusal(response)
    db.refresh(owner)
    assert owner.oidc_subject is None and owner.role == Role.admin
    assert users(db) == 1
    assert refusals(db)[-1]["reason"] == "email taken by another account"


def test_logout_of_an_sso_session_goes_to_the_providers_end_session_endpoint(
        client, provider, mapped):
    callback(client, start(client, provider))
    page = client.get("/pain-points")
    response = client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{ISSUER}/logout"
    query = parse_qs(target.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert client.get("/pain-points").status_code == 303  # the Northstar session is over


def test_an_sso_session_ends_after_the_idle_time_even_when_active(
        client, db, provider, mapped, sso_settings):
    callback(client, start(client, provider))
    assert client.get("/pain-points").status_code == 200
    # Opened longer ago than the idle time, seen a minute ago: groups must be checked again.
    db.execute(update(UserSession).values(
        created_at=utcnow() - timedelta(minutes=sso_settings.session_idle_minutes + 1),
        last_seen_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    assert client.get("/pain-points").status_code == 303


def test_a_deactivated_sso_user_is_refused_and_has_no_password_to_fall_back_on(
        client, db, provider, mapped):
    callback(client, start(client, provider))
    user = db.scalar(select(User).where(User.oidc_subject == "sub-123"))
    db.execute(update(User).where(User.id == user.id).values(is_active=False))
    db.commit()
    client.cookies.clear()
    response = callback(client, start(client, provider))
    assert response.status_code == 403 and "deactivated" in refusal(response)
    page = client.get("/login")
    response = client.post("/login", data={"email": "pat@acme.example", "password": "",
                                           "csrf_token": csrf_from(page.text)})
    assert response.status_code in (401, 422)
    assert client.get("/pain-points").status_code == 303


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case, expected_page, expected_log", [
    ("bad signature", "could not be verified", "signature"),
    ("HS256 with the client secret", "could not be verified", "signature"),
    ("wrong audience", "not meant for this sign-in", "aud"),
    ("expired", "not meant for this sign-in", "exp"),
    ("reused nonce", "not meant for this sign-in", "nonce"),
    ("groups not a list", "is not a list of group names", "unusable claims"),
    ("no mapped group", "in no group that has access", "no mapped group"),
    ("provider error", "did not sign you in", "provider error access_denied"),
    ("foreign issuer in the answer", "came from another identity provider", "callback iss"),
])
def test_a_bad_answer_is_refused_with_a_clear_page_logged_and_creates_nothing(
        client, db, provider, mapped, caplog, case, expected_page, expected_log):
    state = start(client, provider)
    extra = {}
    if case == "bad signature":
        provider.key = OTHER_KEY
    elif case == "HS256 with the client secret":
        provider.key = OctKey.import_key("s3cret-that-is-long-enough-for-hmac-sha256!",
                                         parameters={"kid": "key-1"})
    elif case == "wrong audience":
        provider.overrides = {"aud": "another-app"}
    elif case == "expired":
        provider.overrides = {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 600}
    elif case == "reused nonce":
        previous = provider.nonce
        client.cookies.clear()
        state = start(client, provider)
        provider.nonce = previous  # the token of an earlier sign-in, replayed
    elif case == "groups not a list":
        provider.overrides = {"groups": "fraud-pms"}
    elif case == "no mapped group":
        provider.overrides = {"groups": ["marketing"]}
    elif case == "provider error":
        extra = {"error": "access_denied", "error_description": "user cancelled"}
    elif case == "foreign issuer in the answer":
        extra = {"iss": "https://evil.example.test"}
    with caplog.at_level(logging.WARNING, logger="northstar.sso"):
        response = callback(client, state, **extra)
    assert response.status_code == 403
    assert expected_page in refusal(response)
    assert any(expected_log in r.getMessage() for r in caplog.records), caplog.text
    assert expected_log in refusals(db)[-1]["reason"]
    assert users(db) == 0
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0
    assert client.get("/pain-points").status_code == 303  # still signed out


@pytest.mark.parametrize("case, expected", [
    ("missing state", "carried no state"),
    ("foreign state", "not started in this browser"),
    ("no state cookie", "not started in this browser"),
])
def test_a_callback_without_or_with_a_foreign_state_is_refused(
        client, db, provider, mapped, app, case, expected):
    state = start(client, provider)
    if case == "missing state":
        state = None
    elif case == "foreign state":
        # A genuine state, but of a sign-in another browser started.
        from fastapi.testclient import TestClient
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
            state = start(other, provider)
    elif case == "no state cookie":
        client.cookies.clear()
    response = callback(client, state)
    assert response.status_code == 400
    assert expected in refusal(response)
    assert provider.token_calls == 0  # the code was never even sent to the provider
    assert users(db) == 0


def test_a_user_who_left_every_mapped_group_loses_the_grant_and_open_sessions(
        client, db, provider, mapped, app):
    callback(client, start(client, provider))
    assert client.get("/pain-points").status_code == 200
    from fastapi.testclient import TestClient
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        provider.overrides = {"groups": ["all-staff"]}
        response = callback(other, start(other, provider))
        assert response.status_code == 403
    user = db.scalar(select(User).where(User.oidc_subject == "sub-123"))
    db.refresh(user)
    db.refresh(user, ["teams"])
    assert (user.role, user.teams) == (Role.viewer, [])
    assert client.get("/pain-points").status_code == 303  # the first browser is signed out


# --- the provider unavailable -----------------------------------------------------------------


@pytest.mark.parametrize("problem", ["unreachable", "wrong issuer"])
def test_an_unusable_provider_is_announced_and_password_login_still_works(
        client, db, provider, caplog, problem):
    if problem == "unreachable":
        provider.down = True
    else:
        provider.discovery_issuer = "https://idp.example.test/realms/other"
    user = factories.make_user(db, role="pm")
    db.commit()
    with caplog.at_level(logging.WARNING, logger="northstar.sso"):
        page = client.get("/login")
    alert = soup(page).find(id="sso-error")
    assert alert is not None and "unavailable" in alert.get_text()
    button = soup(page).find("button", string="Sign in with Acme SSO")
    assert button.has_attr("disabled")
    expected = "cannot read" if problem == "unreachable" else "names issuer"
    assert any(expected in r.getMessage() for r in caplog.records), caplog.text
    response = client.post("/auth/oidc/login", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 503
    assert "unavailable" in soup(response).find(id="sso-error").get_text()
    login(client, user.email)
    assert client.get("/pain-points").status_code == 200


def test_sso_pages_are_absent_when_sso_is_not_configured(settings, engine, session_factory):
    from fastapi.testclient import TestClient
    application = create_app(settings, engine=engine)
    application.state.sessionmaker = session_factory
    with TestClient(application, follow_redirects=False) as plain:
        page = plain.get("/login")
        assert soup(page).find(attrs={"data-testid": "sso-form"}) is None
        assert plain.get("/auth/oidc/callback?state=x&code=y").status_code == 404


# --- password login off -----------------------------------------------------------------------


def test_with_password_login_off_only_break_glass_admins_use_a_password(
        sso_settings, engine, session_factory, db, provider):
    from fastapi.testclient import TestClient
    application = create_app(sso_settings.model_copy(update={"password_login": False}),
                             engine=engine)
    application.state.sessionmaker = session_factory
    application.state.oidc = OidcClient(sso_settings,
                                        transport=httpx.MockTransport(provider.handle))
    pm = factories.make_user(db, role="pm")
    admin = factories.make_user(db, role="admin", break_glass=True)
    db.commit()
    with TestClient(application, follow_redirects=False) as client:
        page = client.get("/login")
        folded = soup(page).find("details")
        assert "break-glass" in folded.find("summary").get_text()
        assert folded.find("input", attrs={"name": "password"}) is not None
        response = client.post("/login", data={"email": pm.email, "password": factories.PASSWORD,
                                               "csrf_token": csrf_from(page.text)})
        assert response.status_code == 403
        assert "Password sign-in is turned off" in soup(response).find(id="login-error").get_text()
        assert client.get("/pain-points").status_code == 303
        login(client, admin.email)
        assert client.get("/settings").status_code == 200


# --- mappings: the settings page --------------------------------------------------------------


def test_admin_maps_and_unmaps_a_group_on_the_settings_page(client, db, as_role):
    team = factories.make_team(db, slug="ml-platform", name="ML platform")
    db.commit()
    as_role("admin")
    page = client.get("/settings/sso")
    assert "Register this redirect URI" in page.text
    assert soup(page).find(string="http://testserver/auth/oidc/callback") is not None
    response = client.post("/settings/sso", data={
        "csrf_token": csrf_from(page.text), "group": "ml-leads", "role": "leader",
        "teams": ["ml-platform"]})
    assert response.status_code == 303
    row = soup(client.get("/settings/sso")).find("tr", attrs={"data-group": "ml-leads"})
    assert [td.get_text(strip=True) for td in row.find_all("td")[:3]] == [
        "ml-leads", "leader", "ML platform"]
    mapping = db.scalar(select(SsoGroupMapping).where(SsoGroupMapping.group_name == "ml-leads"))
    assert mapping.role == Role.leader and team.id
    entry = db.scalars(select(AuditEntry).where(AuditEntry.entity_type == "sso_group_mapping")
                       ).all()[-1]
    assert entry.action == "create" and entry.after == {"group": "ml-leads", "role": "leader",
                                                        "teams": ["ml-platform"]}
    page = client.get("/settings/sso")
    response = client.post("/settings/sso/unmap", data={"csrf_token": csrf_from(page.text),
                                                        "group": "ml-leads"})
    assert response.status_code == 303
    assert db.scalar(select(func.count()).select_from(SsoGroupMapping)) == 0
    assert db.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "sso_group_mapping").order_by(AuditEntry.id)).all() == [
        "create", "delete"]


def test_a_bad_mapping_is_refused_field_by_field_and_stores_nothing(client, db, as_role):
    as_role("admin")
    page = client.get("/settings/sso")
    response = client.post("/settings/sso", data={
        "csrf_token": csrf_from(page.text), "group": "  ", "role": "owner",
        "teams": ["no-such-team"]})
    assert response.status_code == 422
    html = soup(response)
    for field in ("group", "role"):
        assert html.find(id=field)["aria-invalid"] == "true"
    assert "unknown team: no-such-team" in html.find(id="teams-error").get_text()
    assert db.scalar(select(func.count()).select_from(SsoGroupMapping)) == 0
    # And without the CSRF token nothing happens either.
    response = client.post("/settings/sso", data={"group": "x", "role": "pm"})
    assert response.status_code == 403
    assert db.scalar(select(func.count()).select_from(SsoGroupMapping)) == 0


def test_only_admins_manage_mappings(client, as_role):
    as_role("pm")
    assert client.get("/settings/sso").status_code == 403


# --- the rules --------------------------------------------------------------------------------


def test_groups_give_the_highest_role_and_the_union_of_teams():
    rules = [MappingRule("a", Role.viewer, frozenset({1})), MappingRule("b", Role.pm,
             frozenset({2})), MappingRule("c", Role.leader, frozenset({2, 3}))]
    grant = evaluate({"a", "c", "unmapped"}, rules)
    assert (grant.role, grant.team_ids, grant.groups) == (Role.leader, frozenset({1, 2, 3}),
                                                          ("a", "c"))
    assert evaluate({"b", "c"}, rules).role == Role.pm
    assert evaluate({"unmapped"}, rules) is None
    assert evaluate(set(), rules) is None


@pytest.mark.parametrize("value", ["admins", {"admins": True}, 7, ["ok", 3]])
def test_a_groups_claim_that_is_not_a_list_of_names_is_refused(value):
    with pytest.raises(ClaimError, match="not a list of group names"):
        parse_groups({"groups": value}, "groups")


def test_an_absent_groups_claim_means_no_groups():
    assert parse_groups({}, "groups") == frozenset()
    assert parse_groups({"roles": [" a ", "b", ""]}, "roles") == frozenset({"a", "b"})


# --- the command line -------------------------------------------------------------------------


def test_cli_maps_unmaps_groups_and_creates_a_break_glass_admin(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.config import get_settings
    from app.db import make_engine, make_sessionmaker

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        engine = make_engine(url)
        with make_sessionmaker(engine)() as session:
            factories.make_team(session, slug="fraud", name="Fraud")
            factories.make_team(session, slug="risk", name="Risk")
            session.commit()
        result = runner.invoke(cli, ["sso", "map", "--group", "fraud-pms", "--role", "pm",
                                     "--team", "fraud", "--team", "risk"])
        assert result.exit_code == 0, result.output
        assert "Group fraud-pms gives role pm, teams: fraud, risk" in result.stdout
        bad = runner.invoke(cli, ["sso", "map", "--group", "x", "--role", "owner",
                                  "--team", "nope"])
        assert bad.exit_code == 2
        assert "error: role: unknown role 'owner'" in bad.stderr
        assert "error: teams: unknown team: nope" in bad.stderr
        listed = runner.invoke(cli, ["sso", "list"])
        assert listed.stdout.splitlines()[1].split() == ["fraud-pms", "pm", "fraud,", "risk"]
        assert runner.invoke(cli, ["sso", "unmap", "--group", "fraud-pms"]).exit_code == 0
        missing = runner.invoke(cli, ["sso", "unmap", "--group", "fraud-pms"])
        assert missing.exit_code == 2 and "error: group: no mapping" in missing.stderr
        created = runner.invoke(cli, ["users", "create", "--email", "root@acme.example",
                                      "--password", "break-glass-password", "--role", "admin",
                                      "--break-glass"])
        assert created.exit_code == 0, created.output
        refused = runner.invoke(cli, ["users", "create", "--email", "pm@acme.example",
                                      "--password", "break-glass-password", "--role", "pm",
                                      "--break-glass"])
        assert refused.exit_code == 2 and "break-glass" in refused.stderr
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(SsoGroupMapping)) == 0
            admin = session.scalar(select(User).where(User.email == "root@acme.example"))
            assert admin.break_glass is True
            assert session.scalar(select(User).where(User.email == "pm@acme.example")) is None
            actions = session.scalars(select(AuditEntry.action).where(
                AuditEntry.entity_type == "sso_group_mapping").order_by(AuditEntry.id)).all()
            assert actions == ["create", "delete"]
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_the_audit_log_shows_sso_refusals_and_sign_ins(client, db, provider, mapped, app):
    provider.overrides = {"groups": ["marketing"]}
    callback(client, start(client, provider))
    provider.overrides = {}
    client.cookies.clear()
    callback(client, start(client, provider))
    admin = factories.make_user(db, role="admin")
    db.commit()
    client.cookies.clear()
    login(client, admin.email)
    page = soup(client.get("/settings/audit", params={"entity": "sso"}))
    [row] = page.select("tr[data-entry]")
    assert row.select_one(".action").get_text(strip=True) == "sso_refused"
    assert row.select_one(".actor").get_text(strip=True) == "pat@acme.example"
    assert "Single sign-on" in row.select_one(".entity").get_text()
    page = soup(client.get("/settings/audit", params={"entity": "user", "action": "login"}))
    assert "pat@acme.example" in [r.select_one(".actor").get_text(strip=True)
                                  for r in page.select("tr[data-entry]")]


def test_every_single_sign_on_setting_is_documented():
    from app.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "sso.md").read_text()
    names = [n for n in Settings.model_fields if n.startswith("oidc_")]
    names += ["public_url", "password_login"]
    missing = [n for n in names if f"NORTHSTAR_{n.upper()}" not in doc]
    assert missing == []

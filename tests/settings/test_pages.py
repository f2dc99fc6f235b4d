"""The admin settings pages as a browser uses them: forms, refusals, roles, CSRF, tokens."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.models import ApiToken, Role, User
from app.auth.permissions import Permission
from app.auth.service import sha256
from app.core.routes import iter_app_routes
from app.settings.models import OrgSettings
from app.teams.models import Persona, Team, TeamPersona
from tests import factories
from tests.helpers import assert_field_error, login, page_csrf, page_text, soup_of

STRONG_PASSWORD = "a-long-enough-password"


def team_count(db, **where) -> int:
    query = select(func.count()).select_from(Team)
    for column, value in where.items():
        query = query.where(getattr(Team, column) == value)
    return db.scalar(query)


def headcount_rows(db, slug: str) -> list[tuple[str, int, Decimal | None]]:
    db.expire_all()
    rows = db.execute(
        select(Persona.slug, TeamPersona.headcount, TeamPersona.hourly_cost)
        .join(TeamPersona, TeamPersona.persona_id == Persona.id)
        .join(Team, Team.id == TeamPersona.team_id)
        .where(Team.slug == slug)
        .order_by(Persona.slug)
    ).all()
    return [tuple(r) for r in rows]


def team_form(csrf: str, **fields: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "name": "", "slug": "", "description": "", "version": "1"}
    for persona in ("data-scientist", "ml-engineer", "data-engineer", "bi-engineer",
                    "platform-engineer", "product-manager"):
        data[f"headcount-{persona}"] = ""
        data[f"hourly_cost-{persona}"] = ""
    data.update(fields)
    return data


# --- access ------------------------------------------------------------------------------------


def test_every_settings_route_requires_the_admin_permission(app):
    routes = [r for r in iter_app_routes(app) if r.path.startswith("/settings")]
    assert len(routes) >= 17

    def permissions(dependant):
        for dep in dependant.dependencies:
            yield getattr(dep.call, "permission", None)
            yield from permissions(dep)

    unguarded = [f"{r.methods} {r.path}" for r in routes
                 if Permission.admin not in set(permissions(r.dependant))]
    assert unguarded == []


SETTINGS_PAGES = ["/settings", "/settings/teams", "/settings/personas", "/settings/users",
                  "/settings/tokens", "/settings/organisation"]


@pytest.mark.parametrize("role", ["pm", "leader", "viewer"])
def test_other_roles_are_refused_on_get_and_post(client, db, as_role, role):
    team = factories.make_team(db, slug="existing")
    db.commit()
    as_role(role, teams=[team])
    for path in SETTINGS_PAGES + ["/settings/teams/existing"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "may not manage settings" in page_text(response)
    csrf = page_csrf(client, "/")  # a valid token: the refusal is about the role, not CSRF
    posts = {
        "/settings/teams": team_form(csrf, name="Sneaky", slug="sneaky"),
        "/settings/teams/existing/archive": {"csrf_token": csrf},
        "/settings/organisation": {"csrf_token": csrf, "name": "Hijacked", "currency": "EUR",
                                   "fiscal_year_start_month": "1",
                                   "working_weeks_per_year": "46",
                                   "working_hours_per_week": "40"},
        "/settings/users": {"csrf_token": csrf, "email": "mallory@example.com",
                            "password": STRONG_PASSWORD, "role": "admin"},
    }
    for path, data in posts.items():
        response = client.post(path, data=data)
        assert response.status_code == 403, path
        assert "may not manage settings" in page_text(response)
    db.expire_all()
    assert team_count(db, slug="sneaky") == 0
    assert db.get(Team, team.id).is_archived is False
    assert db.get(OrgSettings, 1).name != "Hijacked"
    assert db.scalar(select(User.id).where(User.email == "mallory@example.com")) is None


def test_post_without_csrf_token_is_refused_and_stores_nothing(client, db, as_role):
    as_role("admin")
    client.get("/settings/teams")
    data = team_form("", name="No Token", slug="no-token")
    del data["csrf_token"]
    response = client.post("/settings/teams", data=data)
    assert response.status_code == 403
    assert "Reload the page" in page_text(response)
    response = client.post("/settings/users", data={"email": "nocsrf@example.com",
                                                    "password": STRONG_PASSWORD, "role": "pm"})
    assert response.status_code == 403
    assert team_count(db, slug="no-token") == 0
    assert db.scalar(select(User.id).where(User.email == "nocsrf@example.com")) is None


def test_admin_sees_settings_in_the_main_nav_and_the_subnav(client, as_role):
    as_role("admin")
    soup = soup_of(client.get("/settings"))
    assert "Settings" in [a.text for a in soup.select("nav[aria-label=Main] a")]
    subnav = [a.get_text(strip=True) for a in soup.select("nav[aria-label=Settings] a")]
    assert subnav == ["Overview", "Teams", "Personas", "Users", "API tokens", "Single sign-on",
                      "Organisation", "Audit log"]


# --- teams -------------------------------------------------------------------------------------


def test_admin_creates_a_team_with_headcounts_and_an_override(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/teams")
    response = client.post("/settings/teams", data=team_form(
        csrf, name="Fraud ML", slug="fraud-ml", description="Card fraud models",
        **{"headcount-data-scientist": "4", "hourly_cost-data-scientist": "130.50",
           "headcount-ml-engineer": "2", "headcount-data-engineer": "0"},
    ))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/settings/teams"

    page = soup_of(client.get("/settings/teams"))
    assert "Team Fraud ML created." in page.select_one(".flash").get_text()
    cells = [td.get_text(strip=True) for td in page.select_one('tr[data-team="fraud-ml"]')("td")]
    assert cells == ["Fraud ML", "fraud-ml", "6", "Active"]
    assert headcount_rows(db, "fraud-ml") == [("data-scientist", 4, Decimal("130.50")),
                                              ("ml-engineer", 2, None)]

    edit = soup_of(client.get("/settings/teams/fraud-ml"))
    assert edit.find(id="hourly_cost-data-scientist")["value"] == "130.50"
    assert edit.find(id="headcount-ml-engineer")["value"] == "2"
    # Blank override: the persona's default shows as the placeholder.
    assert edit.find(id="hourly_cost-ml-engineer")["value"] == ""
    assert edit.find(id="hourly_cost-ml-engineer")["placeholder"] == "120.00"


def test_duplicate_slug_is_refused_beside_the_slug_field(client, db, as_role):
    factories.make_team(db, name="Payments", slug="payments")
    db.commit()
    as_role("admin")
    csrf = page_csrf(client, "/settings/teams")
    response = client.post("/settings/teams", data=team_form(
        csrf, name="Payments two", slug="payments", **{"headcount-data-scientist": "3"}))
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "slug", "payments", "taken")
    assert soup.find(id="name")["value"] == "Payments two"
    assert soup.find(id="headcount-data-scientist")["value"] == "3"
    assert team_count(db, slug="payments") == 1
    assert team_count(db, name="Payments two") == 0


def test_bad_slug_and_negative_headcount_are_named(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/teams")
    response = client.post("/settings/teams", data=team_form(
        csrf, name="Bad", slug="Bad Slug", **{"headcount-ml-engineer": "-2"}))
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "slug", "lowercase")
    assert_field_error(soup, "headcount-ml-engineer", "greater than or equal to 0")
    assert team_count(db, name="Bad") == 0


def test_admin_edits_headcounts_then_archives_and_restores_a_team(client, db, as_role):
    factories.make_team(db, name="Search", slug="search",
                        headcounts={"data-scientist": 3, "ml-engineer": (2, Decimal("150"))})
    db.commit()
    as_role("admin")
    csrf = page_csrf(client, "/settings/teams/search")
    response = client.post("/settings/teams/search", data=team_form(
        csrf, name="Search & ranking", slug="search-ranking", description="",
        **{"headcount-data-scientist": "5", "headcount-ml-engineer": "0",
           "headcount-data-engineer": "1", "hourly_cost-data-engineer": "99"}))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/settings/teams/search-ranking"
    assert headcount_rows(db, "search-ranking") == [("data-engineer", 1, Decimal("99.00")),
                                                    ("data-scientist", 5, None)]

    form = soup_of(client.get("/settings/teams/search-ranking")).find(
        "form", action="/settings/teams/search-ranking/archive")
    assert form.get("data-confirm")
    csrf = form.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post("/settings/teams/search-ranking/archive", data={"csrf_token": csrf})
    assert response.status_code == 303
    row = soup_of(client.get("/settings/teams")).select_one('tr[data-team="search-ranking"]')
    assert row("td")[-1].get_text(strip=True) == "Archived"

    csrf = page_csrf(client, "/settings/teams/search-ranking")
    assert client.post("/settings/teams/search-ranking/unarchive",
                       data={"csrf_token": csrf}).status_code == 303
    db.expire_all()
    assert db.scalars(select(Team).where(Team.slug == "search-ranking")).one().is_archived is False


def test_unknown_team_page_is_not_found(client, as_role):
    as_role("admin")
    assert client.get("/settings/teams/no-such-team").status_code == 404


# --- personas ----------------------------------------------------------------------------------


def test_negative_persona_cost_is_refused_on_create_and_on_edit(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/personas")
    response = client.post("/settings/personas", data={
        "csrf_token": csrf, "name": "MLOps engineer", "slug": "mlops-engineer",
        "hourly_cost": "-5"})
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "hourly_cost", "greater than or equal to 0")
    assert soup.find(id="name")["value"] == "MLOps engineer"
    assert db.scalar(select(Persona.id).where(Persona.slug == "mlops-engineer")) is None

    response = client.post("/settings/personas/data-scientist", data={
        "csrf_token": csrf, "name": "Data scientist", "hourly_cost": "-1", "version": "1"})
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "persona-data-scientist-hourly_cost", "greater than or equal to 0")
    assert soup.find(id="persona-data-scientist-hourly_cost")["value"] == "-1"
    db.expire_all()
    assert factories.persona(db, "data-scientist").hourly_cost == Decimal("110.00")


def test_admin_creates_and_edits_personas(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/personas")
    response = client.post("/settings/personas", data={
        "csrf_token": csrf, "name": "MLOps engineer", "slug": "mlops-engineer",
        "hourly_cost": "118.5"})
    assert response.status_code == 303
    response = client.post("/settings/personas/data-scientist", data={
        "csrf_token": csrf, "name": "Data scientist (senior)", "hourly_cost": "125.50",
        "version": "1"})
    assert response.status_code == 303
    db.expire_all()
    created = factories.persona(db, "mlops-engineer")
    assert (created.name, created.hourly_cost) == ("MLOps engineer", Decimal("118.50"))
    edited = factories.persona(db, "data-scientist")
    assert (edited.name, edited.hourly_cost) == ("Data scientist (senior)", Decimal("125.50"))
    row = soup_of(client.get("/settings/personas")).select_one('tr[data-persona="mlops-engineer"]')
    assert row.find("input", attrs={"name": "hourly_cost"})["value"] == "118.50"


# --- users -------------------------------------------------------------------------------------


def test_create_user_with_unknown_role_is_refused(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/users")
    response = client.post("/settings/users", data={
        "csrf_token": csrf, "email": "newbie@example.com", "name": "New Bie",
        "password": STRONG_PASSWORD, "role": "superuser"})
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "role", "unknown role 'superuser'")
    assert soup.find(id="email")["value"] == "newbie@example.com"
    assert not soup.find(id="password").get("value")  # a password is never echoed back
    assert db.scalar(select(User.id).where(User.email == "newbie@example.com")) is None


def test_admin_creates_a_user_who_can_sign_in(client, app, db, as_role):
    factories.make_team(db, name="Vision", slug="vision")
    db.commit()
    as_role("admin")
    csrf = page_csrf(client, "/settings/users")
    response = client.post("/settings/users", data={
        "csrf_token": csrf, "email": "Vera@Example.com", "name": "Vera PM",
        "password": STRONG_PASSWORD, "role": "pm", "teams": ["vision"]})
    assert response.status_code == 303, response.text
    row = soup_of(client.get("/settings/users")).select_one('tr[data-user="vera@example.com"]')
    cells = [td.get_text(strip=True) for td in row("td")]
    assert cells == ["vera@example.com", "Vera PM", "pm", "Vision", "Active"]
    user = db.scalars(select(User).where(User.email == "vera@example.com")).one()
    assert user.role == Role.pm
    with TestClient(app, follow_redirects=False) as browser:
        login(browser, "vera@example.com", STRONG_PASSWORD)
        assert browser.get("/").status_code == 200


def test_admin_edits_a_user_and_sets_a_password_that_ends_their_sessions(client, app, db,
                                                                          as_role):
    factories.make_team(db, name="Ranking", slug="ranking")
    user = factories.make_user(db, role="viewer", email="val@example.com", name="Val")
    db.commit()
    with TestClient(app, follow_redirects=False) as val_browser:
        login(val_browser, user.email)
        as_role("admin")
        csrf = page_csrf(client, f"/settings/users/{user.id}")
        response = client.post(f"/settings/users/{user.id}", data={
            "csrf_token": csrf, "name": "Val Leader", "role": "leader", "teams": ["ranking"],
            "is_active": "yes"})
        assert response.status_code == 303, response.text
        db.expire_all()
        edited = db.scalars(select(User).where(User.id == user.id)).one()
        assert (edited.name, edited.role, edited.is_active) == ("Val Leader", Role.leader, True)
        assert val_browser.get("/").status_code == 200

        response = client.post(f"/settings/users/{user.id}/password",
                               data={"csrf_token": csrf, "password": "short"})
        assert response.status_code == 422
        assert_field_error(soup_of(response), "password", "at least")
        assert val_browser.get("/").status_code == 200

        response = client.post(f"/settings/users/{user.id}/password",
                               data={"csrf_token": csrf, "password": STRONG_PASSWORD})
        assert response.status_code == 303
        assert val_browser.get("/").status_code == 303  # signed out everywhere
    with TestClient(app, follow_redirects=False) as again:
        login(again, user.email, STRONG_PASSWORD)


def test_admin_cannot_demote_itself(client, db, as_role):
    admin = as_role("admin")
    csrf = page_csrf(client, f"/settings/users/{admin.id}")
    response = client.post(f"/settings/users/{admin.id}", data={
        "csrf_token": csrf, "name": "Me", "role": "viewer", "is_active": "yes"})
    assert response.status_code == 422
    assert_field_error(soup_of(response), "role", "cannot demote")
    db.expire_all()
    assert db.get(User, admin.id).role == Role.admin


# --- API tokens --------------------------------------------------------------------------------


def test_token_secret_is_shown_once_and_works_until_revoked(client, app, db, as_role):
    admin = as_role("admin")
    csrf = page_csrf(client, "/settings/tokens")
    response = client.post("/settings/tokens", data={
        "csrf_token": csrf, "user": admin.email, "name": "CI deploy hook", "role": "",
        "team": ""})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    soup = soup_of(response)
    secret = soup.select_one(".secret").get_text(strip=True)
    assert secret.startswith("nst_")
    assert "will not be shown again" in soup.get_text()
    assert all(secret not in h for h in response.headers.get_list("set-cookie"))
    stored = db.scalars(select(ApiToken).where(ApiToken.name == "CI deploy hook")).one()
    assert stored.token_hash == sha256(secret)
    assert stored.role == Role.admin

    listing = client.get("/settings/tokens")
    assert secret not in listing.text
    assert soup_of(listing).select(".secret") == []
    row = soup_of(listing).select_one(f'tr[data-token="{stored.id}"]')
    assert f"{secret[:10]}…" in row.get_text()
    revoke_form = row.find("form")
    assert revoke_form["action"] == f"/settings/tokens/{stored.id}/revoke"
    assert revoke_form["method"] == "post" and revoke_form.get("data-confirm")

    with TestClient(app, follow_redirects=False) as pipeline:
        bearer = {"Authorization": f"Bearer {secret}"}
        assert pipeline.get("/", headers=bearer).status_code == 200
        response = client.post(f"/settings/tokens/{stored.id}/revoke",
                               data={"csrf_token": page_csrf(client, "/settings/tokens")})
        assert response.status_code == 303
        # A page answers an unknown or revoked bearer token like any unauthenticated visit.
        refused = pipeline.get("/", headers=bearer)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/login")
    row = soup_of(client.get("/settings/tokens")).select_one(f'tr[data-token="{stored.id}"]')
    assert "Revoked" in row.get_text() and row.find("form") is None


def test_token_for_a_team_the_user_is_not_in_is_refused(client, db, as_role):
    factories.make_team(db, name="Other", slug="other")
    pm = factories.make_user(db, role="pm", email="pm-tok@example.com")
    db.commit()
    as_role("admin")
    csrf = page_csrf(client, "/settings/tokens")
    response = client.post("/settings/tokens", data={
        "csrf_token": csrf, "user": pm.email, "name": "pm pipeline", "role": "admin",
        "team": "other"})
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "role", "more rights")
    assert soup.select(".secret") == []
    assert soup.find(id="name")["value"] == "pm pipeline"
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0


# --- organisation ------------------------------------------------------------------------------


def org_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "name": "Acme ML", "currency": " EUR ",
            "fiscal_year_start_month": "4", "working_weeks_per_year": "45.5",
            "working_hours_per_week": "38", "version": "1", "target_lead_time_days": "45",
            "staleness_days": "90"} | fields


def test_org_settings_update_saves(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/organisation")
    response = client.post("/settings/organisation", data=org_form(csrf))
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/organisation"
    db.expire_all()
    org = db.get(OrgSettings, 1)
    assert (org.name, org.currency, org.fiscal_year_start_month) == ("Acme ML", "EUR", 4)
    assert (org.working_weeks_per_year, org.working_hours_per_week) == (Decimal("45.5"),
                                                                        Decimal("38"))
    soup = soup_of(client.get("/settings/organisation"))
    assert soup.find(id="currency")["value"] == "EUR"
    assert soup.select_one("#fiscal_year_start_month option[selected]").get_text() == "April"
    assert (org.target_lead_time_days, org.staleness_days) == (45, 90)
    assert soup.find(id="staleness_days")["value"] == "90"


def test_a_negative_target_lead_time_is_refused(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/organisation")
    response = client.post("/settings/organisation",
                           data=org_form(csrf, target_lead_time_days="-1"))
    assert response.status_code == 422
    soup = soup_of(response)
    message = soup.find("p", id="target_lead_time_days-error")
    assert "greater than or equal" in message.get_text()
    field = soup.find(id="target_lead_time_days")
    assert field["aria-invalid"] == "true"
    assert "target_lead_time_days-error" in field["aria-describedby"].split()
    db.expire_all()
    assert db.get(OrgSettings, 1).target_lead_time_days == 30


def test_bad_currency_is_refused_and_nothing_is_saved(client, db, as_role):
    as_role("admin")
    csrf = page_csrf(client, "/settings/organisation")
    response = client.post("/settings/organisation", data=org_form(csrf, currency="usd1"))
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "currency", "currency code")
    assert soup.find(id="currency")["value"] == "usd1"
    assert soup.find(id="name")["value"] == "Acme ML"
    db.expire_all()
    org = db.get(OrgSettings, 1)
    assert (org.name, org.currency) == ("Northstar", "USD")


# --- markup ------------------------------------------------------------------------------------


def test_settings_pages_are_labelled_and_carry_csrf_tokens(client, db, as_role):
    factories.make_team(db, name="Labels", slug="labels", headcounts={"data-scientist": 1})
    admin = as_role("admin", teams=[])
    factories.make_token(db, admin, name="existing")
    db.commit()
    pages = SETTINGS_PAGES + ["/settings/teams/labels", f"/settings/users/{admin.id}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        soup = soup_of(response)
        main = soup.find("main")
        assert len(main.find_all("h1")) == 1, path
        for th in main.select("thead th"):
            assert th.get("scope") == "col", (path, th)
        for field in main.find_all(["input", "select", "textarea"]):
            if field.get("type") == "hidden":
                continue
            labelled = soup.find("label", attrs={"for": field.get("id")}) is not None
            assert field.get("id") and labelled, (path, field)
        for form in main.find_all("form"):
            assert form["method"] == "post"
            assert form.find("input", attrs={"name": "csrf_token", "type": "hidden"}), (path, form)
        assert soup.find(attrs={"style": True}) is None, path
        assert all(s.get("src") for s in soup.find_all("script")), path

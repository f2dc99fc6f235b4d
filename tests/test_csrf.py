"""CSRF is bound to the session and unsafe requests must come from our own origin (issue 14)."""

from fastapi.testclient import TestClient

from app.teams.models import Team
from tests import factories
from tests.helpers import csrf_from, login, page_csrf


def _team_form(csrf: str, slug: str) -> dict:
    return {"csrf_token": csrf, "name": f"Team {slug}", "slug": slug, "description": ""}


def _admin(db):
    user = factories.make_user(db, role="admin")
    db.commit()
    return user


def test_token_from_another_browsers_session_is_refused(app, client, db):
    victim = _admin(db)
    login(client, victim.email)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as attacker:
        login(attacker, _admin(db).email)
        foreign = page_csrf(attacker, "/settings/teams")
    own = page_csrf(client, "/settings/teams")
    assert foreign != own

    refused = client.post("/settings/teams", data=_team_form(foreign, "foreign"))
    assert refused.status_code == 403
    assert db.query(Team).filter_by(slug="foreign").count() == 0
    accepted = client.post("/settings/teams", data=_team_form(own, "own"))
    assert accepted.status_code == 303


def test_anonymous_csrf_cookie_and_token_do_not_pass_for_a_session(app, client, db):
    """A signed-out browser's token and cookie, planted beside a victim's session, fail."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as stranger:
        page = stranger.get("/login")
        planted_token = csrf_from(page.text)
        planted_cookie = stranger.cookies.get("northstar_csrf")
    login(client, _admin(db).email)
    client.cookies.set("northstar_csrf", planted_cookie)
    response = client.post("/settings/teams", data=_team_form(planted_token, "planted"))
    assert response.status_code == 403


def test_the_token_changes_with_the_session(client, db):
    user = _admin(db)
    login(client, user.email)
    first = page_csrf(client, "/settings/teams")
    client.post("/logout", data={"csrf_token": first})
    login(client, user.email)
    second = page_csrf(client, "/settings/teams")
    assert first != second
    assert client.post("/settings/teams", data=_team_form(first, "old")).status_code == 403


def test_form_post_from_an_evil_origin_is_refused_even_with_a_valid_token(client, db):
    login(client, _admin(db).email)
    csrf = page_csrf(client, "/settings/teams")
    for headers in ({"Origin": "https://evil.example"},
                    {"Referer": "https://evil.example/page"},
                    {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"}):
        response = client.post("/settings/teams", data=_team_form(csrf, "evil"), headers=headers)
        assert response.status_code == 403, headers
    assert db.query(Team).filter_by(slug="evil").count() == 0
    ok = client.post("/settings/teams", data=_team_form(csrf, "fine"),
                     headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 303


def test_cookie_session_api_checks_origin_and_token(client, db):
    login(client, _admin(db).email)
    csrf = page_csrf(client, "/settings/teams")
    body = {"name": "Via cookie", "slug": "via-cookie"}
    assert client.post("/api/v1/teams", json=body).status_code == 403  # no token
    evil = client.post("/api/v1/teams", json=body,
                       headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert evil.headers["content-type"].startswith("application/problem+json")
    ok = client.post("/api/v1/teams", json=body,
                     headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"})
    assert ok.status_code == 201


def test_bearer_token_requests_stay_exempt(client, db):
    raw = factories.make_token(db, _admin(db))
    db.commit()
    response = client.post("/api/v1/teams", json={"name": "Bearer", "slug": "bearer"},
                           headers={"Authorization": f"Bearer {raw}",
                                    "Origin": "https://evil.example"})
    assert response.status_code == 201


def test_login_form_refuses_a_foreign_origin(client, db):
    user = _admin(db)
    csrf = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           "csrf_token": csrf},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "northstar_session" not in response.cookies

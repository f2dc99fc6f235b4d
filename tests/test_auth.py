"""Login, logout, sessions, CSRF and rate limits, as a browser sees them."""

from datetime import timedelta

from bs4 import BeautifulSoup
from sqlalchemy import func, select

from app.auth.models import LoginAttempt, UserSession
from app.core.clock import utcnow
from tests import factories
from tests.conftest import csrf_from, login, page_csrf


def test_login_then_home_shows_the_user(client, db):
    user = factories.make_user(db, role="pm", name="Priya PM")
    db.commit()
    login(client, user.email)
    page = client.get("/")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.h1.text.strip() == "Overview"
    assert "Priya PM" in soup.select_one(".account .who").text
    nav = [a.text for a in soup.select("nav[aria-label=Main] a")]
    assert "Overview" in nav and "Settings" not in nav


def test_wrong_password_is_refused_with_a_generic_message(client, db):
    user = factories.make_user(db)
    db.commit()
    page = client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": "nope-nope-nope",
                                           "csrf_token": csrf_from(page.text)})
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert "northstar_session" not in response.cookies
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0


def test_unknown_user_gets_the_same_message(client):
    page = client.get("/login")
    response = client.post("/login", data={"email": "ghost@example.com", "password": "whatever-1",
                                           "csrf_token": csrf_from(page.text)})
    assert response.status_code == 401
    assert "Wrong email or password." in response.text


def test_login_form_without_csrf_token_is_refused(client, db):
    user = factories.make_user(db)
    db.commit()
    client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 403
    assert "Reload the page" in response.text
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0


def test_pages_redirect_anonymous_visitors_to_login(client):
    response = client.get("/?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F%3Fx%3D1"


def test_tampered_session_cookie_is_ignored(client, db):
    user = factories.make_user(db)
    db.commit()
    login(client, user.email)
    cookie = client.cookies.get("northstar_session")
    client.cookies.set("northstar_session", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    assert client.get("/").status_code == 303


def test_logout_ends_the_session_server_side(client, db):
    user = factories.make_user(db)
    db.commit()
    login(client, user.email)
    stolen = client.cookies.get("northstar_session")
    response = client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert response.status_code == 303
    client.cookies.set("northstar_session", stolen)  # replaying the old cookie does not work
    assert client.get("/").status_code == 303


def test_logout_without_csrf_is_refused(client, db):
    user = factories.make_user(db)
    db.commit()
    login(client, user.email)
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200


def test_idle_session_expires(client, db, settings):
    user = factories.make_user(db)
    db.commit()
    login(client, user.email)
    row = db.scalars(select(UserSession)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
    db.commit()
    assert client.get("/").status_code == 303


def test_absolute_session_lifetime(client, db, settings):
    user = factories.make_user(db)
    db.commit()
    login(client, user.email)
    row = db.scalars(select(UserSession)).one()
    row.created_at = utcnow() - timedelta(hours=settings.session_absolute_hours, minutes=1)
    db.commit()
    assert client.get("/").status_code == 303


def test_deactivated_user_is_signed_out(client, db):
    user = factories.make_user(db)
    db.commit()
    login(client, user.email)
    user.is_active = False
    db.commit()
    assert client.get("/").status_code == 303


def test_failed_logins_are_rate_limited_per_account(client, db, settings):
    user = factories.make_user(db)
    db.commit()
    token = csrf_from(client.get("/login").text)
    for _ in range(settings.login_max_failures):
        client.post("/login", data={"email": user.email, "password": "wrong-password",
                                    "csrf_token": token})
    # Even the right password is refused while the account is locked.
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert int(response.headers["Retry-After"]) > 0
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0
    failures = db.scalar(select(func.count()).where(LoginAttempt.succeeded.is_(False)))
    assert failures == settings.login_max_failures


def test_rate_limit_counts_live_in_the_database(app, db, settings):
    """A second app process on the same database sees the first one's failures."""
    from fastapi.testclient import TestClient

    user = factories.make_user(db)
    db.commit()
    with TestClient(app) as first, TestClient(app) as second:
        token = csrf_from(first.get("/login").text)
        for _ in range(settings.login_max_failures):
            first.post("/login", data={"email": user.email, "password": "wrong-password",
                                       "csrf_token": token})
        token2 = csrf_from(second.get("/login").text)
        response = second.post("/login", data={"email": user.email,
                                               "password": factories.PASSWORD,
                                               "csrf_token": token2})
    assert response.status_code == 429


def test_open_redirect_after_login_is_prevented(client, db):
    user = factories.make_user(db)
    db.commit()
    page = client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           "csrf_token": csrf_from(page.text),
                                           "next": "//evil.example.com/"})
    assert response.headers["location"] == "/"


def test_session_cookie_flags(client, db):
    user = factories.make_user(db)
    db.commit()
    page = client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           "csrf_token": csrf_from(page.text)})
    header = [h for h in response.headers.get_list("set-cookie") if "northstar_session" in h][0]
    assert "HttpOnly" in header and "SameSite=lax" in header

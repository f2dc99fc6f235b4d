"""Probes, error pages, problem+json, security headers and static assets."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from tests.helpers import soup_of, text_at


def test_healthz_answers(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_and_migration_head(client, app):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["migration"] == app.state.migration_head
    app.state.migration_head = "0000_not_this_one"
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["expected"] == "0000_not_this_one"


def test_readyz_is_503_when_the_database_is_unreachable(client, app):
    app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                                     connect_args={"connect_timeout": 1})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_unknown_page_gets_a_friendly_404(client, as_role):
    as_role("viewer")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    soup = soup_of(response)
    assert "Not found" in soup.h1.text
    assert soup.find("a", href="/")


def test_unknown_api_path_is_problem_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_unhandled_error_is_a_friendly_500(app):
    def boom():
        raise RuntimeError("kaput")

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get("/api/v1/boom")
        page = client.get("/boom")
    assert api.status_code == 500 and api.json()["title"] == "Internal server error"
    assert "kaput" not in api.text
    assert page.status_code == 500 and "Something went wrong" in text_at(page, "h1")
    assert "kaput" not in page.text


def test_security_headers_on_pages(client):
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_scripts_and_no_external_assets(client):
    for path in ("/login", "/docs"):
        soup = soup_of(client.get(path))
        for script in soup.find_all("script"):
            assert script.get("src"), f"inline script on {path}"
            assert script["src"].startswith("/static/"), script["src"]
        for link in soup.find_all("link", rel="stylesheet"):
            assert link["href"].startswith("/static/")


def test_static_assets_are_hashed_cached_and_compressed(client):
    html = client.get("/login").text
    src = re.search(r'src="(/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]{12})"', html).group(1)
    response = client.get(src, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["content-encoding"] == "gzip"


def test_openapi_is_served(client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Northstar API"

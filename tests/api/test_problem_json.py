"""Every /api/v1 failure is RFC 9457 problem+json; every route is authenticated and documented."""

from fastapi.routing import APIRoute
from sqlalchemy import select

from app.auth.models import ApiToken
from app.auth.service import sha256
from app.core.routes import iter_app_routes
from app.core.clock import utcnow
from tests import factories
from tests.api import bearer

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


def test_no_token_is_a_401_with_a_bearer_challenge(client):
    for path in ("/api/v1/teams", "/api/v1/personas", "/api/v1/stages", "/api/v1/settings"):
        response = client.get(path)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_post_without_token_is_a_401_not_a_validation_error(client):
    response = client.post("/api/v1/teams", json={"slug": "Not A Slug"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_and_wrong_scheme_are_401(client):
    for authorization in ("Bearer nst_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer "):
        response = client.get("/api/v1/teams", headers={"Authorization": authorization})
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_token_is_a_401(client, db):
    user = factories.make_user(db, role="leader")
    raw = factories.make_token(db, user, role="leader")
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/teams", headers=headers).status_code == 200
    token = db.scalars(select(ApiToken).where(ApiToken.token_hash == sha256(raw))).one()
    token.revoked_at = utcnow()
    db.commit()
    response = client.get("/api/v1/teams", headers=headers)
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "revoked" in body["detail"]


def test_token_of_a_deactivated_user_is_a_401(client, db):
    user = factories.make_user(db, role="leader")
    raw = factories.make_token(db, user, role="leader")
    user.is_active = False
    db.commit()
    assert_problem(client.get("/api/v1/teams", headers={"Authorization": f"Bearer {raw}"}), 401)


def test_unknown_api_path_is_a_404_problem(client, db):
    assert_problem(client.get("/api/v1/no-such-thing", headers=bearer(db, "leader")), 404)


def test_body_errors_name_every_field(client, db):
    response = client.post("/api/v1/teams", headers=bearer(db, "admin"),
                           json={"slug": "ok-slug", "colour": "blue"})
    body = assert_problem(response, 422)
    assert sorted(e["field"] for e in body["errors"]) == ["colour", "name"]
    assert all(e["message"] for e in body["errors"])


def test_malformed_json_is_a_422_problem(client, db):
    headers = bearer(db, "admin") | {"Content-Type": "application/json"}
    assert_problem(client.post("/api/v1/teams", headers=headers, content=b"{not json"), 422)


def api_routes(app) -> list[APIRoute]:
    return [c.route for c in iter_app_routes(app) if c.path.startswith("/api/")]


def test_every_api_route_requires_a_permission_and_is_documented(app):
    routes = api_routes(app)
    assert {r.name for r in routes} >= {
        "api.teams.list", "api.teams.create", "api.teams.get", "api.teams.update",
        "api.teams.archive", "api.personas.list", "api.personas.create", "api.personas.update",
        "api.stages.list", "api.settings.get", "api.settings.update",
    }
    for route in routes:
        assert isinstance(route, APIRoute), route
        permissions = [getattr(d.call, "permission", None) for d in route.dependant.dependencies]
        assert any(permissions), f"{route.path} is not behind Reader/Admin"
        assert route.name.startswith("api."), route.path
        # A file download documents its media types in `responses` instead of a model.
        documented = route.response_model is not None or "content" in route.responses.get(200, {})
        assert route.summary and documented, route.name


def test_openapi_documents_the_api(client):
    spec = client.get("/openapi.json").json()
    create = spec["paths"]["/api/v1/teams"]["post"]
    assert create["operationId"] == "api.teams.create"
    assert create["summary"] == "Create a team"
    assert create["security"] == [{"HTTPBearer": []}]
    assert set(create["responses"]) >= {"201", "401", "403", "422"}
    assert "application/problem+json" in create["responses"]["422"]["content"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    # Money is documented as what it is on the wire: a decimal string.
    headcount = spec["components"]["schemas"]["HeadcountOut"]["properties"]
    assert headcount["effective_hourly_cost"]["type"] == "string"
    page = spec["components"]["schemas"]["Page_TeamOut_"]
    assert set(page["required"]) == {"items", "total", "page", "page_size"}

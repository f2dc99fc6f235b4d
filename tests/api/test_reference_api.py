"""/api/v1/personas and /api/v1/stages."""

from decimal import Decimal

from sqlalchemy import func, select

from app.teams.models import Persona
from tests import factories
from tests.api import bearer

PROBLEM = "application/problem+json"
LIFECYCLE = ["data-acquisition", "data-preparation", "experimentation", "evaluation",
             "packaging", "deployment", "serving", "monitoring", "governance"]


def test_stages_come_in_lifecycle_order(client, db):
    body = client.get("/api/v1/stages", headers=bearer(db, "viewer")).json()
    assert [s["slug"] for s in body["items"]] == LIFECYCLE
    assert body["items"][0] == {"id": body["items"][0]["id"], "slug": "data-acquisition",
                                "name": "Data acquisition & exploration", "position": 1}
    assert [s["position"] for s in body["items"]] == list(range(1, 10))
    assert (body["total"], body["page"], body["page_size"]) == (9, 1, 50)


def test_stages_page(client, db):
    body = client.get("/api/v1/stages?page=2&page_size=4", headers=bearer(db, "viewer")).json()
    assert [s["slug"] for s in body["items"]] == LIFECYCLE[4:8]
    assert body["total"] == 9


def test_personas_list_with_default_costs_as_strings(client, db):
    body = client.get("/api/v1/personas", headers=bearer(db, "viewer")).json()
    assert body["total"] == 6
    first = body["items"][0]
    assert {k: first[k] for k in ("slug", "name", "hourly_cost")} == {
        "slug": "data-scientist", "name": "Data scientist", "hourly_cost": "110.00"}
    assert all(isinstance(p["hourly_cost"], str) for p in body["items"])


def test_admin_creates_a_persona(client, db):
    headers = bearer(db, "admin")
    response = client.post("/api/v1/personas", headers=headers,
                           json={"slug": "ml-researcher", "name": "ML researcher",
                                 "hourly_cost": 140})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "http://testserver/api/v1/personas/ml-researcher"
    created = response.json()
    assert created["hourly_cost"] == "140.00"
    assert client.get(response.headers["location"], headers=headers).json() == created
    listed = client.get("/api/v1/personas", headers=headers).json()
    assert listed["total"] == 7 and listed["items"][-1]["slug"] == "ml-researcher"


def test_duplicate_persona_slug_is_refused(client, db):
    headers = bearer(db, "admin")
    response = client.post("/api/v1/personas", headers=headers,
                           json={"slug": "ml-engineer", "name": "Another", "hourly_cost": "1"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["slug"]
    assert db.scalar(select(func.count()).select_from(Persona)) == 6


def test_negative_persona_cost_is_refused(client, db):
    headers = bearer(db, "admin")
    response = client.post("/api/v1/personas", headers=headers,
                           json={"slug": "intern", "name": "Intern", "hourly_cost": "-5"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["hourly_cost"]
    assert db.scalar(select(func.count()).select_from(Persona)) == 6


def test_patch_persona_cost_flows_into_teams_without_an_override(client, db):
    factories.make_team(db, name="Alpha", slug="alpha",
                        headcounts={"ml-engineer": 2, "data-scientist": (1, Decimal("99.00"))})
    headers = bearer(db, "admin")
    response = client.patch("/api/v1/personas/ml-engineer", headers=headers | {"If-Match": '"1"'},
                            json={"hourly_cost": "125.5"})
    assert response.status_code == 200, response.text
    assert response.json()["hourly_cost"] == "125.50"
    assert response.json()["name"] == "ML engineer"
    costs = {h["persona"]: h["effective_hourly_cost"]
             for h in client.get("/api/v1/teams/alpha", headers=headers).json()["headcounts"]}
    assert costs == {"ml-engineer": "125.50", "data-scientist": "99.00"}


def test_patch_unknown_persona_is_a_404(client, db):
    response = client.patch("/api/v1/personas/astronaut", headers=bearer(db, "admin"),
                            json={"hourly_cost": "1"})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_only_admins_change_personas(client, db):
    headers = bearer(db, "leader")
    assert client.post("/api/v1/personas", headers=headers,
                       json={"slug": "x", "name": "X", "hourly_cost": "1"}).status_code == 403
    assert client.patch("/api/v1/personas/ml-engineer", headers=headers,
                        json={"hourly_cost": "1"}).status_code == 403
    db.expire_all()
    assert factories.persona(db, "ml-engineer").hourly_cost == Decimal("120.00")

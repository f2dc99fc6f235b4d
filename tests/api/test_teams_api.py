"""/api/v1/teams: create, read, scope, change, archive, page; bad input stores nothing."""

from decimal import Decimal

from sqlalchemy import select

from app.teams.models import Team, TeamPersona
from tests import factories
from tests.api import bearer
from tests.helpers import login, page_csrf, count

PROBLEM = "application/problem+json"


def new_team(**overrides) -> dict:
    return {"name": "Fraud detection", "slug": "fraud-detection",
            "description": "Card fraud models"} | overrides


def test_create_team_with_headcounts_and_read_it_back(client, db):
    headers = bearer(db, "admin")
    body = new_team(headcounts=[
        {"persona": "ml-engineer", "headcount": 4, "hourly_cost": "130.5"},
        {"persona": "data-scientist", "headcount": 3},
    ])
    response = client.post("/api/v1/teams", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "http://testserver/api/v1/teams/fraud-detection"
    created = response.json()
    assert created["slug"] == "fraud-detection" and created["is_archived"] is False
    # Ordered like the personas; money as exact decimal strings, the override else the default.
    assert created["headcounts"] == [
        {"persona": "data-scientist", "persona_name": "Data scientist", "headcount": 3,
         "hourly_cost": None, "effective_hourly_cost": "110.00"},
        {"persona": "ml-engineer", "persona_name": "ML engineer", "headcount": 4,
         "hourly_cost": "130.50", "effective_hourly_cost": "130.50"},
    ]

    read = client.get(response.headers["location"], headers=headers)
    assert read.status_code == 200
    assert read.json() == created
    assert client.get(f"/api/v1/teams/{created['id']}", headers=headers).json() == created

    team = db.scalars(select(Team).where(Team.slug == "fraud-detection")).one()
    costs = dict(db.execute(select(TeamPersona.headcount, TeamPersona.hourly_cost)
                            .where(TeamPersona.team_id == team.id)).all())
    assert costs == {3: None, 4: Decimal("130.50")}


def test_duplicate_slug_is_refused_and_nothing_is_stored(client, db):
    factories.make_team(db, name="Existing", slug="fraud-detection")
    headers = bearer(db, "admin")
    response = client.post("/api/v1/teams", json=new_team(name="Another name"), headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid input"
    assert problem["errors"][0]["field"] == "slug"
    assert "taken" in problem["errors"][0]["message"]
    assert count(db, Team) == 1


def test_unknown_persona_in_headcounts_names_the_item(client, db):
    headers = bearer(db, "admin")
    body = new_team(headcounts=[{"persona": "astronaut", "headcount": 2}])
    response = client.post("/api/v1/teams", json=body, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"] == [
        {"field": "headcounts.0.persona", "message": "unknown persona 'astronaut'"}
    ]
    assert count(db, Team) == 0


def test_bad_slug_is_refused_naming_the_field(client, db):
    headers = bearer(db, "admin")
    response = client.post("/api/v1/teams", json=new_team(slug="Not A Slug"), headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["slug"]
    assert count(db, Team) == 0


def test_negative_headcount_names_the_nested_field(client, db):
    headers = bearer(db, "admin")
    body = new_team(headcounts=[{"persona": "ml-engineer", "headcount": 1},
                                {"persona": "data-scientist", "headcount": -1}])
    response = client.post("/api/v1/teams", json=body, headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["headcounts.1.headcount"]
    assert count(db, Team) == 0


def test_viewer_of_team_a_lists_and_reads_only_team_a(client, db):
    team_a = factories.make_team(db, name="Alpha", slug="alpha")
    team_b = factories.make_team(db, name="Beta", slug="beta")
    headers = bearer(db, "viewer", teams=[team_a])
    listed = client.get("/api/v1/teams", headers=headers).json()
    assert [t["slug"] for t in listed["items"]] == ["alpha"]
    assert listed["total"] == 1
    assert client.get("/api/v1/teams/alpha", headers=headers).status_code == 200
    # Another team's existence is not revealed: it is simply not found.
    hidden = client.get(f"/api/v1/teams/{team_b.id}", headers=headers)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == PROBLEM


def test_token_bound_to_a_team_lists_that_team_only(client, db):
    team_a = factories.make_team(db, name="Alpha", slug="alpha")
    factories.make_team(db, name="Beta", slug="beta")
    headers = bearer(db, "leader", team_id=team_a.id)
    listed = client.get("/api/v1/teams", headers=headers).json()
    assert [t["slug"] for t in listed["items"]] == ["alpha"]
    assert client.get("/api/v1/teams/beta", headers=headers).status_code == 404


def test_leader_lists_every_team(client, db):
    team_a = factories.make_team(db, name="Alpha", slug="alpha")
    factories.make_team(db, name="Beta", slug="beta")
    headers = bearer(db, "leader", teams=[team_a])
    listed = client.get("/api/v1/teams", headers=headers).json()
    assert [t["slug"] for t in listed["items"]] == ["alpha", "beta"]
    assert listed["total"] == 2


def test_pm_may_not_create_a_team(client, db):
    headers = bearer(db, "pm")
    response = client.post("/api/v1/teams", json=new_team(), headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 403
    assert "(pm)" in response.json()["detail"]
    assert count(db, Team) == 0


def test_pagination_counts_and_pages(client, db):
    for name in ("Alpha", "Beta", "Gamma", "Delta", "Epsilon"):
        factories.make_team(db, name=name, slug=name.lower())
    headers = bearer(db, "leader")
    body = client.get("/api/v1/teams?page=2&page_size=2", headers=headers).json()
    assert body["total"] == 5 and body["page"] == 2 and body["page_size"] == 2
    assert [t["name"] for t in body["items"]] == ["Delta", "Epsilon"]
    last = client.get("/api/v1/teams?page=3&page_size=2", headers=headers).json()
    assert [t["name"] for t in last["items"]] == ["Gamma"]
    beyond = client.get("/api/v1/teams?page=4&page_size=2", headers=headers).json()
    assert beyond["items"] == [] and beyond["total"] == 5
    defaults = client.get("/api/v1/teams", headers=headers).json()
    assert (defaults["page"], defaults["page_size"], len(defaults["items"])) == (1, 50, 5)


def test_page_size_and_page_out_of_range_are_refused(client, db):
    headers = bearer(db, "leader")
    for query, field in (("page_size=501", "page_size"), ("page_size=0", "page_size"),
                         ("page=0", "page")):
        response = client.get(f"/api/v1/teams?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.headers["content-type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert client.get("/api/v1/teams?page_size=500", headers=headers).status_code == 200


def test_patch_changes_fields_and_replaces_headcounts(client, db):
    factories.make_team(db, name="Alpha", slug="alpha",
                        headcounts={"data-scientist": (3, Decimal("99.00")), "ml-engineer": 2})
    headers = bearer(db, "admin")
    response = client.patch("/api/v1/teams/alpha", headers=headers, json={
        "name": "Alpha squad", "version": 1,
        "headcounts": [{"persona": "data-engineer", "headcount": 5, "hourly_cost": 101.25}],
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Alpha squad" and body["slug"] == "alpha"
    assert body["headcounts"] == [
        {"persona": "data-engineer", "persona_name": "Data engineer", "headcount": 5,
         "hourly_cost": "101.25", "effective_hourly_cost": "101.25"},
    ]
    assert client.get("/api/v1/teams/alpha", headers=headers).json() == body


def test_patch_to_a_taken_slug_changes_nothing(client, db):
    factories.make_team(db, name="Alpha", slug="alpha")
    factories.make_team(db, name="Beta", slug="beta")
    headers = bearer(db, "admin")
    response = client.patch("/api/v1/teams/alpha", headers=headers,
                            json={"name": "Renamed", "slug": "beta", "version": 1})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["slug"]
    assert client.get("/api/v1/teams/alpha", headers=headers).json()["name"] == "Alpha"


def test_unknown_team_is_a_404_problem(client, db):
    headers = bearer(db, "admin")
    for ref in ("no-such-team", "999999"):
        response = client.get(f"/api/v1/teams/{ref}", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert ref in response.json()["detail"]
    assert client.patch("/api/v1/teams/no-such-team", json={"name": "X"},
                        headers=headers).status_code == 404
    assert client.delete("/api/v1/teams/no-such-team", headers=headers).status_code == 404


def test_delete_archives_and_hides_from_the_default_list(client, db):
    team = factories.make_team(db, name="Alpha", slug="alpha")
    factories.make_team(db, name="Beta", slug="beta")
    headers = bearer(db, "admin")
    response = client.delete("/api/v1/teams/alpha", headers=headers)
    assert response.status_code == 200
    assert response.json()["is_archived"] is True and response.json()["slug"] == "alpha"

    db.expire_all()
    assert db.get(Team, team.id).is_archived is True  # the row is kept
    listed = client.get("/api/v1/teams", headers=headers).json()
    assert [t["slug"] for t in listed["items"]] == ["beta"] and listed["total"] == 1
    every = client.get("/api/v1/teams?include_archived=true", headers=headers).json()
    assert [t["slug"] for t in every["items"]] == ["alpha", "beta"]
    assert client.get("/api/v1/teams/alpha", headers=headers).json()["is_archived"] is True


def test_pm_may_not_archive(client, db):
    factories.make_team(db, name="Alpha", slug="alpha")
    headers = bearer(db, "pm")
    assert client.delete("/api/v1/teams/alpha", headers=headers).status_code == 403
    assert client.get("/api/v1/teams", headers=headers).json()["total"] == 1


def test_browser_session_post_needs_the_csrf_header(client, db):
    admin = factories.make_user(db, role="admin")
    db.commit()
    login(client, admin.email)
    refused = client.post("/api/v1/teams", json=new_team())
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert count(db, Team) == 0
    # The same session with its CSRF token is allowed: the refusal above was the CSRF check.
    accepted = client.post("/api/v1/teams", json=new_team(),
                           headers={"X-CSRF-Token": page_csrf(client)})
    assert accepted.status_code == 201, accepted.text
    assert count(db, Team) == 1


def test_bearer_token_needs_no_csrf_even_with_a_session_cookie(client, db):
    admin = factories.make_user(db, role="viewer")
    db.commit()
    login(client, admin.email)
    response = client.post("/api/v1/teams", json=new_team(), headers=bearer(db, "admin"))
    assert response.status_code == 201

"""/api/v1/pain-points: the round trip with exact decimals, optimistic locking, every bad input
of issue 3 (422 naming the field, nothing stored), filters, scope and confirmations."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core import clock
from app.core.clock import utcnow
from app.pain_points.models import Confirmation, PainPoint
from tests import factories
from tests.api import bearer
from tests.conftest import login, page_csrf

PROBLEM = "application/problem+json"
API = "/api/v1/pain-points"


def pain_point_count(db) -> int:
    return db.scalar(select(func.count()).select_from(PainPoint))


def new_pain_point(**overrides) -> dict:
    return {"team": "fraud", "persona": "data-scientist", "stage": "deployment",
            "title": "Waiting for a Spark cluster", "description": "Every notebook run",
            "evidence": "interview 2026-03-02", "kind": "recurring", "hours_low": "1.5",
            "hours_likely": "2.25", "hours_high": "4", "observed_since": "2026-01-05"} | overrides


@pytest.fixture
def fraud(db):
    # 10 data scientists at an override of $120/h (the persona's default is $110).
    return factories.make_team(db, name="Fraud", slug="fraud",
                               headcounts={"data-scientist": (10, D("120"))})


def assert_problem(response, status: int, fields: list[str] | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    if fields is not None:
        assert [e["field"] for e in body["errors"]] == fields, body
    return body


# --- the round trip -------------------------------------------------------------------------

def test_create_read_patch_delete_restore_with_decimal_strings(client, db, fraud):
    headers = bearer(db, "pm", teams=[fraud])
    created = client.post(API, json=new_pain_point(), headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"http://testserver{API}/{body['id']}"
    assert created.headers["etag"] == '"1"'
    # PERT (1.5 + 4 × 2.25 + 4) / 6 = 14.5 / 6 h; × 10 people (the headcount) × 46 weeks × $120.
    assert {k: body[k] for k in (
        "team", "persona", "stage", "kind", "hours_low", "hours_likely", "hours_high",
        "expected_hours", "people_affected", "status", "observed_since", "resolved_on",
        "hourly_cost", "annual_cost", "annual_cost_low", "annual_cost_high", "version",
        "deleted")} == {
        "team": "fraud", "persona": "data-scientist", "stage": "deployment",
        "kind": "recurring", "hours_low": "1.50", "hours_likely": "2.25", "hours_high": "4.00",
        "expected_hours": "2.42", "people_affected": 10, "status": "open",
        "observed_since": "2026-01-05", "resolved_on": None, "hourly_cost": "120.00",
        "annual_cost": "133400.00", "annual_cost_low": "82800.00",
        "annual_cost_high": "220800.00", "version": 1, "deleted": False,
    }
    assert body["title"] == "Waiting for a Spark cluster"
    assert body["evidence"] == "interview 2026-03-02"
    stored = db.get(PainPoint, body["id"])
    assert (stored.hours_low, stored.hours_likely, stored.hours_high) == (
        D("1.5"), D("2.25"), D("4"))

    read = client.get(created.headers["location"], headers=headers)
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    assert read.json() == body

    patched = client.patch(f"{API}/{body['id']}", headers=headers | {"If-Match": '"1"'},
                           json={"title": "Waiting for Spark", "hours_likely": "3.5"})
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    changed = patched.json()
    # (1.5 + 14 + 4) / 6 = 3.25 h × 10 × 46 × 120
    assert (changed["title"], changed["hours_likely"], changed["expected_hours"],
            changed["annual_cost"], changed["version"]) == (
        "Waiting for Spark", "3.50", "3.25", "179400.00", 2)
    # The version may come in the body instead of If-Match.
    resolved = client.patch(f"{API}/{body['id']}", headers=headers, json={
        "version": 2, "status": "resolved", "resolved_on": "2026-02-02"})
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolved_on"],
            resolved.json()["version"]) == ("resolved", "2026-02-02", 3)

    deleted = client.delete(f"{API}/{body['id']}", headers=headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] is True
    db.expire_all()
    assert db.get(PainPoint, body["id"]).deleted_at is not None  # soft: the row stays
    assert_problem(client.get(f"{API}/{body['id']}", headers=headers), 404)
    assert client.get(API, headers=headers).json()["total"] == 0
    with_deleted = client.get(f"{API}/{body['id']}?include_deleted=true", headers=headers)
    assert with_deleted.status_code == 200 and with_deleted.json()["deleted"] is True
    assert client.get(f"{API}?include_deleted=true", headers=headers).json()["total"] == 1

    restored = client.post(f"{API}/{body['id']}/restore", headers=headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted"] is False
    assert restored.headers["etag"] == f'"{restored.json()["version"]}"'
    assert client.get(f"{API}/{body['id']}", headers=headers).status_code == 200
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "pain_point", AuditEntry.entity_id == str(body["id"]))
        .order_by(AuditEntry.id)).all()
    assert actions == ["create", "update", "update", "delete", "restore"]


def test_one_time_pain_point_costs_its_hours_once(client, db, fraud):
    headers = bearer(db, "admin")
    body = client.post(API, headers=headers, json=new_pain_point(
        kind="one_time", hours_low="12", hours_likely="20", hours_high="40",
        people_affected=3)).json()
    # (12 + 80 + 40) / 6 = 22 h × 3 people × $120, no weeks.
    assert (body["expected_hours"], body["annual_cost"], body["annual_cost_low"],
            body["annual_cost_high"]) == ("22.00", "7920.00", "4320.00", "14400.00")


# --- optimistic locking ---------------------------------------------------------------------

def test_stale_patch_is_refused_with_the_current_pain_point(client, db, fraud):
    headers = bearer(db, "admin")
    body = client.post(API, json=new_pain_point(), headers=headers).json()
    first = client.patch(f"{API}/{body['id']}", headers=headers | {"If-Match": '"1"'},
                         json={"title": "Alice's title"})
    assert first.status_code == 200
    stale = client.patch(f"{API}/{body['id']}", headers=headers | {"If-Match": '"1"'},
                         json={"title": "Bob's title"})
    problem = assert_problem(stale, 409, ["version"])
    assert problem["current"]["title"] == "Alice's title"
    assert problem["current"]["version"] == 2
    assert problem["current"]["annual_cost"] == "133400.00"
    assert stale.headers["etag"] == '"2"'
    # The same through `version` in the body.
    assert_problem(client.patch(f"{API}/{body['id']}", headers=headers,
                                json={"version": 1, "title": "Bob's title"}), 409, ["version"])
    db.expire_all()
    assert db.get(PainPoint, body["id"]).title == "Alice's title"
    assert db.get(PainPoint, body["id"]).version == 2


def test_patch_without_a_version_is_428_and_changes_nothing(client, db, fraud):
    headers = bearer(db, "admin")
    body = client.post(API, json=new_pain_point(), headers=headers).json()
    problem = assert_problem(client.patch(f"{API}/{body['id']}", headers=headers,
                                          json={"title": "Overwritten"}), 428)
    assert problem["title"] == "Precondition required"
    assert "If-Match" in problem["detail"]
    db.expire_all()
    assert db.get(PainPoint, body["id"]).title == "Waiting for a Spark cluster"
    assert db.get(PainPoint, body["id"]).version == 1


def test_malformed_or_contradictory_versions_are_refused(client, db, fraud):
    headers = bearer(db, "admin")
    body = client.post(API, json=new_pain_point(), headers=headers).json()
    url = f"{API}/{body['id']}"
    assert_problem(client.patch(url, headers=headers | {"If-Match": "*"}, json={"title": "X"}),
                   422, ["If-Match"])
    assert_problem(client.patch(url, headers=headers | {"If-Match": '"1"'},
                                json={"version": 2, "title": "X"}), 422, ["version"])
    db.expire_all()
    assert db.get(PainPoint, body["id"]).title == "Waiting for a Spark cluster"


# --- bad input: 422 naming the field, nothing stored ----------------------------------------

FUTURE = (clock.today() + timedelta(days=10)).isoformat()

BAD_INPUT = [
    ("hours negative", {"hours_low": "-1"}, "hours_low"),
    ("169 hours a week", {"hours_high": "169"}, "hours_high"),
    ("low above likely", {"hours_low": "3", "hours_likely": "2.25"}, "hours_likely"),
    ("likely above high", {"hours_likely": "5", "hours_high": "4"}, "hours_high"),
    ("nobody affected", {"people_affected": 0}, "people_affected"),
    ("negative people", {"people_affected": -3}, "people_affected"),
    ("too many people", {"people_affected": 100_001}, "people_affected"),
    ("unknown team", {"team": "no-such-team"}, "team"),
    ("unknown persona", {"persona": "astronaut"}, "persona"),
    ("unknown stage", {"stage": "nirvana"}, "stage"),
    ("resolved before observed", {"status": "resolved", "observed_since": "2026-03-01",
                                  "resolved_on": "2026-02-01"}, "resolved_on"),
    ("resolved in the future", {"status": "resolved", "resolved_on": FUTURE}, "resolved_on"),
    ("observed in the future", {"observed_since": FUTURE}, "observed_since"),
    ("empty title", {"title": ""}, "title"),
    ("blank title", {"title": "   "}, "title"),
    ("title of 201 characters", {"title": "x" * 201}, "title"),
    ("extra unknown field", {"colour": "blue"}, "colour"),
]


@pytest.mark.parametrize(("overrides", "field"), [(o, f) for _, o, f in BAD_INPUT],
                         ids=[name for name, _, _ in BAD_INPUT])
def test_bad_input_is_refused_naming_the_field(client, db, fraud, overrides, field):
    headers = bearer(db, "admin")
    before = pain_point_count(db)
    response = client.post(API, json=new_pain_point(**overrides), headers=headers)
    problem = assert_problem(response, 422, [field])
    assert problem["title"] == "Invalid input"
    assert problem["errors"][0]["message"]
    assert pain_point_count(db) == before == 0


def test_title_of_200_characters_is_accepted(client, db, fraud):
    # The boundary of the rule above: the refusal at 201 is the length, not something else.
    response = client.post(API, json=new_pain_point(title="x" * 200), headers=bearer(db))
    assert response.status_code == 201, response.text
    assert pain_point_count(db) == 1


def test_168_hours_a_week_and_100000_people_are_accepted(client, db, fraud):
    response = client.post(API, headers=bearer(db), json=new_pain_point(
        hours_low="168", hours_likely="168", hours_high="168", people_affected=100_000))
    assert response.status_code == 201, response.text


def test_bad_patch_is_refused_and_changes_nothing(client, db, fraud):
    headers = bearer(db, "admin")
    body = client.post(API, json=new_pain_point(), headers=headers).json()
    url = f"{API}/{body['id']}"
    for patch, field in (({"hours_high": "169"}, "hours_high"), ({"stage": "nirvana"}, "stage"),
                         ({"title": ""}, "title"), ({"hours_low": "3"}, "hours_likely"),
                         ({"colour": "blue"}, "colour")):
        assert_problem(client.patch(url, headers=headers | {"If-Match": '"1"'}, json=patch),
                       422, [field])
    db.expire_all()
    stored = db.get(PainPoint, body["id"])
    assert (stored.version, stored.hours_high, stored.title) == (
        1, D("4"), "Waiting for a Spark cluster")


@pytest.mark.parametrize("field", ["team", "persona", "stage", "title", "description",
                                   "evidence", "kind", "hours_low", "hours_likely",
                                   "hours_high", "status", "observed_since"])
def test_patch_to_null_is_refused_naming_the_field(client, db, fraud, field):
    headers = bearer(db, "admin")
    body = client.post(API, json=new_pain_point(), headers=headers).json()
    response = client.patch(f"{API}/{body['id']}", headers=headers | {"If-Match": '"1"'},
                            json={field: None})
    assert_problem(response, 422, [field])
    db.expire_all()
    assert db.get(PainPoint, body["id"]).version == 1


def test_patch_people_affected_to_null_follows_the_headcount(client, db, fraud):
    headers = bearer(db, "admin")
    body = client.post(API, json=new_pain_point(people_affected=3), headers=headers).json()
    response = client.patch(f"{API}/{body['id']}", headers=headers | {"If-Match": '"1"'},
                            json={"people_affected": None})
    assert response.status_code == 200, response.text
    assert response.json()["people_affected"] == 10


def test_pain_point_of_an_archived_team_is_refused(client, db):
    factories.make_team(db, slug="fraud", headcounts={"data-scientist": 4}, is_archived=True)
    assert_problem(client.post(API, json=new_pain_point(), headers=bearer(db)), 422, ["team"])
    assert pain_point_count(db) == 0


def test_script_in_a_title_comes_back_as_plain_text(client, db, fraud):
    title = "<script>alert(1)</script>"
    body = client.post(API, json=new_pain_point(title=title), headers=bearer(db)).json()
    assert body["title"] == title


# --- the list -------------------------------------------------------------------------------

def test_list_filters_sorts_and_pages(client, db, fraud):
    other = factories.make_team(db, slug="search", headcounts={"ml-engineer": (4, D("120"))})
    ml = factories.persona(db, "ml-engineer")
    cheap = factories.make_pain_point(db, fraud, title="Slow feature store", hours_likely=D(1),
                                      hours_high=D(1), observed_since=date(2026, 1, 10))
    dear = factories.make_pain_point(db, fraud, title="Manual deployment",
                                     description="tickets to ops", hours_likely=D(3),
                                     observed_since=date(2026, 2, 10), stage="monitoring")
    theirs = factories.make_pain_point(db, other, title="Flaky GPU quota", persona_id=ml.id,
                                       people_affected=4, status="in_progress",
                                       observed_since=date(2026, 3, 10))
    gone = factories.make_pain_point(db, fraud, title="Deleted one", deleted_at=utcnow())
    headers = bearer(db, "leader")

    def ids(query: str = "") -> list[int]:
        response = client.get(f"{API}?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    # Default sort: annual cost, dearest first. Everyone costs $120/h; dear 17/6 h × 10 people,
    # cheap 1 h × 10, theirs 13/6 h × 4 (so it is last by cost but second by hours).
    assert ids() == [dear.id, cheap.id, theirs.id]
    assert ids("sort=hours") == [dear.id, theirs.id, cheap.id]
    assert ids("sort=newest") == [theirs.id, dear.id, cheap.id]
    assert ids("team=fraud") == [dear.id, cheap.id]
    assert ids("persona=ml-engineer") == [theirs.id]
    assert ids("stage=monitoring") == [dear.id]
    assert ids("status=in_progress") == [theirs.id]
    assert ids("status=open&status=in_progress") == [dear.id, cheap.id, theirs.id]
    assert ids("q=DEPLOY") == [dear.id]
    assert ids("q=ops") == [dear.id]  # the description too
    assert ids("from=2026-02-01") == [dear.id, theirs.id]
    assert ids("to=2026-02-10") == [dear.id, cheap.id]
    assert ids("from=2026-02-01&to=2026-02-28") == [dear.id]
    assert gone.id not in ids()
    page = client.get(f"{API}?page=2&page_size=2", headers=headers).json()
    assert (page["total"], page["page"], page["page_size"]) == (3, 2, 2)
    assert [i["id"] for i in page["items"]] == [theirs.id]
    assert client.get(API, headers=headers).json()["page_size"] == 50
    assert theirs.id in [i["id"] for i in client.get(
        f"{API}?page_size=500", headers=headers).json()["items"]]
    assert_problem(client.get(f"{API}?page_size=501", headers=headers), 422, ["page_size"])


@pytest.mark.parametrize(("query", "field"), [
    ("team=no-such-team", "team"), ("persona=astronaut", "persona"), ("stage=nirvana", "stage"),
    ("status=closed", "status.0"), ("sort=random", "sort"),
    ("from=2026-03-01&to=2026-02-01", "to"), ("from=1999-12-31", "from"),
])
def test_list_refuses_unknown_filters_naming_the_parameter(client, db, fraud, query, field):
    response = client.get(f"{API}?{query}", headers=bearer(db, "leader"))
    assert_problem(response, 422, [field])


def test_viewer_lists_its_own_teams_only(client, db, fraud):
    other = factories.make_team(db, slug="search", headcounts={"data-scientist": 4})
    mine = factories.make_pain_point(db, fraud)
    factories.make_pain_point(db, other)
    headers = bearer(db, "viewer", teams=[fraud])
    listed = client.get(API, headers=headers).json()
    assert [i["id"] for i in listed["items"]] == [mine.id] and listed["total"] == 1
    # Another team's filter intersects with the scope: an empty page, not their data.
    assert client.get(f"{API}?team=search", headers=headers).json()["total"] == 0
    assert client.get(f"{API}?team=fraud", headers=headers).json()["total"] == 1


def test_token_bound_to_a_team_lists_that_team_only(client, db, fraud):
    other = factories.make_team(db, slug="search", headcounts={"data-scientist": 4})
    factories.make_pain_point(db, fraud)
    theirs = factories.make_pain_point(db, other)
    headers = bearer(db, "admin", team_id=fraud.id)
    assert client.get(API, headers=headers).json()["total"] == 1
    assert_problem(client.get(f"{API}/{theirs.id}", headers=headers), 404)


def test_only_editors_may_ask_for_deleted_pain_points(client, db, fraud):
    pp = factories.make_pain_point(db, fraud, deleted_at=utcnow())
    for role in ("viewer", "leader"):
        headers = bearer(db, role, teams=[fraud])
        assert_problem(client.get(f"{API}?include_deleted=true", headers=headers), 403,
                       ["include_deleted"])
        assert_problem(client.get(f"{API}/{pp.id}?include_deleted=true", headers=headers), 403)
        assert_problem(client.get(f"{API}/{pp.id}", headers=headers), 404)


def test_unknown_pain_point_is_a_404_problem(client, db):
    headers = bearer(db, "admin")
    assert "999999" in assert_problem(client.get(f"{API}/999999", headers=headers), 404)["detail"]
    assert_problem(client.patch(f"{API}/999999", headers=headers | {"If-Match": '"1"'},
                                json={"title": "x"}), 404)
    assert_problem(client.delete(f"{API}/999999", headers=headers), 404)
    assert_problem(client.post(f"{API}/999999/restore", headers=headers), 404)


# --- confirmations --------------------------------------------------------------------------

def confirm_as(client, db, user, pain_point_id: int, hours: str):
    login(client, user.email)
    return client.post(f"{API}/{pain_point_id}/confirmations", json={"hours": hours},
                       headers={"X-CSRF-Token": page_csrf(client)})


def test_confirmations_show_count_median_from_three_and_only_my_answer(client, db, fraud):
    pp = factories.make_pain_point(db, fraud)
    me = factories.make_user(db, role="viewer", teams=[fraud])
    for hours in ("7", "9"):  # two colleagues answered before
        colleague = factories.make_user(db, role="viewer", teams=[fraud])
        db.add(Confirmation(pain_point_id=pp.id, user_id=colleague.id, hours=D(hours)))
    db.commit()
    headers = bearer(db, "viewer", teams=[fraud])
    before = client.get(f"{API}/{pp.id}/confirmations", headers=headers).json()
    assert before == {"count": 2, "median_hours": None, "mine": None}

    response = confirm_as(client, db, me, pp.id, "2.5")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["count"], body["median_hours"]) == (3, "7.00")
    assert body["mine"]["hours"] == "2.50"
    # Nobody else's answer appears anywhere in the document.
    assert "9.00" not in response.text and '"9"' not in response.text

    again = client.post(f"{API}/{pp.id}/confirmations", json={"hours": "3"},
                        headers={"X-CSRF-Token": page_csrf(client)})
    assert again.status_code == 200, again.text  # replaced, not a second confirmation
    assert (again.json()["count"], again.json()["mine"]["hours"]) == (3, "3.00")
    other_view = client.get(f"{API}/{pp.id}/confirmations", headers=headers).json()
    assert other_view["mine"] is None and other_view["count"] == 3


def test_tokens_and_outsiders_may_not_confirm(client, db, fraud):
    other = factories.make_team(db, slug="search")
    pp = factories.make_pain_point(db, fraud)
    token = client.post(f"{API}/{pp.id}/confirmations", json={"hours": "2"},
                        headers=bearer(db, "viewer", teams=[fraud]))
    assert_problem(token, 403)
    # The real reason, not "only members of the affected team" (the token's user is one).
    assert token.json()["detail"].startswith("An API token cannot confirm a pain point")
    outsider = factories.make_user(db, role="leader", teams=[other])
    db.commit()
    refused = confirm_as(client, db, outsider, pp.id, "2")
    assert_problem(refused, 403)
    assert refused.json()["detail"] == "Only members of the affected team can confirm a pain point."
    assert db.scalar(select(func.count()).select_from(Confirmation)) == 0


def test_confirmation_hours_are_checked(client, db, fraud):
    pp = factories.make_pain_point(db, fraud)
    me = factories.make_user(db, role="viewer", teams=[fraud])
    db.commit()
    assert_problem(confirm_as(client, db, me, pp.id, "169"), 422, ["hours"])
    assert_problem(client.post(f"{API}/{pp.id}/confirmations", json={"hours": "-1"},
                               headers={"X-CSRF-Token": page_csrf(client)}), 422, ["hours"])
    assert db.scalar(select(func.count()).select_from(Confirmation)) == 0


def test_openapi_documents_the_pain_point_operations(client):
    spec = client.get("/openapi.json").json()
    patch = spec["paths"]["/api/v1/pain-points/{pain_point_id}"]["patch"]
    assert patch["operationId"] == "api.pain_points.update"
    assert {"409", "428", "422"} <= set(patch["responses"])
    assert "application/problem+json" in patch["responses"]["428"]["content"]
    out = spec["components"]["schemas"]["PainPointOut"]["properties"]
    assert out["annual_cost"]["type"] == "string" and out["hours_low"]["type"] == "string"

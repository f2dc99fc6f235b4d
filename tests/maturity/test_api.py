"""/api/v1/maturity/rubric, /maturity-assessments and /metrics/maturity: scoring equal to
scoring.py, each bad input refused with the field named and nothing stored, team scope."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.maturity.models import MaturityAnswer, MaturityAssessment
from app.maturity.rubric import load_rubric
from app.maturity.scoring import score
from tests import factories
from tests.api import bearer
from tests.helpers import all_of

PROBLEM = "application/problem+json"
TODAY = date(2026, 11, 29)
pytestmark = pytest.mark.usefixtures("fixed_today")
URL = "/api/v1/maturity-assessments"
RUBRIC = load_rubric()
KEYS = RUBRIC.keys()
L1 = [c.key for c in RUBRIC.capabilities if c.level == 1]
L2 = [c.key for c in RUBRIC.capabilities if c.level == 2]


def stored_counts(db) -> tuple[int, int]:
    return (db.scalar(select(func.count()).select_from(MaturityAssessment)),
            db.scalar(select(func.count()).select_from(MaturityAnswer)))


def post_assessment(client, headers, team, answers, **extra):
    return client.post(URL, headers=headers,
                       json={"team": team.slug, "answers": answers} | extra)


def fields_of(response) -> list[str]:
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    return [e["field"] for e in response.json()["errors"]]


def test_rubric(client, db):
    body = client.get("/api/v1/maturity/rubric", headers=bearer(db, "viewer")).json()
    assert body["version"] == RUBRIC.version
    assert [lvl["level"] for lvl in body["levels"]] == [0, 1, 2]
    assert body["levels"][1]["title"] == "ML pipeline automation"
    assert [c["key"] for c in body["capabilities"]] == KEYS
    first = body["capabilities"][0]
    assert set(first) == {"key", "level", "title", "description", "partial", "stage"}
    assert first["stage"] == RUBRIC.capabilities[0].stage


@pytest.mark.parametrize("l1,l2", [
    (["yes"] * 8, ["yes", "yes", "partial", "no", "no", "no"]),
    (["yes"] * 7 + ["no"], ["yes"] * 6),
    (["partial"] * 8, ["no"] * 6),
    (["yes"] * 8, ["yes"] * 6),
])
def test_post_answers_level_and_score_equal_to_scoring(client, db, l1, l2):
    team = factories.make_team(db)
    headers = bearer(db, "pm", teams=[team])
    answers = dict(zip(L1, l1, strict=True)) | dict(zip(L2, l2, strict=True))
    response = post_assessment(client, headers, team, answers, assessed_on="2026-11-20")
    assert response.status_code == 201, response.text
    body = response.json()
    expected = score(RUBRIC.capabilities, answers)
    assert body["level"] == expected.level
    assert body["score"] == str(expected.score)
    assert body["gaps"] == list(expected.gaps)
    assert body["team"] == team.slug and body["assessed_on"] == "2026-11-20"
    assert body["answers"] == answers
    assert response.headers["location"].endswith(f"{URL}/{body['id']}")
    assert client.get(f"{URL}/{body['id']}", headers=headers).json() == body
    row = db.get(MaturityAssessment, body["id"])
    assert (row.level, row.score) == (expected.level, expected.score)


def test_answers_may_carry_a_note_and_evidence_and_date_defaults_to_today(client, db):
    team = factories.make_team(db)
    answers = all_of("yes") | {"data_validation": {"answer": "partial", "note": "by hand",
                                                   "evidence": "https://wiki/dv"}}
    response = post_assessment(client, bearer(db, "admin"), team, answers)
    assert response.status_code == 201, response.text
    assert response.json()["assessed_on"] == TODAY.isoformat()
    assert response.json()["answers"]["data_validation"] == "partial"
    note = db.scalar(select(MaturityAnswer.evidence)
                     .where(MaturityAnswer.capability == "data_validation"))
    assert note == "https://wiki/dv"


@pytest.mark.parametrize("change,extra,field", [
    (lambda a: a.update(data_validation="maybe"), {}, "answers.data_validation"),
    (lambda a: a.update(data_validation=3), {}, "answers.data_validation"),
    (lambda a: a.update(telepathy="yes"), {}, "answers.telepathy"),
    (lambda a: a.pop("model_registry"), {}, "answers.model_registry"),
    (lambda a: None, {"assessed_on": (TODAY + timedelta(days=1)).isoformat()}, "assessed_on"),
    (lambda a: None, {"assessed_on": "2026-13-01"}, "assessed_on"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(client, db, change, extra,
                                                                     field):
    team = factories.make_team(db)
    headers = bearer(db, "pm", teams=[team])
    answers = all_of("yes")
    change(answers)
    response = post_assessment(client, headers, team, answers, **extra)
    assert response.status_code == 422, response.text
    assert fields_of(response) == [field]
    assert stored_counts(db) == (0, 0)


def test_missing_answer_names_the_capability_in_words(client, db):
    team = factories.make_team(db)
    answers = all_of("no")
    del answers["model_registry"]
    response = post_assessment(client, bearer(db, "admin"), team, answers)
    [error] = response.json()["errors"]
    assert error["field"] == "answers.model_registry"
    assert "Model registry with versions" in error["message"]


def test_unknown_team_is_refused(client, db):
    response = client.post(URL, headers=bearer(db, "admin"),
                           json={"team": "nope", "answers": all_of("yes")})
    assert response.status_code == 422 and fields_of(response) == ["team"]
    assert stored_counts(db) == (0, 0)


@pytest.mark.parametrize("role,member", [("viewer", True), ("leader", False), ("pm", False)])
def test_viewer_leader_and_pm_of_another_team_may_not_assess(client, db, role, member):
    team, other = factories.make_team(db), factories.make_team(db)
    headers = bearer(db, role, teams=[team if member else other])
    response = post_assessment(client, headers, team, all_of("yes"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert stored_counts(db) == (0, 0)


def test_a_token_bound_to_another_team_may_not_assess(client, db):
    team, other = factories.make_team(db), factories.make_team(db)
    response = post_assessment(client, bearer(db, "admin", team_id=other.id), team, all_of("yes"))
    assert response.status_code == 403
    assert stored_counts(db) == (0, 0)


# --- list -------------------------------------------------------------------------------------


def seed_assessments(client, db):
    a, b = factories.make_team(db, name="Alpha"), factories.make_team(db, name="Beta")
    admin = bearer(db, "admin")
    for team, on, value in ((a, "2026-01-15", "no"), (a, "2026-06-01", "partial"),
                            (b, "2026-03-01", "yes")):
        assert post_assessment(client, admin, team, all_of(value),
                               assessed_on=on).status_code == 201
    return a, b


def test_list_filters_pages_and_scopes(client, db):
    a, b = seed_assessments(client, db)
    leader = bearer(db, "leader")
    body = client.get(URL, headers=leader).json()
    assert body["total"] == 3
    assert [(i["team"], i["assessed_on"]) for i in body["items"]] == [
        (a.slug, "2026-06-01"), (b.slug, "2026-03-01"), (a.slug, "2026-01-15")]
    item = body["items"][0]
    assert item["level"] == 2 and item["score"] == "2.00" and item["answers"] == all_of("partial")

    body = client.get(f"{URL}?team={a.slug}&from=2026-01-01&to=2026-03-31", headers=leader).json()
    assert [i["assessed_on"] for i in body["items"]] == ["2026-01-15"]
    body = client.get(f"{URL}?page=2&page_size=2", headers=leader).json()
    assert (body["total"], len(body["items"]), body["page"]) == (3, 1, 2)

    viewer = bearer(db, "viewer", teams=[b])
    assert [i["team"] for i in client.get(URL, headers=viewer).json()["items"]] == [b.slug]
    # Principal.scope: another team is refused exactly like one that does not exist.
    hidden = client.get(f"{URL}?team={a.slug}", headers=viewer)
    assert hidden.status_code == 422 and fields_of(hidden) == ["team"]
    assert hidden.json()["errors"][0]["message"] == f"unknown team '{a.slug}'"
    first_of_a = client.get(f"{URL}?team={a.slug}", headers=leader).json()["items"][0]["id"]
    assert client.get(f"{URL}/{first_of_a}", headers=viewer).status_code == 404


def test_list_bad_filters(client, db):
    headers = bearer(db, "leader")
    response = client.get(f"{URL}?team=nope&from=2026-05-01&to=2026-04-01", headers=headers)
    assert response.status_code == 422
    assert sorted(fields_of(response)) == ["team", "to"]


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_maturity_latest_per_team(client, db):
    a, b = seed_assessments(client, db)
    never = factories.make_team(db, name="Gamma")
    answers = all_of("yes") | {"production_monitoring": "no", "compliance_in_release": "no"}
    assert post_assessment(client, bearer(db, "admin"), b, answers, assessed_on="2026-10-01"
                ).status_code == 201
    body = client.get("/api/v1/metrics/maturity", headers=bearer(db, "leader")).json()
    teams = {t["team"]: t for t in body["teams"]}
    assert teams[a.slug] == {"team": a.slug, "name": "Alpha", "level": 2, "score": "2.00",
                             "assessed_on": "2026-06-01", "gaps": []}
    expected = score(RUBRIC.capabilities, answers)
    assert teams[b.slug] == {"team": b.slug, "name": "Beta", "level": expected.level,
                             "score": str(expected.score), "assessed_on": "2026-10-01",
                             "gaps": ["production_monitoring", "compliance_in_release"]}
    assert teams[never.slug] == {"team": never.slug, "name": "Gamma", "level": None,
                                 "score": None, "assessed_on": None, "gaps": []}

    only = client.get(f"/api/v1/metrics/maturity?team={b.slug}",
                      headers=bearer(db, "viewer", teams=[b])).json()
    assert [t["team"] for t in only["teams"]] == [b.slug]
    mine = client.get("/api/v1/metrics/maturity", headers=bearer(db, "viewer", teams=[a])).json()
    assert [t["team"] for t in mine["teams"]] == [a.slug]


def test_metrics_maturity_refuses_other_and_unknown_teams(client, db):
    a, b = factories.make_team(db), factories.make_team(db)
    response = client.get(f"/api/v1/metrics/maturity?team={b.slug}",
                          headers=bearer(db, "viewer", teams=[a]))
    # Principal.scope: another team is refused exactly like one that does not exist.
    assert response.status_code == 422 and fields_of(response) == ["team"]
    assert response.json()["errors"][0]["message"] == f"unknown team '{b.slug}'"
    response = client.get("/api/v1/metrics/maturity?team=nope", headers=bearer(db, "leader"))
    assert response.status_code == 422 and fields_of(response) == ["team"]

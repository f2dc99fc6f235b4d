"""/api/v1/models: create, read, list with per-model figures, change and archive."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

from app.api import ml_models as models_api
from app.ml_models.models import LifecycleEvent, MLModel
from tests import factories
from tests.api import bearer

PROBLEM = "application/problem+json"
MODELS = "/api/v1/models"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def add_model(db, team, name, *events, **values) -> MLModel:
    model = MLModel(team_id=team.id, name=name, **values)
    db.add(model)
    db.flush()
    db.add_all([LifecycleEvent(model_id=model.id, type=kind, occurred_at=at(day))
                for kind, day in events])
    db.flush()
    return model


def model_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(MLModel))


@pytest.fixture
def fraud(db):
    return factories.make_team(db, name="Fraud detection", slug="fraud")


@pytest.fixture
def search(db):
    return factories.make_team(db, name="Search", slug="search")


def test_a_pm_creates_a_model_of_its_team_and_reads_it_back(client, db, fraud):
    headers = bearer(db, "pm", teams=[fraud])
    response = client.post(MODELS, headers=headers, json={
        "team": "fraud", "name": "  Card fraud scorer ", "use_case": "Block fraudulent cards",
        "kind": "llm", "annual_value_low": "100000", "annual_value_likely": "150000.5",
        "annual_value_high": "300000"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"http://testserver{MODELS}/{body['id']}"
    assert body == {
        "id": body["id"], "team": "fraud", "name": "Card fraud scorer",
        "use_case": "Block fraudulent cards", "kind": "llm", "annual_value_low": "100000.00",
        "annual_value_likely": "150000.50", "annual_value_high": "300000.00",
        "archived": False, "created_at": body["created_at"], "first_ideated_at": None,
        "first_deployed_at": None, "lead_time_days": None, "deployments": 0,
        "last_deployed_at": None, "retrain_cadence_days": None, "staleness_days": None,
        "version": 1,
    }
    assert client.get(response.headers["location"], headers=headers).json() == body
    assert db.get(MLModel, body["id"]).team_id == fraud.id


def test_a_pm_may_not_create_a_model_of_another_team(client, db, fraud, search):
    response = client.post(MODELS, headers=bearer(db, "pm", teams=[fraud]),
                           json={"team": "search", "name": "Ranker"})
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert model_count(db) == 0


@pytest.mark.parametrize("role", ["viewer", "leader"])
def test_readers_may_not_create_models(client, db, fraud, role):
    response = client.post(MODELS, headers=bearer(db, role, teams=[fraud]),
                           json={"team": "fraud", "name": "Ranker"})
    assert response.status_code == 403
    assert model_count(db) == 0


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"name": ""}, "name", "at least 1 character"),
    ({"name": "   "}, "name", "at least 1 character"),
    ({"name": "x" * 121}, "name", "at most 120 characters"),
    ({"team": "nope"}, "team", "unknown team 'nope'"),
    ({"kind": "deep"}, "kind", "'classical' or 'llm'"),
    ({"annual_value_low": "-1", "annual_value_likely": "1", "annual_value_high": "2"},
     "annual_value_low", "greater than or equal"),
    ({"annual_value_low": "5", "annual_value_likely": "1", "annual_value_high": "2"},
     "annual_value_low", "must not exceed the likely value"),
    ({"annual_value_low": "1", "annual_value_likely": "3", "annual_value_high": "2"},
     "annual_value_high", "must not be below the likely value"),
    ({"annual_value_likely": "3", "annual_value_high": "4"}, "annual_value_low", "together"),
])
def test_bad_models_are_refused_naming_the_field(client, db, fraud, body, field, words):
    response = client.post(MODELS, headers=bearer(db, "admin"),
                           json={"team": "fraud", "name": "Scorer"} | body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]
    assert model_count(db) == 0


def test_a_120_character_name_is_fine_and_names_are_unique_per_team_whatever_the_case(
        client, db, fraud, search):
    headers = bearer(db, "admin")
    assert client.post(MODELS, headers=headers,
                       json={"team": "fraud", "name": "x" * 120}).status_code == 201
    assert client.post(MODELS, headers=headers,
                       json={"team": "fraud", "name": "Scorer"}).status_code == 201
    again = client.post(MODELS, headers=headers, json={"team": "fraud", "name": "SCORER"})
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "name"
    assert client.post(MODELS, headers=headers,
                       json={"team": "search", "name": "Scorer"}).status_code == 201
    assert model_count(db) == 3


def test_archiving_takes_a_model_out_of_the_default_list_and_back(client, db, fraud):
    model = add_model(db, fraud, "Scorer")
    db.commit()
    headers = bearer(db, "pm", teams=[fraud])

    def listed(query: str = "") -> list[int]:
        response = client.get(f"{MODELS}?team=fraud{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert listed() == [model.id]
    archived = client.patch(f"{MODELS}/{model.id}", headers=headers, json={"archived": True, "version": 1})
    assert archived.status_code == 200, archived.text
    assert archived.json()["archived"] is True
    db.expire_all()
    assert db.get(MLModel, model.id).archived_at is not None
    assert listed() == []
    assert listed("&archived=true") == [model.id]
    restored = client.patch(f"{MODELS}/{model.id}", headers=headers,
                            json={"archived": False, "version": 2})
    assert restored.json()["archived"] is False
    assert listed() == [model.id] and listed("&archived=true") == []


def test_patch_changes_the_fields_given_only(client, db, fraud):
    model = add_model(db, fraud, "Scorer", use_case="fraud", kind="classical")
    db.commit()
    response = client.patch(f"{MODELS}/{model.id}", headers=bearer(db, "admin"),
                            json={"use_case": "Block card fraud", "kind": "llm", "version": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["use_case"], body["kind"]) == ("Scorer", "Block card fraud", "llm")


def test_patch_refuses_other_teams_readers_and_unknown_fields(client, db, fraud, search):
    model = add_model(db, search, "Ranker")
    db.commit()
    url = f"{MODELS}/{model.id}"
    assert client.patch(url, headers=bearer(db, "pm", teams=[fraud]),
                        json={"archived": True}).status_code == 403
    assert client.patch(url, headers=bearer(db, "leader"),
                        json={"archived": True}).status_code == 403
    unknown = client.patch(url, headers=bearer(db, "admin"), json={"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "colour"
    assert client.patch(f"{MODELS}/999999", headers=bearer(db, "admin"),
                        json={"archived": True}).status_code == 404
    db.expire_all()
    assert db.get(MLModel, model.id).archived_at is None


def test_the_list_carries_each_models_figures(client, db, fraud, monkeypatch):
    monkeypatch.setattr(models_api, "utcnow", lambda: at("2026-11-29"))
    add_model(db, fraud, "a", ("ideated", "2026-01-05"), ("data_ready", "2026-01-10"),
              ("deployed", "2026-02-15"), ("rolled_back", "2026-03-01"),
              ("deployed", "2026-03-03"), ("deployed", "2026-04-04T12:00:00"))
    add_model(db, fraud, "b", ("experiment_started", "2026-01-01"), ("deployed", "2026-03-01"))
    add_model(db, fraud, "c", ("ideated", "2026-02-01"))
    add_model(db, fraud, "d")
    db.commit()
    response = client.get(f"{MODELS}?team=fraud", headers=bearer(db, "leader"))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4 and (body["page"], body["page_size"]) == (1, 50)
    got = {m["name"]: {k: m[k] for k in (
        "first_ideated_at", "first_deployed_at", "lead_time_days", "deployments",
        "last_deployed_at", "retrain_cadence_days", "staleness_days")} for m in body["items"]}
    assert got == {
        # 41 days to production; deployments 16 and 32.5 days apart: median 24.25;
        # last deployed 2026-04-04 12:00, 238.5 days before 2026-11-29.
        "a": {"first_ideated_at": "2026-01-05T00:00:00Z",
              "first_deployed_at": "2026-02-15T00:00:00Z", "lead_time_days": "41.00",
              "deployments": 3, "last_deployed_at": "2026-04-04T12:00:00Z",
              "retrain_cadence_days": "24.25", "staleness_days": "238.50"},
        # no ideated: lead time from its earliest event; one deployment: no cadence
        "b": {"first_ideated_at": None, "first_deployed_at": "2026-03-01T00:00:00Z",
              "lead_time_days": "59.00", "deployments": 1,
              "last_deployed_at": "2026-03-01T00:00:00Z", "retrain_cadence_days": None,
              "staleness_days": "273.00"},
        "c": {"first_ideated_at": "2026-02-01T00:00:00Z", "first_deployed_at": None,
              "lead_time_days": None, "deployments": 0, "last_deployed_at": None,
              "retrain_cadence_days": None, "staleness_days": None},
        "d": {"first_ideated_at": None, "first_deployed_at": None, "lead_time_days": None,
              "deployments": 0, "last_deployed_at": None, "retrain_cadence_days": None,
              "staleness_days": None},
    }


def test_the_list_filters_and_pages(client, db, fraud, search):
    add_model(db, fraud, "Card scorer", use_case="fraud on cards", kind="classical")
    add_model(db, fraud, "Support bot", use_case="LLM answers", kind="llm")
    add_model(db, search, "Ranker 100%", use_case="search ranking", kind="classical")
    db.commit()
    headers = bearer(db, "leader")

    def names(query: str) -> list[str]:
        response = client.get(f"{MODELS}?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [m["name"] for m in response.json()["items"]]

    assert names("") == ["Card scorer", "Support bot", "Ranker 100%"]  # by team, then name
    assert names("team=search") == ["Ranker 100%"]
    assert names("kind=llm") == ["Support bot"]
    assert names("q=CARDS") == ["Card scorer"]
    assert names("q=100%25") == ["Ranker 100%"]  # a literal %, not a wildcard
    assert names("q=0%25") == ["Ranker 100%"]
    assert names("page=2&page_size=2") == ["Ranker 100%"]
    for query, field in (("team=nope", "team"), ("kind=deep", "kind"),
                         ("archived=maybe", "archived"), ("page_size=501", "page_size")):
        response = client.get(f"{MODELS}?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.json()["errors"][0]["field"] == field


def test_a_viewer_sees_only_its_teams_models(client, db, fraud, search):
    ours = add_model(db, fraud, "ours")
    theirs = add_model(db, search, "theirs")
    db.commit()
    headers = bearer(db, "viewer", teams=[fraud])
    assert [m["name"] for m in client.get(MODELS, headers=headers).json()["items"]] == ["ours"]
    assert client.get(f"{MODELS}?team=search", headers=headers).json()["items"] == []
    assert client.get(f"{MODELS}/{ours.id}", headers=headers).status_code == 200
    hidden = client.get(f"{MODELS}/{theirs.id}", headers=headers)
    assert hidden.status_code == 404 and hidden.headers["content-type"] == PROBLEM
    scoped = bearer(db, "admin", team_id=search.id)
    assert [m["name"] for m in client.get(MODELS, headers=scoped).json()["items"]] == ["theirs"]


def test_the_list_reads_figures_in_a_fixed_number_of_statements(client, db, fraud, connection):
    headers = bearer(db, "leader")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def statements_for_a_page() -> int:
        statements.clear()
        event.listen(connection, "before_cursor_execute", count)
        try:
            assert client.get(f"{MODELS}?team=fraud", headers=headers).status_code == 200
        finally:
            event.remove(connection, "before_cursor_execute", count)
        return len([s for s in statements if "lifecycle_event" in s])

    add_model(db, fraud, "m0", ("ideated", "2026-01-01"), ("deployed", "2026-02-01"))
    db.commit()
    one = statements_for_a_page()
    for i in range(1, 6):
        add_model(db, fraud, f"m{i}", ("ideated", "2026-01-01"), ("deployed", "2026-02-01"),
                  ("deployed", "2026-03-01"))
    db.commit()
    assert one == statements_for_a_page() == 2

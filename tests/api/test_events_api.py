"""Lifecycle events through the API: one model's events, the bulk endpoint for pipelines, and
compute costs. Idempotent, all or nothing, and every bad input named."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.core.clock import utcnow
from app.ml_models.models import ComputeCost, LifecycleEvent, MLModel
from tests import factories
from tests.api import bearer

PROBLEM = "application/problem+json"
BULK = "/api/v1/events"


@pytest.fixture
def fraud(db):
    return factories.make_team(db, name="Fraud detection", slug="fraud")


@pytest.fixture
def search(db):
    return factories.make_team(db, name="Search", slug="search")


@pytest.fixture
def scorer(db, fraud):
    model = MLModel(team_id=fraud.id, name="Scorer")
    db.add(model)
    db.commit()
    return model


def events_url(model) -> str:
    return f"/api/v1/models/{model.id}/events"


def stored_events(db) -> list[LifecycleEvent]:
    db.expire_all()
    return list(db.scalars(select(LifecycleEvent).order_by(LifecycleEvent.id)))


def model_names(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(MLModel.name).order_by(MLModel.id)))


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


def fields(response) -> list[str]:
    return [e["field"] for e in problem(response, 422)["errors"]]


DEPLOYED = {"type": "deployed", "occurred_at": "2026-03-01T10:00:00+01:00", "version": "7",
            "external_id": "ci-run-481"}


# --- one model's events ---------------------------------------------------------------------

def test_posting_an_event_stores_it_in_utc(client, db, scorer, fraud):
    response = client.post(events_url(scorer), headers=bearer(db, "pm", teams=[fraud]),
                           json=DEPLOYED)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"id": body["id"], "model_id": scorer.id, "type": "deployed",
                    "occurred_at": "2026-03-01T09:00:00Z", "version": "7", "source": "api",
                    "external_id": "ci-run-481", "created_at": body["created_at"]}
    [event] = stored_events(db)
    assert (event.id, event.occurred_at) == (body["id"], datetime(2026, 3, 1, 9, tzinfo=UTC))


def test_the_same_event_again_answers_the_stored_one(client, db, scorer):
    headers = bearer(db, "admin")
    first = client.post(events_url(scorer), headers=headers, json=DEPLOYED)
    # The same instant written in UTC is the same content.
    again = client.post(events_url(scorer), headers=headers,
                        json=DEPLOYED | {"occurred_at": "2026-03-01T09:00:00Z"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(stored_events(db)) == 1


@pytest.mark.parametrize("change", [{"version": "8"}, {"type": "registered"},
                                    {"occurred_at": "2026-03-02T10:00:00+01:00"}])
def test_an_external_id_reused_with_other_content_is_a_conflict(client, db, scorer, change):
    headers = bearer(db, "admin")
    stored = client.post(events_url(scorer), headers=headers, json=DEPLOYED).json()
    response = client.post(events_url(scorer), headers=headers, json=DEPLOYED | change)
    body = problem(response, 409)
    assert "ci-run-481" in body["detail"]
    assert body["errors"] == [{"field": "external_id", "message": body["detail"]}]
    [event] = stored_events(db)
    assert (event.id, event.version, event.type) == (stored["id"], "7", "deployed")
    assert event.occurred_at == datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_the_same_external_id_of_another_source_is_another_event(client, db, scorer):
    headers = bearer(db, "admin")
    assert client.post(events_url(scorer), headers=headers, json=DEPLOYED).status_code == 201
    other = client.post(events_url(scorer), headers=headers, json=DEPLOYED | {"source": "mlflow"})
    assert other.status_code == 201
    assert len(stored_events(db)) == 2


def test_a_timestamp_without_a_zone_is_refused_saying_utc(client, db, scorer):
    response = client.post(events_url(scorer), headers=bearer(db, "admin"),
                           json=DEPLOYED | {"occurred_at": "2026-03-01T10:00:00"})
    [error] = problem(response, 422)["errors"]
    assert error["field"] == "occurred_at"
    assert "time zone" in error["message"] and "UTC" in error["message"]
    assert stored_events(db) == []


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"occurred_at": "in-the-future"}, "occurred_at", "datetime"),
    ({"type": "launched"}, "type", "'ideated'"),
    ({"source": "jenkins"}, "source", "'api'"),
    ({"version": "v" * 65}, "version", "at most 64"),
    ({"external_id": "x" * 201}, "external_id", "at most 200"),
    ({"colour": "red"}, "colour", "Extra inputs"),
])
def test_malformed_events_are_refused_naming_the_field(client, db, scorer, change, field, words):
    response = client.post(events_url(scorer), headers=bearer(db, "admin"),
                           json=DEPLOYED | change)
    [error] = problem(response, 422)["errors"]
    assert error["field"] == field and words in error["message"]
    assert stored_events(db) == []


def test_an_event_in_the_future_is_refused(client, db, scorer):
    headers = bearer(db, "admin")
    soon = (utcnow() + timedelta(minutes=2)).isoformat()  # a drifting pipeline clock: fine
    assert client.post(events_url(scorer), headers=headers,
                       json={"type": "ideated", "occurred_at": soon}).status_code == 201
    later = (utcnow() + timedelta(hours=1)).isoformat()
    response = client.post(events_url(scorer), headers=headers,
                           json={"type": "deployed", "occurred_at": later})
    [error] = problem(response, 422)["errors"]
    assert (error["field"], error["message"]) == ("occurred_at", "is in the future")
    assert len(stored_events(db)) == 1


def test_an_event_long_before_the_models_ideation_is_refused(client, db, scorer):
    headers = bearer(db, "admin")
    post = lambda kind, day: client.post(events_url(scorer), headers=headers,  # noqa: E731
                                         json={"type": kind, "occurred_at": f"{day}T00:00:00Z"})
    assert post("ideated", "2026-01-10").status_code == 201
    response = post("data_ready", "2025-01-09")  # 366 days before
    [error] = problem(response, 422)["errors"]
    assert error["field"] == "occurred_at"
    assert "365 days before the model was ideated (2026-01-10)" in error["message"]
    assert post("data_ready", "2025-01-10").status_code == 201  # 365 days: believable
    assert len(stored_events(db)) == 2


def test_the_ideation_bound_does_not_depend_on_arrival_order(client, db, scorer):
    headers = bearer(db, "admin")
    post = lambda kind, day: client.post(events_url(scorer), headers=headers,  # noqa: E731
                                         json={"type": kind, "occurred_at": f"{day}T00:00:00Z"})
    assert post("data_ready", "2024-01-01").status_code == 201
    response = post("ideated", "2026-01-10")  # the earlier event came first this time
    [error] = problem(response, 422)["errors"]
    assert error["field"] == "occurred_at"
    assert "after the model's earliest event (2024-01-01)" in error["message"]
    assert len(stored_events(db)) == 1


def test_events_may_arrive_in_any_order_and_are_listed_as_they_happened(client, db, scorer):
    headers = bearer(db, "admin")
    for kind, day in (("deployed", "2026-02-15"), ("ideated", "2026-01-05"),
                      ("validated", "2026-02-01")):
        response = client.post(events_url(scorer), headers=headers,
                               json={"type": kind, "occurred_at": f"{day}T00:00:00Z"})
        assert response.status_code == 201, response.text
    listed = client.get(events_url(scorer), headers=headers).json()
    assert [e["type"] for e in listed["items"]] == ["ideated", "validated", "deployed"]
    assert listed["total"] == 3
    page = client.get(f"{events_url(scorer)}?page=2&page_size=2", headers=headers).json()
    assert [e["type"] for e in page["items"]] == ["deployed"]
    model = client.get(f"/api/v1/models/{scorer.id}", headers=headers).json()
    assert model["lead_time_days"] == "41.00"


def test_event_writes_and_reads_respect_roles_and_teams(client, db, scorer, fraud, search):
    body = {"type": "ideated", "occurred_at": "2026-01-05T00:00:00Z"}
    assert client.post(events_url(scorer), headers=bearer(db, "leader"),
                       json=body).status_code == 403
    assert client.post(events_url(scorer), headers=bearer(db, "pm", teams=[search]),
                       json=body).status_code == 403
    assert client.post(events_url(scorer), headers=bearer(db, "admin", team_id=search.id),
                       json=body).status_code == 404  # a team-scoped token does not see it
    assert stored_events(db) == []
    assert client.get(events_url(scorer),
                      headers=bearer(db, "viewer", teams=[search])).status_code == 404
    assert client.get(events_url(scorer),
                      headers=bearer(db, "viewer", teams=[fraud])).status_code == 200
    assert client.get("/api/v1/models/999999/events",
                      headers=bearer(db, "admin")).status_code == 404


# --- bulk -----------------------------------------------------------------------------------

def bulk_event(**changes) -> dict:
    return {"team": "fraud", "model": "Churn predictor", "type": "ideated",
            "occurred_at": "2026-01-05T00:00:00Z"} | changes


def test_bulk_creates_a_model_on_first_sight_and_records_each_event(client, db, fraud, scorer):
    response = client.post(BULK, headers=bearer(db, "pm", teams=[fraud]), json=[
        bulk_event(external_id="e1"),
        bulk_event(type="deployed", occurred_at="2026-02-15T00:00:00Z", external_id="e2"),
        bulk_event(model="scorer", type="registered"),  # an existing model, any case
    ])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert model_names(db) == ["Scorer", "Churn predictor"]
    churn = db.scalar(select(MLModel).where(MLModel.name == "Churn predictor"))
    events = stored_events(db)
    assert results == [
        {"index": 0, "id": events[0].id, "created": True, "model_id": churn.id},
        {"index": 1, "id": events[1].id, "created": True, "model_id": churn.id},
        {"index": 2, "id": events[2].id, "created": True, "model_id": scorer.id},
    ]
    assert churn.team_id == fraud.id and [e.source for e in events] == ["api"] * 3


def test_bulk_takes_one_event_too_and_is_idempotent(client, db, fraud):
    headers = bearer(db, "admin")
    first = client.post(BULK, headers=headers, json=bulk_event(external_id="e1"))
    assert first.status_code == 200, first.text
    [result] = first.json()["results"]
    assert result["index"] == 0 and result["created"] is True
    again = client.post(BULK, headers=headers, json=[bulk_event(external_id="e1")])
    assert again.json()["results"] == [result | {"created": False}]
    assert len(stored_events(db)) == 1 and model_names(db) == ["Churn predictor"]


def test_one_bad_event_stores_nothing_and_names_its_index(client, db, fraud):
    response = client.post(BULK, headers=bearer(db, "admin"), json=[
        bulk_event(), bulk_event(type="deployed", occurred_at="2026-02-15T00:00:00"),
        bulk_event(model="Other", type="launched")])
    errors = problem(response, 422)["errors"]
    assert [e["field"] for e in errors] == ["1.occurred_at", "2.type"]
    assert "UTC" in errors[0]["message"]
    assert stored_events(db) == [] and model_names(db) == []


def test_a_refusal_by_the_service_stores_nothing_either(client, db, fraud):
    future = (utcnow() + timedelta(days=2)).isoformat()
    response = client.post(BULK, headers=bearer(db, "admin"), json=[
        bulk_event(), bulk_event(model="New one", type="deployed", occurred_at=future),
        bulk_event(team="nope")])
    assert fields(response) == ["1.occurred_at", "2.team"]
    assert stored_events(db) == [] and model_names(db) == []


@pytest.mark.parametrize(("name", "words"), [("", "at least 1 character"),
                                             ("m" * 121, "at most 120 characters")])
def test_bulk_refuses_an_empty_or_too_long_model_name(client, db, fraud, name, words):
    response = client.post(BULK, headers=bearer(db, "admin"), json=[bulk_event(model=name)])
    [error] = problem(response, 422)["errors"]
    assert error["field"] == "0.model" and words in error["message"]
    assert model_names(db) == []


def test_bulk_refuses_an_empty_or_oversized_batch(client, db, fraud):
    headers = bearer(db, "admin")
    assert problem(client.post(BULK, headers=headers, json=[]), 422)
    big = client.post(BULK, headers=headers, json=[bulk_event(external_id=str(i))
                                                   for i in range(1001)])
    assert "at most 1000" in problem(big, 422)["detail"]
    assert client.post(BULK, headers=headers, json=[bulk_event(external_id=str(i))
                                                    for i in range(1000)]).status_code == 200
    assert len(stored_events(db)) == 1000


@pytest.mark.parametrize("role", ["viewer", "leader"])
def test_bulk_refuses_reading_roles(client, db, fraud, role):
    response = client.post(BULK, headers=bearer(db, role, teams=[fraud]), json=[bulk_event()])
    problem(response, 403)
    assert model_names(db) == [] and stored_events(db) == []


def test_a_team_scoped_token_may_not_write_another_team(client, db, fraud, search, scorer):
    # A pm of both teams, but the token is bound to search.
    headers = bearer(db, "pm", teams=[fraud, search], team_id=search.id)
    ok = client.post(BULK, headers=headers, json=bulk_event(team="search", model="Ranker"))
    assert ok.status_code == 200, ok.text
    for event in (bulk_event(), bulk_event(model="Scorer")):  # a new model, an existing one
        response = client.post(BULK, headers=headers,
                               json=[bulk_event(team="search", model="Ranker 2"), event])
        problem(response, 403)
    assert model_names(db) == ["Scorer", "Ranker"] and len(stored_events(db)) == 1


# --- compute costs --------------------------------------------------------------------------

def test_compute_cost_is_one_row_per_model_and_month(client, db, scorer, fraud):
    headers = bearer(db, "pm", teams=[fraud])
    url = f"/api/v1/models/{scorer.id}/compute-costs"
    first = client.post(url, headers=headers,
                        json={"month": "2026-03-17", "gpu_hours": "120.5", "amount": "3400"})
    assert first.status_code == 201, first.text
    assert first.json() == {"id": first.json()["id"], "model_id": scorer.id, "model": "Scorer",
                            "team": "fraud", "month": "2026-03-01", "gpu_hours": "120.50",
                            "amount": "3400.00", "note": ""}
    again = client.post(url, headers=headers,
                        json={"month": "2026-03-01", "gpu_hours": "100", "amount": "3000.10",
                              "note": "spot instances"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["amount"] == "3000.10"
    db.expire_all()
    [row] = db.scalars(select(ComputeCost)).all()
    assert (row.amount, row.gpu_hours, row.note) == (D("3000.10"), D(100), "spot instances")


def test_compute_cost_bad_input_and_rights(client, db, scorer, search):
    url = f"/api/v1/models/{scorer.id}/compute-costs"
    admin = bearer(db, "admin")
    assert fields(client.post(url, headers=admin, json={"month": "2026-03-01",
                                                        "amount": "-1"})) == ["amount"]
    next_year = (utcnow() + timedelta(days=400)).date().isoformat()
    assert fields(client.post(url, headers=admin, json={"month": next_year,
                                                        "amount": "1"})) == ["month"]
    assert client.post(url, headers=bearer(db, "pm", teams=[search]),
                       json={"month": "2026-03-01", "amount": "1"}).status_code == 403
    assert db.scalar(select(func.count()).select_from(ComputeCost)) == 0


def test_compute_costs_are_listed_and_filtered(client, db, fraud, search, scorer):
    ranker = MLModel(team_id=search.id, name="Ranker")
    db.add(ranker)
    db.flush()
    for model, month, amount in ((scorer, "2026-01-01", 100), (scorer, "2026-02-01", 200),
                                 (ranker, "2026-02-01", 50)):
        db.add(ComputeCost(model_id=model.id, month=datetime.fromisoformat(month).date(),
                           amount=amount, gpu_hours=1))
    db.commit()
    headers = bearer(db, "leader")

    def listed(query: str = "", who=headers) -> list[tuple[str, str]]:
        response = client.get(f"/api/v1/compute-costs?{query}", headers=who)
        assert response.status_code == 200, response.text
        return [(c["model"], c["month"]) for c in response.json()["items"]]

    assert listed() == [("Ranker", "2026-02-01"), ("Scorer", "2026-02-01"),
                        ("Scorer", "2026-01-01")]
    assert listed("team=fraud") == [("Scorer", "2026-02-01"), ("Scorer", "2026-01-01")]
    assert listed(f"model={ranker.id}") == [("Ranker", "2026-02-01")]
    assert listed("from=2026-01-15&to=2026-01-31") == [("Scorer", "2026-01-01")]
    assert listed(who=bearer(db, "viewer", teams=[search])) == [("Ranker", "2026-02-01")]
    bad = client.get("/api/v1/compute-costs?from=2026-02-01&to=2026-01-01", headers=headers)
    assert fields(bad) == ["to"]
    assert fields(client.get("/api/v1/compute-costs?team=nope", headers=headers)) == ["team"]

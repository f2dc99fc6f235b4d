"""Idempotency-Key on the API's POSTs: done once, replayed, refused when reused for another
request, 409 while in flight, never remembering a 5xx, 409 or 429, forgotten after 24 hours."""

import json
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers

from app.api import idempotency
from app.core.errors import Conflict
from app.core.clock import utcnow
from app.api.idempotency import Claimed, IdempotencyKey, IdempotencyStore, KeyedRequest
from app.pain_points import service as pain_point_service
from app.pain_points.models import PainPoint
from tests import factories
from tests.api import bearer

API = "/api/v1/pain-points"
PROBLEM = "application/problem+json"


def payload(**overrides) -> dict:
    return {"team": "fraud", "persona": "data-scientist", "stage": "deployment",
            "title": "Waiting for a Spark cluster", "kind": "recurring", "hours_low": "1",
            "hours_likely": "2", "hours_high": "4", "observed_since": "2026-01-05"} | overrides


@pytest.fixture
def fraud(db):
    return factories.make_team(db, name="Fraud", slug="fraud",
                               headcounts={"data-scientist": (10, D("120"))})


@pytest.fixture
def admin(db, fraud):
    return bearer(db, "admin")


def post(client, headers, key=None, **overrides):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(API, json=payload(**overrides), headers=headers | extra)


def count(db, title="Waiting for a Spark cluster") -> int:
    return db.scalar(select(func.count()).select_from(PainPoint).where(PainPoint.title == title))


def keys(db) -> list[IdempotencyKey]:
    db.expire_all()
    return list(db.scalars(select(IdempotencyKey)))


def assert_key_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    return body


def test_a_retry_is_replayed_and_stored_once(client, db, admin):
    first = post(client, admin, "create-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = post(client, admin, "create-1")
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for name in ("content-type", "location", "etag"):
        assert again.headers[name] == first.headers[name]
    assert count(db) == 1
    [row] = keys(db)
    assert row.status_code == 201 and row.completed_at is not None
    # Neither the key nor the credential is stored in clear.
    assert "create-1" not in (row.key_hash, row.principal_hash)


def test_without_a_key_every_post_is_done(client, db, admin):
    assert post(client, admin).status_code == 201
    assert post(client, admin).status_code == 201
    assert count(db) == 2
    assert keys(db) == []


def test_the_same_key_for_another_body_is_refused_naming_the_header(client, db, admin):
    assert post(client, admin, "k").status_code == 201
    body = assert_key_problem(post(client, admin, "k", title="Another pain"), 422)
    assert "different request" in body["detail"]
    assert count(db, "Another pain") == 0


def test_keys_belong_to_one_caller(client, db, admin):
    other = bearer(db, "admin")
    assert post(client, admin, "shared").status_code == 201
    second = post(client, other, "shared")
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert count(db) == 2


def test_a_duplicate_while_the_first_is_in_flight_gets_409(client, db, admin, session_factory):
    body = json.dumps(payload()).encode()
    # Another process has claimed the key and not answered yet.
    claim = IdempotencyStore().claim(session_factory, KeyedRequest(
        idempotency.principal_hash(Headers(admin)), idempotency.key_hash("busy"),
        idempotency.request_fingerprint(API, b"", body)))
    assert isinstance(claim, Claimed)
    response = client.post(API, content=body, headers=admin | {
        "Idempotency-Key": "busy", "content-type": "application/json"})
    assert_key_problem(response, 409)
    assert response.headers["retry-after"] == "1"
    assert count(db) == 0


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(client, db, admin, session_factory):
    body = json.dumps(payload()).encode()
    claim = IdempotencyStore().claim(session_factory, KeyedRequest(
        idempotency.principal_hash(Headers(admin)), idempotency.key_hash("orphan"),
        idempotency.request_fingerprint(API, b"", body)))
    [row] = keys(db)
    row.created_at = utcnow() - idempotency.IN_FLIGHT_TIMEOUT - timedelta(seconds=1)
    db.commit()
    response = client.post(API, content=body, headers=admin | {
        "Idempotency-Key": "orphan", "content-type": "application/json"})
    assert response.status_code == 201, response.text
    # The dead request's late completion cannot overwrite the new owner's answer.
    IdempotencyStore().complete(session_factory, claim, 500, {}, b"stale")
    [row] = keys(db)
    assert row.status_code == 201


def test_keys_are_forgotten_after_24_hours(client, db, admin):
    assert post(client, admin, "old").status_code == 201
    [row] = keys(db)
    row.created_at = utcnow() - idempotency.TTL - timedelta(minutes=1)
    db.commit()
    again = post(client, admin, "old")
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert count(db) == 2


def test_old_keys_are_deleted_while_claiming(db, session_factory):
    old = IdempotencyKey(principal_hash="p", key_hash="k", fingerprint="f", claim_token="t",
                         created_at=utcnow() - idempotency.TTL - timedelta(hours=1))
    db.add(old)
    db.commit()
    IdempotencyStore().claim(session_factory, KeyedRequest("p", "other", "f"))
    assert [r.key_hash for r in keys(db)] == ["other"]


def test_client_errors_are_replayed(client, db, admin):
    bad = post(client, admin, "bad", hours_low="9", hours_likely="2")
    assert bad.status_code == 422
    again = post(client, admin, "bad", hours_low="9", hours_likely="2")
    assert again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == bad.json()


@pytest.mark.parametrize("error", [
    OperationalError("INSERT", {}, Exception("server closed the connection")),
    Conflict("someone else is editing"),
])
def test_5xx_and_409_answers_are_not_remembered(client, db, admin, monkeypatch, error):
    real = pain_point_service.create_pain_point

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(pain_point_service, "create_pain_point", failing)
    failed = post(client, admin, "retry-me")
    assert failed.status_code in (503, 409)
    assert keys(db) == []
    monkeypatch.setattr(pain_point_service, "create_pain_point", real)
    retried = post(client, admin, "retry-me")
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert count(db) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_refused(client, db, admin, key):
    assert_key_problem(post(client, admin, key), 422)
    assert count(db) == 0


def test_the_longest_key_and_printable_punctuation_are_accepted(client, db, admin):
    assert post(client, admin, "k" * 255).status_code == 201
    assert post(client, admin, "ci run 42/event:3?x=1").status_code == 201


def test_only_api_posts_are_concerned(client, db, admin):
    response = client.get(API, headers=admin | {"Idempotency-Key": ""})
    assert response.status_code == 200
    response = client.post("/login", data={}, headers={"Idempotency-Key": ""})
    assert "Idempotency-Key" not in response.text


def test_requests_without_credentials_are_left_to_the_route(client, db, fraud):
    response = client.post(API, json=payload(), headers={"Idempotency-Key": "anon"})
    assert response.status_code == 401
    assert keys(db) == []


def test_a_completion_the_database_refused_is_written_once_it_is_back(session_factory, db):
    store = IdempotencyStore()
    claim = store.claim(session_factory, KeyedRequest("p", "k", "f"))

    def down():
        raise OperationalError("UPDATE", {}, Exception("connection refused"))

    store.complete(down, claim, 201, {"content-type": "application/json"}, b"{}")
    assert store.pending == 1
    with pytest.raises(OperationalError):
        store.flush_pending(down)
    assert store.pending == 1
    # The next keyed request (the database is back) writes it first: a retry is replayed.
    store.flush_pending(session_factory)
    assert store.pending == 0
    replay = store.claim(session_factory, KeyedRequest("p", "k", "f"))
    assert replay == idempotency.Replay(201, {"content-type": "application/json"}, b"{}")


def test_openapi_documents_the_header_on_every_api_post(client):
    schema = client.get("/openapi.json").json()
    posts = [(path, item["post"]) for path, item in schema["paths"].items()
             if "post" in item and path.startswith("/api/v1/")]
    assert posts
    for path, operation in posts:
        names = [p["name"] for p in operation.get("parameters", [])]
        assert names.count("Idempotency-Key") == 1, path
        assert {"409", "422"} <= set(operation["responses"]), path

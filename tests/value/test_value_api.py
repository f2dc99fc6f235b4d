"""The model value API: KPIs, bulk KPI and quality observations, quality metrics and
GET /api/v1/metrics/value — what a pipeline posts with a token and what a leader reads."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.ml_models.models import MLModel
from app.value.formulas import AnnualValue, Event, Metric, ModelFacts, Observation
from app.value.models import Kpi, KpiObservation, QualityMetric, QualityObservation
from tests import factories
from tests.api import bearer
from tests.value.helpers import store

PROBLEM = "application/problem+json"
API = "/api/v1"
DAILY = AnnualValue(D(3650), D(7300), D(10950))


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def fraud(db):
    return factories.make_team(db, name="Fraud detection", slug="fraud")


@pytest.fixture
def scorer(db, fraud):
    return store(db, fraud, ModelFacts("card-scorer", DAILY,
                                       events=[Event("deployed", at("2025-01-01"))]))


@pytest.fixture
def pm(db, fraud):
    return bearer(db, "pm", teams=[fraud])


def add_kpi(client, headers, model_id, **fields):
    body = {"key": "losses_prevented", "name": "Fraud losses prevented", "unit": "USD",
            "value_per_unit": "1"} | fields
    return client.post(f"{API}/models/{model_id}/kpis", headers=headers, json=body)


def test_a_pipeline_adds_a_kpi_and_posts_its_months(client, db, scorer, pm):
    response = add_kpi(client, pm, scorer.id, key="tickets", name="Tickets deflected",
                       unit="tickets", value_per_unit="4.5")
    assert response.status_code == 201, response.text
    assert response.json() == {"model_id": scorer.id, "key": "tickets",
                               "name": "Tickets deflected", "unit": "tickets",
                               "value_per_unit": "4.5000", "archived": False, "version": 1}
    observation = {"team": "fraud", "model": "Card-Scorer", "kpi": "tickets", "month": "2025-03",
                   "amount": "1200", "source": "api", "external_id": "run-1"}
    response = client.post(f"{API}/kpi-observations", headers=pm | {"Idempotency-Key": "k1"},
                           json=observation)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0] | {"id": 0} == {"index": 0, "id": 0, "created": True,
                                                         "changed": True}
    # The same id with the same content: a no-op.
    again = client.post(f"{API}/kpi-observations", headers=pm, json=[observation])
    assert again.json()["results"][0]["created"] is False
    assert again.json()["results"][0]["changed"] is False
    # The same month again (another id) replaces the amount, and the audit log keeps both.
    client.post(f"{API}/kpi-observations", headers=pm,
                json=observation | {"amount": "1500", "external_id": "run-2"})
    rows = client.get(f"{API}/kpi-observations", headers=pm, params={"team": "fraud"}).json()
    assert rows["total"] == 1
    assert rows["items"][0] | {"id": 0} == {
        "id": 0, "team": "fraud", "model": "card-scorer", "kpi": "tickets", "month": "2025-03",
        "amount": "1500.0000", "value": "6750.00", "source": "api", "external_id": "run-2",
        "note": ""}
    updates = db.scalars(select(AuditEntry).where(AuditEntry.entity_type == "kpi_observation",
                                                  AuditEntry.action == "update")).all()
    assert [(u.before["amount"], u.after["amount"]) for u in updates] == [("1200", "1500")]

    # March is measured: 6750 instead of 31 days × 20.
    value = client.get(f"{API}/metrics/value", headers=pm,
                       params={"from": "2025-03-01", "to": "2025-03-31"}).json()
    assert value["value"] == {"total": "6750.00", "low": "6750.00", "high": "6750.00",
                              "measured": "6750.00", "estimated": "0.00"}


def test_metrics_value_answers_the_issue_shape_with_the_formulas_figures(client, db, fraud, pm):
    store(db, fraud, ModelFacts("retired", DAILY, events=[
        Event("deployed", at("2025-01-01", 9)), Event("retired", at("2025-03-01", 8))],
        compute={date(2025, 1, 1): D(310)}), ideated=at("2024-11-17"))
    store(db, fraud, ModelFacts("drifting", DAILY,
                                events=[Event("deployed", at("2025-03-01", 10))],
                                metrics=[Metric("rmse", False, D("0.05"), [
                                    Observation(0.50, at("2025-02-20")),
                                    Observation(0.40, at("2025-03-02")),
                                    Observation(0.43, at("2025-03-20"))])]),
          ideated=at("2025-02-01"))
    db.commit()
    body = client.get(f"{API}/metrics/value", headers=pm,
                      params={"from": "2025-01-01", "to": "2025-03-31", "team": "fraud"}).json()
    # retired: 59 days × 20; drifting: 31 days × 20 (10 / 30 for low / high).
    assert body["value"] == {"total": "1800.00", "low": "900.00", "high": "2700.00",
                             "measured": "0.00", "estimated": "1800.00"}
    assert (body["compute_cost"], body["net_value"], body["value_per_compute_dollar"]) == (
        "310.00", "1490.00", "5.8065")
    # retired: lead 45 days 9 h (15 days 9 h over 30) at 7300 / 52 a week; drifting: 28 days.
    weekly = D(7300) / 52
    late = weekly * (D(45) + D(9) / 24 - 30) / 7
    assert body["cost_of_delay"]["total"] == str(late.quantize(D("0.01")))
    assert body["cost_of_delay"]["models"] == 2
    assert body["week_value"]["total"] == str((2 * weekly).quantize(D("0.01")))
    risk = body["value_at_risk"]
    assert (risk["as_of"], risk["total"], risk["count"]) == ("2025-03-31", "7300.00", 1)
    assert risk["models"] == [{"model": "drifting", "team": "fraud",
                               "reasons": ["rmse degraded: 0.4 → 0.43"],
                               "annual_value": "7300.00", "annual_value_low": "3650.00",
                               "annual_value_high": "10950.00"}]
    items = body["by_model"]["items"]
    assert [i["model"] for i in items] == ["retired", "drifting"]
    assert items[0] | {"lead_time_days": None} == {
        "model": "retired", "team": "fraud", "kind": "classical", "value": "1180.00",
        "value_low": "590.00", "value_high": "1770.00", "measured": "0.00",
        "estimated": "1180.00", "compute_cost": "310.00", "net_value": "870.00",
        "value_per_compute_dollar": "3.8065", "lead_time_days": None, "quality": []}
    assert items[1]["quality"] == [{"metric": "rmse", "baseline": 0.4, "latest": 0.43,
                                    "status": "degraded"}]
    assert body["by_model"] | {"items": []} == {"items": [], "total": 2, "limit": 100,
                                                "offset": 0}
    second = client.get(f"{API}/metrics/value", headers=pm, params={
        "from": "2025-01-01", "to": "2025-03-31", "limit": 1, "offset": 1}).json()
    assert [i["model"] for i in second["by_model"]["items"]] == ["drifting"]


def test_a_viewer_of_another_team_gets_403_and_a_team_token_sees_its_team_only(
        client, db, fraud, scorer):
    search = factories.make_team(db, name="Search", slug="search")
    store(db, search, ModelFacts("ranker", DAILY, events=[Event("deployed", at("2025-01-01"))]))
    db.commit()
    viewer = bearer(db, "viewer", teams=[search])
    response = client.get(f"{API}/metrics/value", headers=viewer, params={"team": "fraud"})
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "team"
    body = client.get(f"{API}/metrics/value", headers=viewer,
                      params={"from": "2025-01-01", "to": "2025-12-31"}).json()
    assert [i["model"] for i in body["by_model"]["items"]] == ["ranker"]
    assert body["value"]["total"] == "7300.00"


def test_quality_observations_create_their_metric_and_are_idempotent(client, db, scorer, pm):
    obs = {"team": "fraud", "model": "card-scorer", "metric": "val_rmse", "value": 0.41,
           "observed_at": "2025-03-02T10:00:00+02:00", "version": "7", "source": "mlflow",
           "external_id": "run-9:val_rmse"}
    response = client.post(f"{API}/quality-observations", headers=pm, json=obs)
    assert response.status_code == 200, response.text
    assert client.post(f"{API}/quality-observations", headers=pm,
                       json=obs).json()["results"][0]["created"] is False
    metric = db.scalars(select(QualityMetric)).one()
    assert (metric.name, metric.higher_is_better, metric.tolerance) == ("val_rmse", False,
                                                                         D("0.05"))
    stored = db.scalars(select(QualityObservation)).one()
    assert stored.observed_at == at("2025-03-02", 8)
    response = client.put(f"{API}/models/{scorer.id}/quality-metrics/val_rmse", headers=pm,
                          json={"higher_is_better": True, "tolerance": "0.1"})
    assert response.status_code == 200
    assert response.json() == {"model_id": scorer.id, "name": "val_rmse",
                               "higher_is_better": True, "tolerance": "0.1000"}
    created = client.put(f"{API}/models/{scorer.id}/quality-metrics/latency_ms", headers=pm,
                         json={})
    assert created.status_code == 201 and created.json()["higher_is_better"] is False


def test_kpi_changes_need_the_version_and_a_used_kpi_is_archived(client, db, scorer, pm):
    add_kpi(client, pm, scorer.id)
    add_kpi(client, pm, scorer.id, key="unused")
    url = f"{API}/models/{scorer.id}/kpis/losses_prevented"
    response = client.patch(url, headers=pm, json={"name": "Losses prevented", "version": 1})
    assert response.status_code == 200 and response.json()["version"] == 2
    stale = client.patch(url, headers=pm, json={"unit": "EUR", "version": 1})
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "version"
    client.post(f"{API}/kpi-observations", headers=pm, json={
        "team": "fraud", "model": "card-scorer", "kpi": "losses_prevented", "month": "2025-01",
        "amount": "10"})
    archived = client.delete(url, headers=pm)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert client.delete(f"{API}/models/{scorer.id}/kpis/unused", headers=pm).status_code == 204
    assert [k["key"] for k in client.get(f"{API}/models/{scorer.id}/kpis",
                                         headers=pm).json()] == ["losses_prevented"]


def test_a_viewer_may_not_write_and_a_pm_only_its_teams(client, db, scorer, fraud):
    viewer = bearer(db, "viewer", teams=[fraud])
    assert add_kpi(client, viewer, scorer.id).status_code == 403
    other = bearer(db, "pm", teams=[factories.make_team(db, name="Other", slug="other")])
    assert add_kpi(client, other, scorer.id).status_code == 403
    response = client.post(f"{API}/quality-observations", headers=other, json={
        "team": "fraud", "model": "card-scorer", "metric": "auc", "value": 0.9,
        "observed_at": "2025-03-02T10:00:00Z"})
    assert response.status_code == 403
    assert count(db, Kpi) == 0 and count(db, QualityObservation) == 0


# --- bad input: status, the field named, nothing stored -------------------------------------

GOOD_KPI_OBS = {"team": "fraud", "model": "card-scorer", "kpi": "losses_prevented",
                "month": "2025-01", "amount": "10"}
GOOD_QUALITY = {"team": "fraud", "model": "card-scorer", "metric": "auc", "value": 0.9,
                "observed_at": "2025-03-02T10:00:00Z"}


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"value_per_unit": "0"}, "value_per_unit", "greater than 0"),
    ({"value_per_unit": "-2"}, "value_per_unit", "greater than 0"),
    ({"key": "Not A Slug"}, "key", "pattern"),
    ({"key": "losses_prevented"}, "key", "already has a KPI"),
    ({"value_per_unit": "NaN"}, "value_per_unit", "finite"),
])
def test_bad_kpis_are_refused(client, db, scorer, pm, fields, field, words):
    assert add_kpi(client, pm, scorer.id).status_code == 201
    response = add_kpi(client, pm, scorer.id, **fields)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]
    assert count(db, Kpi) == 1


@pytest.mark.parametrize(("fields", "status", "field", "words"), [
    ({"model": "nope"}, 422, "1.model", "has no model named 'nope'"),
    ({"team": "nope"}, 422, "1.team", "unknown team 'nope'"),
    ({"kpi": "nope"}, 422, "1.kpi", "has no KPI 'nope'"),
    ({"month": "2025-13"}, 422, "1.month", "YYYY-MM"),
    ({"month": "2025-01-05"}, 422, "1.month", "YYYY-MM"),
    ({"month": "2999-01"}, 422, "1.month", "in the future"),
    ({"amount": "NaN"}, 422, "1.amount", "finite"),
    ({"amount": "Infinity"}, 422, "1.amount", "finite"),
    ({"amount": "1e15"}, 422, "1.amount", "less than or equal"),
    ({"external_id": "used", "amount": "11"}, 409, "1.external_id", "other content"),
])
def test_bad_kpi_observations_are_refused_and_nothing_is_stored(
        client, db, scorer, pm, fields, status, field, words):
    add_kpi(client, pm, scorer.id)
    client.post(f"{API}/kpi-observations", headers=pm,
                json=GOOD_KPI_OBS | {"month": "2024-12", "external_id": "used"})
    before = count(db, KpiObservation)
    response = client.post(f"{API}/kpi-observations", headers=pm,
                           json=[GOOD_KPI_OBS, GOOD_KPI_OBS | {"month": "2025-02"} | fields])
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]
    assert count(db, KpiObservation) == before == 1


@pytest.mark.parametrize(("fields", "status", "field", "words"), [
    ({"value": "NaN"}, 422, "1.value", "finite"),
    ({"value": "-Infinity"}, 422, "1.value", "finite"),
    ({"observed_at": "2025-03-02T10:00:00"}, 422, "1.observed_at", "time zone"),
    ({"observed_at": "2999-03-02T10:00:00Z"}, 422, "1.observed_at", "in the future"),
    ({"model": "nope"}, 422, "1.model", "has no model named"),
    ({"external_id": "used", "value": 0.1}, 409, "1.external_id", "other content"),
])
def test_bad_quality_observations_are_refused_and_nothing_is_stored(
        client, db, scorer, pm, fields, status, field, words):
    client.post(f"{API}/quality-observations", headers=pm,
                json=GOOD_QUALITY | {"external_id": "used"})
    response = client.post(f"{API}/quality-observations", headers=pm,
                           json=[GOOD_QUALITY, GOOD_QUALITY | fields])
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]
    assert count(db, QualityObservation) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"tolerance": "1.5"}, "tolerance"), ({"tolerance": "-0.1"}, "tolerance"),
])
def test_a_tolerance_outside_0_to_1_is_refused(client, db, scorer, pm, body, field):
    response = client.put(f"{API}/models/{scorer.id}/quality-metrics/auc", headers=pm, json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert count(db, QualityMetric) == 0


def test_annual_value_patch_checks_the_order_and_stores_nothing(client, db, scorer, pm):
    url = f"{API}/models/{scorer.id}"
    response = client.patch(url, headers=pm, json={"annual_value_low": "9000", "version": 1})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["annual_value_low"]
    response = client.patch(url, headers=pm, json={"annual_value_low": "1000",
                                                   "annual_value_likely": "2000",
                                                   "annual_value_high": "3000", "version": 1})
    assert response.status_code == 200
    assert (response.json()["annual_value_likely"], response.json()["annual_value_high"]) == (
        "2000.00", "3000.00")
    db.expire_all()
    assert db.get(MLModel, scorer.id).annual_value_low == D(1000)


def test_a_retried_post_with_the_same_idempotency_key_is_replayed(client, db, scorer, pm):
    add_kpi(client, pm, scorer.id)
    body = GOOD_KPI_OBS | {"external_id": "retry-1"}
    headers = pm | {"Idempotency-Key": "kpi-retry"}
    first = client.post(f"{API}/kpi-observations", headers=headers, json=body)
    again = client.post(f"{API}/kpi-observations", headers=headers, json=body)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert count(db, KpiObservation) == 1

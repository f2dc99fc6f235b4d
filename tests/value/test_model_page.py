"""A model's value page: monthly value, KPIs with their amounts, quality over time; the forms
that add a KPI and record a month (bad input: 422, the field highlighted, nothing stored); the
live PERT preview of the model form."""

import json
from datetime import date
from decimal import Decimal as D

import plotly.graph_objects as go
import pytest
from sqlalchemy import select

from app.value.formulas import AnnualValue, Event, Metric, ModelFacts, Observation
from app.value.models import Kpi, KpiObservation
from tests import factories
from tests.helpers import at, count, page_csrf, soup_of
from tests.value.helpers import store

DAILY = AnnualValue(D(3650), D(7300), D(10950))


@pytest.fixture
def team(db):
    return factories.make_team(db, name="Fraud detection", slug="fraud")


@pytest.fixture
def model(db, team):
    model = store(db, team, ModelFacts(
        "scorer", DAILY, events=[Event("deployed", at("2025-01-01"))],
        measured={date(2025, 6, 1): D(100)},
        metrics=[Metric("rmse", False, D("0.05"), [Observation(0.40, at("2025-01-02")),
                                                   Observation(0.50, at("2025-03-01"))])]))
    db.commit()
    return model


def test_the_value_page_shows_quality_kpis_and_months(client, db, as_role, team, model):
    as_role("viewer", teams=[team])
    page = soup_of(client.get(f"/models/{model.id}/value"))
    assert page.select_one("h1").get_text() == "Value of scorer"
    assert [r["data-kpi"] for r in page.select("table[data-testid=kpis] tbody tr")] == ["usd"]
    quality = json.loads(page.select_one("figure#quality-1-chart script").string)
    go.Figure(quality)
    assert quality["data"][1]["y"] == [0.4, 0.4]  # the baseline
    assert "degraded" in page.select_one("#quality-1").get_text()
    monthly = json.loads(page.select_one("figure#monthly-value script").string)
    go.Figure(monthly)
    assert len(monthly["data"][0]["x"]) == 12
    assert page.select("form") == [] or all("kpi" not in f["action"] for f in page.select("form"))


def test_a_pm_adds_a_kpi_and_records_a_month(client, db, as_role, team, model):
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/models/{model.id}/value")
    response = client.post(f"/models/{model.id}/kpis", data={
        "csrf_token": csrf, "key": "tickets", "name": "Tickets deflected", "unit": "tickets",
        "value_per_unit": "4.5"})
    assert response.status_code == 303
    response = client.post(f"/models/{model.id}/kpi-values", data={
        "csrf_token": csrf, "month": "2025-05", "amount_tickets": "1000", "amount_usd": ""})
    assert response.status_code == 303, response.text
    stored = db.scalars(select(KpiObservation).where(KpiObservation.month == date(2025, 5, 1))
                        ).all()
    assert [(o.amount, o.source) for o in stored] == [(D(1000), "manual")]


@pytest.mark.parametrize(("form", "field", "words"), [
    ({"month": "2999-01", "amount_usd": "5"}, "month", "in the future"),
    ({"month": "2025-05", "amount_usd": "NaN"}, "amount_usd", "finite"),
    ({"month": "2025-05", "amount_usd": "1e20"}, "amount_usd", "less than or equal"),
    ({"month": "May", "amount_usd": "5"}, "month", "YYYY-MM"),
])
def test_a_bad_month_is_refused_with_the_field_highlighted(client, db, as_role, team, model,
                                                           form, field, words):
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/models/{model.id}/value")
    before = count(db, KpiObservation)
    response = client.post(f"/models/{model.id}/kpi-values", data={"csrf_token": csrf} | form)
    assert response.status_code == 422
    page = soup_of(response)
    assert words in page.select_one(f"#{field}-error").get_text()
    assert page.select_one(f"#{field}")["aria-invalid"] == "true"
    assert count(db, KpiObservation) == before


def test_a_bad_kpi_is_refused_with_the_field_highlighted(client, db, as_role, team, model):
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/models/{model.id}/value")
    response = client.post(f"/models/{model.id}/kpis", data={
        "csrf_token": csrf, "key": "usd", "name": "Again", "unit": "USD", "value_per_unit": "0"})
    assert response.status_code == 422
    page = soup_of(response)
    assert page.select_one("#value_per_unit")["aria-invalid"] == "true"
    assert count(db, Kpi) == 1


def test_the_pert_preview_of_the_model_form(client, db, as_role, team):
    as_role("pm", teams=[team])
    response = client.get("/model-value/preview", params={
        "annual_value_low": "60000", "annual_value_likely": "120000",
        "annual_value_high": "240000"}, headers={"HX-Request": "true"})
    # (60 000 + 4 × 120 000 + 240 000) / 6 = 130 000
    assert "Expected $130K a year" in soup_of(response).get_text()
    form = soup_of(client.get("/models/new"))
    assert form.select_one("fieldset[hx-get]")["hx-get"] == "/model-value/preview"

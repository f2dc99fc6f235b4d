"""/api/v1/settings."""

from decimal import Decimal

from app.settings.models import ORG_SETTINGS_ID, OrgSettings
from tests.api import bearer

PROBLEM = "application/problem+json"


def stored_settings(db) -> OrgSettings:
    db.expire_all()
    return db.get(OrgSettings, ORG_SETTINGS_ID)


def test_reader_gets_the_seeded_settings(client, db):
    response = client.get("/api/v1/settings", headers=bearer(db, "viewer"))
    assert response.status_code == 200
    assert response.json() == {"name": "Northstar", "currency": "USD",
                               "fiscal_year_start_month": 1, "working_weeks_per_year": "46.0",
                               "working_hours_per_week": "40.0", "version": 1,
                               "target_lead_time_days": 30, "staleness_days": 180}


def test_admin_changes_currency_and_working_weeks(client, db):
    headers = bearer(db, "admin")
    response = client.patch("/api/v1/settings", headers=headers,
                            json={"currency": "EUR", "working_weeks_per_year": 45, "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["currency"] == "EUR"
    assert response.json()["working_weeks_per_year"] == "45.0"
    assert response.json()["fiscal_year_start_month"] == 1  # untouched
    assert client.get("/api/v1/settings", headers=headers).json() == response.json()
    assert stored_settings(db).currency == "EUR"
    assert stored_settings(db).working_weeks_per_year == Decimal("45")


def test_fiscal_month_13_is_refused_and_nothing_changes(client, db):
    headers = bearer(db, "admin")
    response = client.patch("/api/v1/settings", headers=headers,
                            json={"currency": "EUR", "fiscal_year_start_month": 13})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["fiscal_year_start_month"]
    assert (stored_settings(db).currency, stored_settings(db).fiscal_year_start_month) == ("USD", 1)


def test_bad_currency_and_unknown_field_are_refused(client, db):
    headers = bearer(db, "admin")
    bad = client.patch("/api/v1/settings", headers=headers, json={"currency": "EURO"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["currency"]
    extra = client.patch("/api/v1/settings", headers=headers, json={"timezone": "UTC"})
    assert extra.status_code == 422
    assert [e["field"] for e in extra.json()["errors"]] == ["timezone"]
    assert stored_settings(db).currency == "USD"


def test_only_admins_change_settings(client, db):
    for role in ("pm", "leader", "viewer"):
        response = client.patch("/api/v1/settings", headers=bearer(db, role),
                                json={"currency": "EUR"})
        assert response.status_code == 403, role
        assert response.headers["content-type"] == PROBLEM
    assert stored_settings(db).currency == "USD"


def test_lower_case_currency_is_stored_upper_case(client, db):
    response = client.patch("/api/v1/settings", json={"currency": "eur", "version": 1},
                            headers=bearer(db))
    assert response.status_code == 200
    assert response.json()["currency"] == "EUR"
    assert stored_settings(db).currency == "EUR"


def test_an_admin_token_bound_to_one_team_may_not_change_org_settings(client, db):
    from tests import factories

    team = factories.make_team(db)
    response = client.patch("/api/v1/settings", json={"currency": "GBP"},
                            headers=bearer(db, "admin", team_id=team.id))
    assert response.status_code == 403
    assert "bound to one team" in response.json()["detail"]
    assert stored_settings(db).currency == "USD"

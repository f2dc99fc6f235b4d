"""The metrics endpoints take `quarter=2026-Q3` as well as `from`/`to`: the same answer as the
quarter's first and last day, fiscal quarters included; both at once, or a bad quarter, is a
422 naming `quarter`."""

import pytest

from app.settings.service import get_org_settings
from tests.api import bearer
from tests.dashboards.test_pages import seed_team

ENDPOINTS = ["/api/v1/metrics/cost", "/api/v1/metrics/velocity", "/api/v1/metrics/compute",
             "/api/v1/metrics/roi"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_quarter_is_the_same_as_its_first_and_last_day(client, db, path):
    seed_team(db, 1)
    headers = bearer(db, "leader")
    db.commit()
    by_quarter = client.get(path, params={"quarter": "2026-Q3"}, headers=headers)
    by_dates = client.get(path, params={"from": "2026-07-01", "to": "2026-09-30"},
                          headers=headers)
    assert by_quarter.status_code == 200, by_quarter.text
    assert by_quarter.json() == by_dates.json()


def test_a_fiscal_quarter_follows_the_org_settings(client, db):
    seed_team(db, 1)
    get_org_settings(db).fiscal_year_start_month = 10  # FY2027 starts in October 2026
    headers = bearer(db, "leader")
    db.commit()
    body = client.get("/api/v1/metrics/cost", params={"quarter": "2027-Q1"},
                      headers=headers).json()
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-12-31")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("params, message", [
    ({"quarter": "2026-Q5"}, "is not a quarter"),
    ({"quarter": "Q3"}, "is not a quarter"),
    ({"quarter": "2026-Q3", "from": "2026-07-01"}, "not both"),
])
def test_a_bad_quarter_is_a_422_naming_it(client, db, path, params, message):
    headers = bearer(db, "leader")
    db.commit()
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert message in fields["quarter"]

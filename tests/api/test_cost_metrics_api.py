"""/api/v1/metrics/cost returns docs/product.md's hand-worked figures, split and scoped exactly."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from app.core import clock
from app.core.clock import utcnow
from tests import factories
from tests.api import bearer

PROBLEM = "application/problem+json"
COST = "/api/v1/metrics/cost"
Q1 = "from=2026-01-01&to=2026-03-31"
MONEY = ("cost", "cost_low", "cost_high", "annual_run_rate", "annual_run_rate_low",
         "annual_run_rate_high")


def hand_worked_quarter(db):
    """The data of tests/pain_points/test_cost_queries.py::test_hand_worked_quarter."""
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": (10, D("120"))})
    ml = factories.persona(db, "ml-engineer")  # default $120, no override in this team
    recurring = factories.make_pain_point(db, team)  # run-rate 13/6 × 10 × 46 × 120 = 119,600
    factories.make_pain_point(db, team, kind="one_time", hours_low=D(12), hours_likely=D(20),
                              hours_high=D(40), observed_since=date(2026, 2, 10),
                              stage="monitoring")
    factories.make_pain_point(db, team, persona_id=ml.id, hours_low=D(2), hours_likely=D(2),
                              hours_high=D(2), people_affected=5, status="resolved",
                              observed_since=date(2026, 1, 5), resolved_on=date(2026, 2, 2),
                              stage="experimentation")
    factories.make_pain_point(db, team, deleted_at=utcnow())  # counts nowhere
    db.commit()
    return team, recurring


def get(client, headers, query: str):
    response = client.get(f"{COST}?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_hand_worked_quarter_figures(client, db):
    hand_worked_quarter(db)
    body = get(client, bearer(db, "leader"), f"{Q1}&team=fraud")
    # 119,600 × 64/261 + 26,400 + 55,200 × 20/261 = 59,957.09
    assert body == {
        "currency": "USD", "from": "2026-01-01", "to": "2026-03-31", "group_by": None,
        "total": {"cost": "59957.09", "cost_low": body["total"]["cost_low"],
                  "cost_high": body["total"]["cost_high"],
                  "annual_run_rate": "119600.00", "annual_run_rate_low": "55200.00",
                  "annual_run_rate_high": "220800.00", "hours_per_week": "21.67",
                  "pain_points": 3, "active_pain_points": 1},
        "groups": [],
    }
    # Low: 55,200 × 64/261 + 12 × 10 × 120 + 55,200 × 20/261; high: 220,800 × 64/261 + 48,000
    # + 55,200 × 20/261 (the resolved one has a flat 2 h estimate).
    low = D(55200) * 64 / 261 + D(14400) + D(55200) * 20 / 261
    high = D(220800) * 64 / 261 + D(48000) + D(55200) * 20 / 261
    assert body["total"]["cost_low"] == str(low.quantize(D("0.01")))
    assert body["total"]["cost_high"] == str(high.quantize(D("0.01")))


def test_group_by_stage_sums_to_the_total(client, db):
    hand_worked_quarter(db)
    body = get(client, bearer(db, "admin"), f"{Q1}&group_by=stage")
    groups = body["groups"]
    # Lifecycle order, labels are the stage names, only stages with pain points.
    assert [g["key"] for g in groups] == ["experimentation", "deployment", "monitoring"]
    assert groups[1]["label"] == "Deployment"
    assert [g["pain_points"] for g in groups] == [1, 1, 1]
    assert groups[2]["cost"] == "26400.00" and groups[2]["annual_run_rate"] == "0.00"
    cents = D("0.01")
    assert [g["cost"] for g in groups] == [
        str((D(55200) * 20 / 261).quantize(cents)), str((D(119600) * 64 / 261).quantize(cents)),
        "26400.00"]
    # Each figure is rounded to cents when shown, so the shown groups add up to the shown total
    # within half a cent per group (106,372.42 against 106,372.41 for cost_high here).
    for name in (*MONEY, "hours_per_week"):
        gap = abs(sum(D(g[name]) for g in groups) - D(body["total"][name]))
        assert gap <= cents * len(groups) / 2, name
    assert sum(g["pain_points"] for g in groups) == body["total"]["pain_points"]


def test_group_by_persona_and_team(client, db):
    hand_worked_quarter(db)
    headers = bearer(db, "admin")
    personas = get(client, headers, f"{Q1}&group_by=persona")["groups"]
    assert [(g["key"], g["cost"]) for g in personas] == [
        ("data-scientist", str((D(119600) * 64 / 261 + 26400).quantize(D("0.01")))),
        ("ml-engineer", str((D(55200) * 20 / 261).quantize(D("0.01")))),
    ]
    teams = get(client, headers, f"{Q1}&group_by=team")["groups"]
    assert [(g["key"], g["cost"]) for g in teams] == [("fraud", "59957.09")]


def test_filters_by_persona_and_stage(client, db):
    hand_worked_quarter(db)
    headers = bearer(db, "admin")
    ml = get(client, headers, f"{Q1}&persona=ml-engineer")["total"]
    assert (ml["cost"], ml["pain_points"]) == (
        str((D(55200) * 20 / 261).quantize(D("0.01"))), 1)
    monitoring = get(client, headers, f"{Q1}&stage=monitoring")["total"]
    assert (monitoring["cost"], monitoring["pain_points"]) == ("26400.00", 1)


def test_a_deleted_pain_point_leaves_the_figures(client, db):
    team, recurring = hand_worked_quarter(db)
    headers = bearer(db, "admin")
    assert get(client, headers, Q1)["total"]["cost"] == "59957.09"
    assert client.delete(f"/api/v1/pain-points/{recurring.id}", headers=headers).status_code == 200
    after = get(client, headers, Q1)["total"]
    # Without the recurring one: 26,400 + 55,200 × 20/261.
    assert after["cost"] == str((D(26400) + D(55200) * 20 / 261).quantize(D("0.01")))
    assert (after["annual_run_rate"], after["hours_per_week"], after["pain_points"]) == (
        "0.00", "0.00", 2)
    assert client.post(f"/api/v1/pain-points/{recurring.id}/restore",
                       headers=headers).status_code == 200
    assert get(client, headers, Q1)["total"]["cost"] == "59957.09"


def test_run_rate_and_hours_per_week_are_as_of_to(client, db):
    hand_worked_quarter(db)
    headers = bearer(db, "admin")
    # On 2026-01-31 the ML engineers' pain point (resolved 2026-02-02) still runs: 2 h × 5.
    january = get(client, headers, "from=2026-01-01&to=2026-01-31")["total"]
    assert january["annual_run_rate"] == "174800.00"  # 119,600 + 55,200
    assert january["hours_per_week"] == "31.67"  # 13/6 × 10 + 2 × 5


def test_defaults_to_the_current_fiscal_quarter(client, db):
    from app.core.periods import quarter_of
    from app.settings.models import ORG_SETTINGS_ID, OrgSettings

    db.get(OrgSettings, ORG_SETTINGS_ID).fiscal_year_start_month = 2
    db.commit()
    current = quarter_of(clock.today(), 2)
    body = get(client, bearer(db, "viewer"), "")
    assert (body["from"], body["to"]) == (current.first_day.isoformat(),
                                          current.last_day.isoformat())
    assert body["total"]["cost"] == "0.00" and body["total"]["pain_points"] == 0


def test_viewer_figures_cover_its_own_teams_only(client, db):
    team, _ = hand_worked_quarter(db)
    other = factories.make_team(db, slug="search", headcounts={"data-scientist": (3, D("100"))})
    factories.make_pain_point(db, other, observed_since=date(2024, 1, 1))
    own_headers = bearer(db, "viewer", teams=[team])
    assert get(client, own_headers, Q1)["total"]["cost"] == "59957.09"
    teams = get(client, own_headers, f"{Q1}&group_by=team")["groups"]
    assert [g["key"] for g in teams] == ["fraud"]
    everything = get(client, bearer(db, "leader"), Q1)["total"]
    assert D(everything["cost"]) > D("59957.09") and everything["pain_points"] == 4


def problem(response, status: int, fields: list[str]) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert [e["field"] for e in body["errors"]] == fields, body
    return body


def test_viewer_asking_for_another_team_is_refused_naming_team(client, db):
    team, _ = hand_worked_quarter(db)
    factories.make_team(db, slug="search")
    headers = bearer(db, "viewer", teams=[team])
    problem(client.get(f"{COST}?{Q1}&team=search", headers=headers), 403, ["team"])
    assert client.get(f"{COST}?{Q1}&team=fraud", headers=headers).status_code == 200


in_a_year_and_more = (clock.today() + timedelta(days=367)).isoformat()


@pytest.mark.parametrize(("query", "fields"), [
    ("from=2026-03-31&to=2026-01-01", ["to"]),
    ("from=1999-12-31&to=2026-01-01", ["from"]),
    (f"from=2026-01-01&to={in_a_year_and_more}", ["to"]),
    ("from=2026-13-01", ["from"]),
    ("from=2026-01-01&to=31/03/2026", ["to"]),
    ("group_by=colour", ["group_by"]),
    ("team=no-such-team", ["team"]),
    ("persona=astronaut", ["persona"]),
    ("stage=nirvana", ["stage"]),
    ("team=nope&stage=nirvana", ["team", "stage"]),
])
def test_bad_parameters_are_422_naming_them(client, db, query, fields):
    problem(client.get(f"{COST}?{query}", headers=bearer(db, "leader")), 422, fields)


def test_a_period_up_to_a_year_ahead_is_accepted(client, db):
    ahead = (clock.today() + timedelta(days=300)).isoformat()
    assert client.get(f"{COST}?to={ahead}", headers=bearer(db, "leader")).status_code == 200


def test_openapi_describes_defaults_and_as_of(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/metrics/cost"]["get"]
    assert operation["operationId"] == "api.metrics.cost"
    assert "current fiscal quarter" in operation["description"]
    assert "as of `to`" in operation["description"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"from", "to", "group_by", "team", "persona", "stage"} <= names

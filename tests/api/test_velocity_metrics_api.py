"""/api/v1/metrics/velocity and /metrics/compute: docs/product.md's hand-worked figures, periods,
fiscal quarters, team scope, and a pipeline's journey from posting events to its lead time."""

from datetime import date
from decimal import Decimal as D

import pytest

from app.core import clock
from app.ml_models.models import ComputeCost, MLModel
from app.settings.service import get_org_settings
from app.teams.models import Team
from tests import factories
from tests.api import bearer
from tests.velocity.test_velocity_queries import model, seed

PROBLEM = "application/problem+json"
VELOCITY = "/api/v1/metrics/velocity"
COMPUTE = "/api/v1/metrics/compute"
TODAY = date(2026, 11, 29)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def seeded(db) -> str:
    """tests/velocity/test_velocity_queries.py's events, committed; the seeded team's slug."""
    filters = seed(db)
    db.commit()
    return db.get(Team, next(iter(filters.team_ids))).slug


def get(client, headers, url: str) -> dict:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def fiscal_year_starts_in(db, month: int) -> None:
    get_org_settings(db).fiscal_year_start_month = month
    db.commit()


def test_the_hand_worked_quarter(client, db, seeded):
    body = get(client, bearer(db, "leader"), f"{VELOCITY}?from=2026-01-01&to=2026-03-31"
                                             f"&team={seeded}")
    assert body == {
        "from": "2026-01-01", "to": "2026-03-31",
        # a: 41 days, b: 59 (from its earliest event), d: 101; p90 = 59 + 0.8 × 42
        "lead_time_days": {"median": "59.00", "p90": "92.60", "count": 3},
        "deployments": 4, "rollbacks": 1,
        "deployment_frequency_per_week": "0.31",  # 4 ÷ (90 ÷ 7)
        "change_failure_rate": "0.2500",
        "time_to_restore_days": {"median": "2.00", "count": 1, "unrestored": 0},
        # Only model a has adjacent pairs; b's and d's milestones bridge none.
        "stage_dwell_days": [
            {"from": "ideated", "to": "data_ready", "median": "5.00", "count": 1},
            {"from": "data_ready", "to": "experiment_started", "median": "10.00", "count": 1},
            {"from": "experiment_started", "to": "validated", "median": "12.00", "count": 1},
            {"from": "validated", "to": "registered", "median": "4.00", "count": 1},
            {"from": "registered", "to": "deployed", "median": "10.00", "count": 1},
        ],
        # a and c were ideated in Q1; a was deployed within 180 days. Q1 + 180 days < today.
        "production_rate": [{"cohort": "2026-Q1", "ideated": 2, "deployed": 1, "rate": "0.5000",
                             "provisional": False}],
        "lead_time_by_quarter": [{"quarter": "2026-Q1", "median": "59.00", "p90": "92.60",
                                  "count": 3}],
    }


def test_quarters_overlapping_the_period_and_empty_figures(client, db, seeded):
    body = get(client, bearer(db, "admin"), f"{VELOCITY}?from=2025-11-15&to=2026-01-31"
                                            f"&team={seeded}")
    assert body["lead_time_days"] == {"median": "101.00", "p90": "101.00", "count": 1}  # d
    # Trends cover whole quarters, not only the part inside the period.
    assert body["lead_time_by_quarter"] == [
        {"quarter": "2025-Q4", "median": None, "p90": None, "count": 0},
        {"quarter": "2026-Q1", "median": "59.00", "p90": "92.60", "count": 3},
    ]
    # d (ideated 2025-10-01) is 2025-Q4's cohort, deployed after 101 days.
    assert [(c["cohort"], c["ideated"], c["deployed"], c["rate"])
            for c in body["production_rate"]] == [("2025-Q4", 1, 1, "1.0000"),
                                                  ("2026-Q1", 2, 1, "0.5000")]
    empty = get(client, bearer(db, "admin"), f"{VELOCITY}?from=2024-01-01&to=2024-03-31"
                                             f"&team={seeded}")
    assert empty["lead_time_days"] == {"median": None, "p90": None, "count": 0}
    assert (empty["deployments"], empty["change_failure_rate"]) == (0, None)
    assert empty["deployment_frequency_per_week"] == "0.00"
    assert empty["time_to_restore_days"] == {"median": None, "count": 0, "unrestored": 0}
    assert all(d["median"] is None and d["count"] == 0 for d in empty["stage_dwell_days"])
    assert empty["production_rate"] == [{"cohort": "2024-Q1", "ideated": 0, "deployed": 0,
                                         "rate": None, "provisional": False}]


def test_a_young_cohort_is_provisional(client, db, seeded):
    body = get(client, bearer(db, "admin"), f"{VELOCITY}?from=2026-07-01&to=2026-09-30")
    assert body["production_rate"] == [{"cohort": "2026-Q3", "ideated": 0, "deployed": 0,
                                        "rate": None, "provisional": True}]


def test_quarters_follow_the_fiscal_year(client, db, seeded):
    fiscal_year_starts_in(db, 2)  # FY2027 runs February 2026 – January 2027
    body = get(client, bearer(db, "admin"), f"{VELOCITY}?from=2026-01-01&to=2026-03-31"
                                            f"&team={seeded}")
    assert body["lead_time_by_quarter"] == [
        {"quarter": "2026-Q4", "median": "101.00", "p90": "101.00", "count": 1},  # Nov–Jan: d
        # Feb–Apr: a (41) and b (59); p90 = 41 + 0.9 × 18
        {"quarter": "2027-Q1", "median": "50.00", "p90": "57.20", "count": 2},
    ]


def test_the_default_period_is_the_current_fiscal_quarter(client, db, seeded):
    headers = bearer(db, "admin")
    body = get(client, headers, VELOCITY)
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-12-31")
    assert [q["quarter"] for q in body["lead_time_by_quarter"]] == ["2026-Q4"]
    fiscal_year_starts_in(db, 4)  # November is in FY2027's third quarter
    body = get(client, headers, VELOCITY)
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-12-31")
    assert [q["quarter"] for q in body["lead_time_by_quarter"]] == ["2027-Q3"]
    fiscal_year_starts_in(db, 2)
    body = get(client, headers, f"{VELOCITY}?to=2027-01-31")
    assert (body["from"], body["to"]) == ("2026-11-01", "2027-01-31")
    compute = get(client, headers, COMPUTE)
    assert (compute["from"], compute["to"]) == ("2026-11-01", "2027-01-31")


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=1999-12-31", "from"),
    ("from=2026-03-01&to=2026-02-28", "to"), ("to=2030-01-01", "to"), ("team=nope", "team"),
])
@pytest.mark.parametrize("url", [VELOCITY, COMPUTE])
def test_bad_periods_and_teams_are_refused_naming_the_parameter(client, db, url, query, field):
    response = client.get(f"{url}?{query}", headers=bearer(db, "admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize("url", [VELOCITY, COMPUTE])
def test_a_viewer_reads_its_own_teams_only(client, db, url):
    fraud = factories.make_team(db, slug="fraud")
    search = factories.make_team(db, slug="search")
    model(db, fraud, "ours", ("ideated", "2026-01-01"), ("deployed", "2026-01-11"))
    theirs = model(db, search, "theirs", ("ideated", "2026-01-01"), ("deployed", "2026-01-21"))
    db.add(ComputeCost(model_id=theirs.id, month=date(2026, 1, 1), amount=D(5)))
    db.commit()
    headers = bearer(db, "viewer", teams=[fraud])
    denied = client.get(f"{url}?from=2026-01-01&to=2026-03-31&team=search", headers=headers)
    assert denied.status_code == 403 and denied.headers["content-type"] == PROBLEM
    body = get(client, headers, f"{url}?from=2026-01-01&to=2026-03-31")
    if url == VELOCITY:
        assert body["lead_time_days"] == {"median": "10.00", "p90": "10.00", "count": 1}
        everyone = get(client, bearer(db, "leader"), f"{url}?from=2026-01-01&to=2026-03-31")
        assert everyone["lead_time_days"]["count"] == 2
    else:
        assert (body["total"], body["by_model"]) == ("0.00", [])


def test_a_pipeline_posts_events_and_sees_its_lead_time(client, db):
    team = factories.make_team(db, slug="recsys")
    headers = bearer(db, "pm", teams=[team], team_id=team.id)
    posted = client.post("/api/v1/events", headers=headers, json=[
        {"team": "recsys", "model": "Next best offer", "type": "deployed",
         "occurred_at": "2026-06-11T12:00:00Z", "external_id": "deploy-1"},  # out of order
        {"team": "recsys", "model": "Next best offer", "type": "ideated",
         "occurred_at": "2026-06-01T02:00:00+02:00", "external_id": "idea-1"},
    ])
    assert posted.status_code == 200, posted.text
    body = get(client, headers, f"{VELOCITY}?from=2026-06-01&to=2026-06-30&team=recsys")
    # 2026-06-01 00:00 UTC to 2026-06-11 12:00 UTC
    assert body["lead_time_days"] == {"median": "10.50", "p90": "10.50", "count": 1}
    assert body["deployments"] == 1
    assert body["production_rate"][0] == {"cohort": "2026-Q2", "ideated": 1, "deployed": 1,
                                          "rate": "1.0000", "provisional": True}
    [listed] = get(client, headers, "/api/v1/models?team=recsys")["items"]
    assert (listed["name"], listed["lead_time_days"]) == ("Next best offer", "10.50")


def test_compute_spend_per_month_and_model(client, db):
    fraud = factories.make_team(db, slug="fraud")
    search = factories.make_team(db, slug="search")
    bot = MLModel(team_id=fraud.id, name="Support bot", kind="llm")
    scorer = MLModel(team_id=fraud.id, name="Scorer")
    ranker = MLModel(team_id=search.id, name="Ranker")
    db.add_all([bot, scorer, ranker])
    db.flush()
    for m, month, amount, hours in (
            (bot, 1, "1000.10", "10"), (bot, 2, "2000.20", "20.5"), (bot, 4, "9999", "9"),
            (scorer, 1, "100.05", "1"), (ranker, 3, "50", "0"), (ranker, 2, "0.01", "0.25")):
        db.add(ComputeCost(model_id=m.id, month=date(2026, month, 1), amount=D(amount),
                           gpu_hours=D(hours)))
    get_org_settings(db).currency = "EUR"
    db.commit()
    headers = bearer(db, "leader")
    body = get(client, headers, f"{COMPUTE}?from=2026-01-15&to=2026-03-31")
    assert body == {
        "from": "2026-01-15", "to": "2026-03-31", "currency": "EUR",
        "total": "3150.36", "gpu_hours": "31.75",
        "by_month": [{"month": "2026-01-01", "amount": "1100.15", "gpu_hours": "11.00"},
                     {"month": "2026-02-01", "amount": "2000.21", "gpu_hours": "20.75"},
                     {"month": "2026-03-01", "amount": "50.00", "gpu_hours": "0.00"}],
        "by_model_total": 3, "limit": 100, "offset": 0,
        "by_model": [
            {"model_id": bot.id, "model": "Support bot", "amount": "3000.30",
             "gpu_hours": "30.50"},
            {"model_id": scorer.id, "model": "Scorer", "amount": "100.05", "gpu_hours": "1.00"},
            {"model_id": ranker.id, "model": "Ranker", "amount": "50.01", "gpu_hours": "0.25"},
        ],
    }
    fraud_only = get(client, headers, f"{COMPUTE}?from=2026-01-01&to=2026-12-31&team=fraud")
    assert fraud_only["total"] == "13099.35"
    assert [m["model"] for m in fraud_only["by_model"]] == ["Support bot", "Scorer"]


def test_compute_by_model_is_windowed_and_the_totals_cover_every_model(client, db):
    fraud = factories.make_team(db, slug="fraud")
    models = [MLModel(team_id=fraud.id, name=f"m{i:02d}") for i in range(12)]
    db.add_all(models)
    db.flush()
    # Two models share each amount: the id breaks the tie, so pages neither repeat nor skip.
    for i, m in enumerate(models):
        db.add(ComputeCost(model_id=m.id, month=date(2026, 2, 1), amount=D(100 - 10 * (i // 2)),
                           gpu_hours=D(1)))
    db.commit()
    headers = bearer(db, "leader")
    url = f"{COMPUTE}?from=2026-01-01&to=2026-03-31"
    whole = get(client, headers, f"{url}&limit=500")
    assert whole["by_model_total"] == 12 and len(whole["by_model"]) == 12
    ids = [m["model_id"] for m in whole["by_model"]]
    assert ids == [m.id for m in models]  # highest spend first, then by id
    pages = [get(client, headers, f"{url}&limit=5&offset={o}") for o in (0, 5, 10)]
    assert [len(p["by_model"]) for p in pages] == [5, 5, 2]
    assert [m["model_id"] for p in pages for m in p["by_model"]] == ids
    for page in pages:
        assert (page["by_model_total"], page["total"], page["gpu_hours"]) == (
            12, whole["total"], whole["gpu_hours"])
        assert page["by_month"] == whole["by_month"]
    assert whole["total"] == "900.00"  # 2 × (100 + 90 + … + 50)
    assert get(client, headers, f"{url}&offset=12")["by_model"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"),
    ("offset=-1", "offset"), ("offset=x", "offset"),
])
def test_bad_windows_of_compute_are_refused_naming_the_parameter(client, db, query, field):
    response = client.get(f"{COMPUTE}?{query}", headers=bearer(db, "leader"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]

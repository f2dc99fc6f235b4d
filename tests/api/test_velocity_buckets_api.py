"""/api/v1/metrics/velocity/lead-time and /deployments: lead time and deployments by month or
fiscal quarter. Each bucket gives what /metrics/velocity gives for the bucket's days; the
hand-worked figures are tests/velocity/test_velocity_queries.py's."""

from datetime import date
from urllib.parse import urlencode

import pytest

from app.settings.service import get_org_settings
from app.teams.models import Team
from tests import factories
from tests.api import bearer
from tests.helpers import assert_problem, get_json
from tests.velocity.test_velocity_queries import model_with_events, seed

VELOCITY = "/api/v1/metrics/velocity"
LEAD_TIME = f"{VELOCITY}/lead-time"
DEPLOYMENTS = f"{VELOCITY}/deployments"
TODAY = date(2026, 11, 29)
pytestmark = pytest.mark.usefixtures("fixed_today")


@pytest.fixture
def three_teams(db) -> dict[str, str]:
    """The seeded team (a, b, c, d), the "elsewhere" team, and a third one deploying and rolling
    back over several months: their slugs."""
    filters = seed(db)
    seeded, = filters.team_ids
    ranking = factories.make_team(db, slug="ranking")
    model_with_events(db, ranking, "ranker", ("ideated", "2025-09-01"),
                      ("deployed", "2025-11-20"), ("rolled_back", "2025-11-21"),
                      ("deployed", "2025-11-25"), ("deployed", "2026-01-31"),
                      ("rolled_back", "2026-02-01"), ("rolled_back", "2026-02-02"),
                      ("deployed", "2026-02-10"))
    model_with_events(db, ranking, "reranker", ("ideated", "2025-12-24"),
                      ("deployed", "2026-03-30"))
    db.commit()
    return {"seeded": db.get(Team, seeded).slug, "ranking": "ranking"}


def _url(path: str, **params: str) -> str:
    return f"{path}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def _as_velocity_gives(client, headers, body: dict, team: str | None) -> None:
    """Every bucket equals /metrics/velocity over the bucket's days."""
    for bucket in body["buckets"]:
        whole = get_json(client, headers, _url(VELOCITY, team=team, **{
            "from": bucket["from"], "to": bucket["to"]}))
        if "count" in bucket:
            assert {k: bucket[k] for k in ("median", "p90", "count")} == \
                whole["lead_time_days"], bucket["period"]
        else:
            assert (bucket["deployments"], bucket["rollbacks"],
                    bucket["deployment_frequency_per_week"], bucket["change_failure_rate"]) == (
                whole["deployments"], whole["rollbacks"],
                whole["deployment_frequency_per_week"], whole["change_failure_rate"]), \
                bucket["period"]


@pytest.mark.parametrize("team", [None, "seeded", "ranking"])
@pytest.mark.parametrize("by", ["month", "quarter"])
@pytest.mark.parametrize("path", [LEAD_TIME, DEPLOYMENTS])
def test_each_bucket_is_what_metrics_velocity_gives_for_its_days(client, db, three_teams, path,
                                                                 by, team):
    headers = bearer(db, "leader")
    slug = three_teams.get(team) if team else None
    body = get_json(client, headers, _url(path, team=slug, by=by, **{
        "from": "2025-11-15", "to": "2026-03-20"}))
    assert (body["from"], body["to"], body["by"]) == ("2025-11-15", "2026-03-20", by)
    expected = (["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"] if by == "month"
                else ["2025-Q4", "2026-Q1"])
    assert [b["period"] for b in body["buckets"]] == expected
    # The edges are clipped to the period asked.
    assert (body["buckets"][0]["from"], body["buckets"][-1]["to"]) == ("2025-11-15",
                                                                       "2026-03-20")
    _as_velocity_gives(client, headers, body, slug)


def test_the_hand_worked_figures_by_quarter_and_month(client, db, three_teams):
    headers = bearer(db, "leader")
    q1 = {"from": "2026-01-01", "to": "2026-03-31"}
    lead = get_json(client, headers, _url(LEAD_TIME, team=three_teams["seeded"], **q1))
    # a: 41 days, b: 59 (from its earliest event), d: 101; p90 = 59 + 0.8 × 42
    assert lead["buckets"] == [{"period": "2026-Q1", "from": "2026-01-01", "to": "2026-03-31",
                                "median": "59.00", "p90": "92.60", "count": 3}]
    deploys = get_json(client, headers, _url(DEPLOYMENTS, team=three_teams["ranking"], **q1))
    assert deploys["buckets"] == [
        {"period": "2026-01", "from": "2026-01-01", "to": "2026-01-31", "deployments": 1,
         "rollbacks": 0, "deployment_frequency_per_week": "0.23",  # 1 ÷ (31 ÷ 7)
         "change_failure_rate": "0.0000"},
        {"period": "2026-02", "from": "2026-02-01", "to": "2026-02-28", "deployments": 1,
         "rollbacks": 2, "deployment_frequency_per_week": "0.25", "change_failure_rate": "2.0000"},
        {"period": "2026-03", "from": "2026-03-01", "to": "2026-03-31", "deployments": 1,
         "rollbacks": 0, "deployment_frequency_per_week": "0.23",
         "change_failure_rate": "0.0000"},
    ]
    everyone = get_json(client, headers, _url(DEPLOYMENTS, by="quarter", **q1))
    # seeded a: 2 + b: 1 + d: 1, elsewhere: 1, ranking: 3; rollbacks a: 1, ranking: 2
    assert [(b["period"], b["deployments"], b["rollbacks"], b["change_failure_rate"])
            for b in everyone["buckets"]] == [("2026-Q1", 8, 3, "0.3750")]


def test_quarters_follow_the_fiscal_year(client, db, three_teams):
    get_org_settings(db).fiscal_year_start_month = 2  # FY2027 runs February 2026 – January 2027
    db.commit()
    headers = bearer(db, "admin")
    period = {"from": "2026-01-01", "to": "2026-03-31"}
    lead = get_json(client, headers, _url(LEAD_TIME, team=three_teams["seeded"], **period))
    assert lead["buckets"] == [
        {"period": "2026-Q4", "from": "2026-01-01", "to": "2026-01-31",  # Nov–Jan: d
         "median": "101.00", "p90": "101.00", "count": 1},
        {"period": "2027-Q1", "from": "2026-02-01", "to": "2026-03-31",  # Feb–Apr: a, b
         "median": "50.00", "p90": "57.20", "count": 2},
    ]
    # The same quarters as metrics/velocity's trend, where they lie inside the period.
    whole = get_json(client, headers, _url(VELOCITY, team=three_teams["seeded"], **period))
    assert [(q["quarter"], q["median"], q["p90"], q["count"])
            for q in whole["lead_time_by_quarter"]] == [
        (b["period"], b["median"], b["p90"], b["count"]) for b in lead["buckets"]]
    deploys = get_json(client, headers, _url(DEPLOYMENTS, by="quarter", **period))
    assert [b["period"] for b in deploys["buckets"]] == ["2026-Q4", "2027-Q1"]
    _as_velocity_gives(client, headers, deploys, None)
    # Months stay calendar months whatever the fiscal year.
    by_month = get_json(client, headers, _url(LEAD_TIME, by="month", **period))
    assert [b["period"] for b in by_month["buckets"]] == ["2026-01", "2026-02", "2026-03"]
    _as_velocity_gives(client, headers, by_month, None)


def test_an_empty_bucket_is_listed_with_nothing_to_measure(client, db, three_teams):
    headers = bearer(db, "leader")
    period = {"from": "2025-12-01", "to": "2026-01-31", "by": "month"}
    lead = get_json(client, headers, _url(LEAD_TIME, team=three_teams["seeded"], **period))
    assert lead["buckets"][0] == {"period": "2025-12", "from": "2025-12-01",
                                  "to": "2025-12-31", "median": None, "p90": None, "count": 0}
    deploys = get_json(client, headers, _url(DEPLOYMENTS, team=three_teams["seeded"], **period))
    assert deploys["buckets"][0] == {
        "period": "2025-12", "from": "2025-12-01", "to": "2025-12-31", "deployments": 0,
        "rollbacks": 0, "deployment_frequency_per_week": "0.00", "change_failure_rate": None}
    assert deploys["buckets"][1]["deployments"] == 1  # d on 2026-01-10


@pytest.mark.parametrize("path", [LEAD_TIME, DEPLOYMENTS])
def test_the_default_period_is_the_current_fiscal_quarter(client, db, path):
    body = get_json(client, bearer(db, "leader"), path)
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-12-31")
    expected = ["2026-Q4"] if path == LEAD_TIME else ["2026-10", "2026-11", "2026-12"]
    assert (body["by"], [b["period"] for b in body["buckets"]]) == (
        "quarter" if path == LEAD_TIME else "month", expected)


@pytest.mark.parametrize("path", [LEAD_TIME, DEPLOYMENTS])
def test_a_viewer_reads_its_own_teams_only(client, db, path):
    fraud = factories.make_team(db, slug="fraud")
    search = factories.make_team(db, slug="search")
    model_with_events(db, fraud, "ours", ("ideated", "2026-01-01"), ("deployed", "2026-01-11"))
    model_with_events(db, search, "theirs", ("ideated", "2026-01-01"),
                      ("deployed", "2026-01-21"))
    db.commit()
    headers = bearer(db, "viewer", teams=[fraud])
    period = "from=2026-01-01&to=2026-01-31&by=month"
    denied = client.get(f"{path}?{period}&team=search", headers=headers)
    # Principal.scope: another team is refused exactly like one that does not exist.
    assert assert_problem(denied, 422, ["team"])["errors"] == [
        {"field": "team", "message": "unknown team 'search'"}]
    unknown = client.get(f"{path}?{period}&team=nowhere", headers=headers)
    assert assert_problem(unknown, 422, ["team"])["errors"] == [
        {"field": "team", "message": "unknown team 'nowhere'"}]
    [mine] = get_json(client, headers, f"{path}?{period}")["buckets"]
    [all_of_them] = get_json(client, bearer(db, "leader"), f"{path}?{period}")["buckets"]
    if path == LEAD_TIME:
        assert (mine["median"], mine["count"], all_of_them["count"]) == ("10.00", 1, 2)
    else:
        assert (mine["deployments"], all_of_them["deployments"]) == (1, 2)


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=1999-12-31", "from"),
    ("from=2026-03-01&to=2026-02-28", "to"), ("to=2030-01-01", "to"), ("team=nope", "team"),
    ("by=week", "by"), ("by=", "by"), ("quarter=2026-Q5", "quarter"),
    ("quarter=2026-Q1&from=2026-01-01", "quarter"),
    # At most 40 quarters or 120 months in one answer.
    ("from=2016-01-01&to=2026-03-31&by=quarter", "from"),
    ("from=2016-03-01&to=2026-03-31&by=month", "from"),
])
@pytest.mark.parametrize("path", [LEAD_TIME, DEPLOYMENTS])
def test_bad_input_is_refused_naming_the_parameter(client, db, path, query, field):
    assert_problem(client.get(f"{path}?{query}", headers=bearer(db, "viewer")), 422, [field])


@pytest.mark.parametrize("path", [LEAD_TIME, DEPLOYMENTS])
def test_the_longest_range_allowed_answers(client, db, path):
    headers = bearer(db, "viewer")
    quarters = get_json(client, headers, f"{path}?from=2016-04-01&to=2026-03-31&by=quarter")
    months = get_json(client, headers, f"{path}?from=2016-04-01&to=2026-03-31&by=month")
    assert (len(quarters["buckets"]), len(months["buckets"])) == (40, 120)


def test_both_are_documented_in_the_openapi_schema(client):
    spec = client.get("/openapi.json").json()
    for path in (LEAD_TIME, DEPLOYMENTS):
        get = spec["paths"][path]["get"]
        assert get["summary"] and "docs/product.md" in get["description"]
        params = {p["name"]: p for p in get["parameters"]}
        assert {"from", "to", "team", "quarter", "by"} <= set(params)
        assert params["by"]["description"]

"""/api/v1/initiatives (CRUD) and /api/v1/metrics/roi: shapes, scope, every bad input of
docs/product.md (422 naming the field, nothing stored) and the hand-worked ROI example."""

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D

import pytest

from app.core.clock import today
from app.initiatives import roi
from app.initiatives.models import Initiative, InitiativeLink
from app.pain_points import cost
from tests import factories
from tests.api import bearer
from tests.helpers import count

API = "/api/v1/initiatives"


def quantized(value: D, places: str) -> str:
    return str(value.quantize(D(places), rounding=ROUND_HALF_EVEN))


@pytest.fixture
def fraud_and_recs(db):
    fraud = factories.make_team(db, slug="fraud", headcounts={"data-scientist": (10, D(120))})
    recs = factories.make_team(db, slug="recs", headcounts={"data-scientist": (10, D(120))})
    pps = [
        factories.make_pain_point(db, fraud, title="t"),
        factories.make_pain_point(db, fraud, title="t", hours_likely=D(3)),
        factories.make_pain_point(db, recs, title="t"),
    ]
    db.commit()
    return fraud, recs, pps


def body(**values) -> dict:
    return {"title": "Model registry", "owner": "Marcus Lee", "team": "fraud",
            "status": "in_progress", "one_time_cost": "90000", "yearly_run_cost": "18000",
            "started_on": "2026-01-05", "delivered_on": None, "links": []} | values


# --- CRUD -------------------------------------------------------------------------------------


def test_create_read_list_update_and_soft_delete(client, db, fraud_and_recs):
    fraud, _, (a, b, _) = fraud_and_recs
    pm = bearer(db, "pm", teams=[fraud])
    response = client.post(
        API,
        headers=pm,
        json=body(
            links=[
                {"pain_point": a.id, "expected_reduction": 50},
                {"pain_point": b.id, "expected_reduction": "12.5"},
            ]
        ),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(f"{API}/{created['id']}")
    assert created["team"] == "fraud" and created["status"] == "in_progress"
    assert created["one_time_cost"] == "90000.00" and created["yearly_run_cost"] == "18000.00"
    assert created["links"] == [
        {"pain_point": a.id, "expected_reduction": "50.00"},
        {"pain_point": b.id, "expected_reduction": "12.50"},
    ]
    rate_a = cost.annual_run_rate(cost.expected_hours(D(1), D(2), D(4)), D(10), D(46), D(120))
    rate_b = cost.annual_run_rate(cost.expected_hours(D(1), D(3), D(4)), D(10), D(46), D(120))
    assert created["expected_annual_savings"] == quantized(
        rate_a * D("0.5") + rate_b * D("0.125"), "0.01"
    )
    assert created["realized_savings"] == "0.00" and created["deleted"] is False

    path = f"{API}/{created['id']}"
    assert client.get(path, headers=pm).json() == created
    db.add(Initiative(title="Another", status="proposed"))  # org-wide
    db.commit()
    page = client.get(API, headers=pm, params={"page_size": 1}).json()
    assert page["total"] == 2 and [i["title"] for i in page["items"]] == ["Another"]
    assert [
        i["title"] for i in client.get(API, headers=pm, params={"team": "fraud"}).json()["items"]
    ] == ["Model registry"]
    assert [
        i["title"]
        for i in client.get(API, headers=pm, params={"status": ["proposed", "delivered"]}).json()[
            "items"
        ]
    ] == ["Another"]
    assert client.get(API, headers=pm, params={"team": "nope"}).status_code == 422

    delivered = (today() - timedelta(days=7)).isoformat()
    response = client.patch(
        path,
        headers=pm,
        json={
            "status": "delivered",
            "delivered_on": delivered,
            "version": created["version"],
            "links": [{"pain_point": b.id, "expected_reduction": 80}],
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["delivered_on"] == delivered and changed["status"] == "delivered"
    assert changed["links"] == [{"pain_point": b.id, "expected_reduction": "80.00"}]
    assert changed["expected_annual_savings"] == quantized(rate_b * D("0.8"), "0.01")
    assert (
        client.patch(
            path,
            headers=pm | {"If-Match": f'"{changed["version"]}"'},
            json={"delivered_on": None, "status": "proposed"},
        ).json()["delivered_on"]
        is None
    )

    response = client.delete(path, headers=pm)
    assert response.status_code == 200
    assert response.json()["deleted"] is True and response.json()["id"] == created["id"]
    assert client.get(path, headers=pm).status_code == 404
    assert client.get(API, headers=pm).json()["total"] == 1
    db.expire_all()
    assert db.get(Initiative, created["id"]).deleted_at is not None  # kept
    assert client.delete(path, headers=pm).status_code == 404


def test_null_where_a_value_is_needed_is_refused(client, db, fraud_and_recs):
    fraud, _, _ = fraud_and_recs
    pm = bearer(db, "pm", teams=[fraud])
    created = client.post(API, headers=pm, json=body()).json()
    response = client.patch(
        f"{API}/{created['id']}", headers=pm, json={"title": None, "one_time_cost": None}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"title", "one_time_cost"}
    assert client.get(f"{API}/{created['id']}", headers=pm).json()["title"] == "Model registry"


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, field",
    [
        ("reduction_over_100", "links.0.expected_reduction"),
        ("reduction_negative", "links.0.expected_reduction"),
        ("negative_one_time_cost", "one_time_cost"),
        ("negative_run_cost", "yearly_run_cost"),
        ("delivery_before_start", "delivered_on"),
        ("linked_twice", "links.1.pain_point"),
        ("other_team", "links.0.pain_point"),
        ("unknown_pain_point", "links.0.pain_point"),
        ("unknown_team", "team"),
        ("future_delivery", "delivered_on"),
    ],
)
def test_bad_input_answers_422_naming_the_field_and_stores_nothing(
    client, db, fraud_and_recs, case, field
):
    fraud, _, (a, _, other) = fraud_and_recs
    pm = bearer(db, "pm", teams=[fraud])
    values = {
        "reduction_over_100": {"links": [{"pain_point": a.id, "expected_reduction": 100.5}]},
        "reduction_negative": {"links": [{"pain_point": a.id, "expected_reduction": -1}]},
        "negative_one_time_cost": {"one_time_cost": "-0.01"},
        "negative_run_cost": {"yearly_run_cost": -100},
        "delivery_before_start": {"started_on": "2026-05-01", "delivered_on": "2026-04-30"},
        "linked_twice": {
            "links": [
                {"pain_point": a.id, "expected_reduction": 10},
                {"pain_point": a.id, "expected_reduction": 20},
            ]
        },
        # As org-wide too: the PM is not a member of recs.
        "other_team": {"team": None, "links": [{"pain_point": other.id, "expected_reduction": 10}]},
        "unknown_pain_point": {"links": [{"pain_point": 999999, "expected_reduction": 10}]},
        "unknown_team": {"team": "nope"},
        "future_delivery": {"delivered_on": (today() + timedelta(days=1)).isoformat()},
    }[case]
    response = client.post(API, headers=pm, json=body(**values))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert count(db, Initiative) == 0 and count(db, InitiativeLink) == 0

    # The same rules hold for a change, which leaves the initiative as it was.
    created = client.post(
        API, headers=pm, json=body(links=[{"pain_point": a.id, "expected_reduction": 5}])
    ).json()
    values.pop("team", None)
    if values:
        response = client.patch(
            f"{API}/{created['id']}", headers=pm, json=values | {"version": created["version"]}
        )
        assert response.status_code == 422
        assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get(f"{API}/{created['id']}", headers=pm).json()["links"] == [
        {"pain_point": a.id, "expected_reduction": "5.00"}
    ]


def test_a_pm_of_another_team_is_refused_and_a_viewer_does_not_see_it(client, db, fraud_and_recs):
    fraud, recs, _ = fraud_and_recs
    theirs = bearer(db, "pm", teams=[recs])
    response = client.post(API, headers=theirs, json=body())
    assert response.status_code == 403 and count(db, Initiative) == 0
    created = client.post(API, headers=bearer(db, "pm", teams=[fraud]), json=body()).json()
    path = f"{API}/{created['id']}"
    assert client.patch(path, headers=theirs, json={"title": "Mine now"}).status_code == 403
    assert client.delete(path, headers=theirs).status_code == 403
    viewer = bearer(db, "viewer", teams=[recs])
    assert client.get(path, headers=viewer).status_code == 404
    assert client.get(API, headers=viewer).json()["total"] == 0
    assert client.post(API, headers=viewer, json=body()).status_code == 403
    assert client.get(path, headers=bearer(db, "leader")).json()["title"] == "Model registry"


# --- metrics/roi ----------------------------------------------------------------------------


@pytest.fixture
def worked(db):
    """The hand-worked example of tests/initiatives/test_roi.py."""
    team = factories.make_team(db, slug="worked", headcounts={"data-scientist": (10, D("120"))})
    ml = factories.persona(db, "ml-engineer")
    open_pp = factories.make_pain_point(
        db, team, title="t"
    )  # run-rate 119,600 (low 55,200, high 220,800)
    after = factories.make_pain_point(
        db,
        team,
        title="t",
        persona_id=ml.id,
        hours_low=D(2),
        hours_likely=D(2),
        hours_high=D(2),
        people_affected=5,
        status="resolved",
        resolved_on=date(2026, 3, 2),
    )  # 55,200
    before = factories.make_pain_point(
        db,
        team,
        title="t",
        hours_low=D(1),
        hours_likely=D(1),
        hours_high=D(1),
        people_affected=5,
        status="resolved",
        resolved_on=date(2026, 2, 2),
    )  # 27,600
    zero = factories.make_pain_point(db, team, title="t", hours_likely=D(3))
    initiative = Initiative(
        title="Python SDK over managed Spark",
        team_id=team.id,
        one_time_cost=D(100000),
        yearly_run_cost=D(20000),
        started_on=date(2025, 9, 1),
        delivered_on=date(2026, 3, 1),
        status="delivered",
    )
    db.add(initiative)
    db.flush()
    db.add_all(
        [
            InitiativeLink(
                initiative_id=initiative.id, pain_point_id=pp.id, expected_reduction=D(r)
            )
            for pp, r in ((open_pp, 50), (after, 100), (before, 40), (zero, 0))
        ]
    )
    db.commit()
    return team, initiative


@pytest.mark.parametrize("horizon", [1, 2, 3])
def test_metrics_roi_equals_roi_py_on_the_hand_worked_example(client, db, worked, horizon):
    _, initiative = worked
    response = client.get("/api/v1/metrics/roi", headers=bearer(db, "leader"), params={
        "horizon_years": horizon, "team": "worked", "from": "2026-01-01", "to": "2026-12-31"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["horizon_years"] == horizon
    assert (data["from"], data["to"]) == ("2026-01-01", "2026-12-31")
    [item] = data["initiatives"]
    expected = D("126040")
    assert item == {
        "id": initiative.id, "title": "Python SDK over managed Spark",
        "cost": quantized(roi.cost_over(D(100000), D(20000), horizon), "0.01"),
        "expected_annual_savings": "126040.00",
        "expected_annual_savings_low": "93840.00",  # 27,600 + 55,200 + 11,040
        "expected_annual_savings_high": "176640.00",  # 110,400 + 55,200 + 11,040
        "realized_savings": "46317.24",  # 55,200 × 219 / 261
        "roi": quantized(roi.roi(expected, D(100000), D(20000), horizon), "0.0001"),
        "payback_months": quantized(roi.payback_months(expected, D(100000), D(20000)), "0.01"),
    }
    assert item["roi"] == {1: "0.0503", 2: "0.8006", 3: "1.3632"}[horizon]
    assert item["payback_months"] == "11.32"


def test_metrics_roi_defaults_realized_to_date_from_the_earliest_delivery(client, db, worked):
    team, _ = worked
    free = Initiative(title="Costs nothing", team_id=team.id, yearly_run_cost=D(0))
    db.add(free)
    db.commit()
    data = client.get("/api/v1/metrics/roi", headers=bearer(db, "admin"),
                      params={"team": "worked"}).json()
    assert data["horizon_years"] == 3
    assert (data["from"], data["to"]) == ("2026-03-01", today().isoformat())
    items = {i["title"]: i for i in data["initiatives"]}
    share = cost.period_share(cost.day_number(date(2026, 3, 2)), cost.OPEN_ENDED,
                              cost.year_slices(date(2026, 3, 1), today()))
    assert items["Python SDK over managed Spark"]["realized_savings"] == quantized(
        D(55200) * share, "0.01")
    # Nothing to pay back and nothing spent: no ROI, and "never" pays back.
    assert items["Costs nothing"]["roi"] is None
    assert items["Costs nothing"]["payback_months"] is None


@pytest.mark.parametrize("params, status, field", [
    ({"horizon_years": 4}, 422, "horizon_years"),
    ({"horizon_years": 0}, 422, "horizon_years"),
    ({"team": "nope"}, 422, "team"),
    ({"from": "2026-05-01", "to": "2026-04-01"}, 422, "to"),
    ({"from": "1999-12-31"}, 422, "from"),
    # Principal.scope: another team is refused exactly like one that does not exist.
    ({"team": "recs"}, 422, "team"),
])
def test_metrics_roi_refuses_bad_parameters(client, db, fraud_and_recs, params, status,
                                             field):
    fraud, _, _ = fraud_and_recs
    response = client.get("/api/v1/metrics/roi", headers=bearer(db, "viewer", teams=[fraud]),
                          params=params)
    assert response.status_code == status, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_metrics_roi_is_scoped_to_the_readers_teams(client, db, fraud_and_recs):
    fraud, recs, _ = fraud_and_recs
    db.add_all(
        [
            Initiative(title="Fraud's", team_id=fraud.id),
            Initiative(title="Recs'", team_id=recs.id),
            Initiative(title="Org-wide"),
        ]
    )
    db.commit()
    titles = [
        i["title"]
        for i in client.get(
            "/api/v1/metrics/roi", headers=bearer(db, "viewer", teams=[fraud])
        ).json()["initiatives"]
    ]
    assert titles == ["Fraud's", "Org-wide"]
    assert client.get("/api/v1/metrics/roi", headers={}).status_code == 401


def test_metrics_roi_is_windowed_by_title_with_the_total(client, db, worked):
    team, _ = worked
    # Two initiatives share each title: the id orders them, so pages neither repeat nor skip.
    db.add_all([Initiative(title=f"Initiative {i // 2:02d}", team_id=team.id,
                           one_time_cost=D(1000 * (i + 1))) for i in range(12)])
    db.commit()
    headers = bearer(db, "leader")
    whole = client.get("/api/v1/metrics/roi", headers=headers,
                       params={"team": "worked", "limit": 500}).json()
    assert (whole["total"], whole["limit"], whole["offset"]) == (13, 500, 0)
    order = [(i["title"], i["id"]) for i in whole["initiatives"]]
    assert order == sorted(order) and len(order) == 13
    pages = [client.get("/api/v1/metrics/roi", headers=headers,
                        params={"team": "worked", "limit": 5, "offset": o}).json()
             for o in (0, 5, 10)]
    assert [len(p["initiatives"]) for p in pages] == [5, 5, 3]
    assert [p["total"] for p in pages] == [13, 13, 13]
    assert [i for p in pages for i in p["initiatives"]] == whole["initiatives"]
    defaults = client.get("/api/v1/metrics/roi", headers=headers).json()
    assert (defaults["limit"], defaults["offset"], defaults["total"]) == (100, 0, 13)


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "all"}, "limit"),
    ({"offset": -1}, "offset"), ({"offset": "next"}, "offset"),
])
def test_metrics_roi_refuses_bad_windows_naming_the_parameter(client, db, params, field):
    response = client.get("/api/v1/metrics/roi", headers=bearer(db, "leader"), params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]

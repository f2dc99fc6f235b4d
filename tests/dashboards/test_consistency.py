"""One source of truth: every tile of the overview equals what /api/v1/metrics/* answers for the
same quarter and team, on the demo organisation."""

from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from app.core import clock
from app.core.periods import quarter_of
from app.demo.loader import load_demo
from app.initiatives.queries import savings
from app.settings.service import get_org_settings
from app.teams.models import Team
from tests.helpers import soup_of

DEMO_PASSWORD = "northstar-demo"
CENTS, DAYS, RATE = Decimal("0.01"), Decimal("0.01"), Decimal("0.0001")


def rounded(value: str, exponent: Decimal) -> str:
    return str(Decimal(value).quantize(exponent, rounding=ROUND_HALF_EVEN))


def tile_attributes(html: str) -> dict[str, dict[str, str]]:
    page = soup_of(html)
    return {n["data-metric"]: {k.removeprefix("data-"): v for k, v in n.attrs.items()
                               if k.startswith("data-")}
            for n in page.select("[data-metric]")}


@pytest.fixture
def demo_as_leader(client, db, as_role):
    load_demo(db, today=clock.today(), password=DEMO_PASSWORD)
    db.commit()
    as_role("leader")
    return db


def api(client, path: str, **params) -> dict:
    response = client.get(path, params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, response.text
    return response.json()


def scenarios(db):
    """(quarter, team slug or None): this quarter and the last, the whole org and one team."""
    org = get_org_settings(db)
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    slug = db.query(Team.slug).order_by(Team.name).first()[0]
    return [(q, team) for q in (current, current.previous()) for team in (None, slug)]


def test_every_tile_equals_the_metrics_api(client, demo_as_leader):
    db = demo_as_leader
    org = get_org_settings(db)
    checked = 0
    for quarter, team in scenarios(db):
        query = f"?to={quarter.label}" + (f"&team={team}" if team else "")
        response = client.get("/" + query)
        assert response.status_code == 200
        shown = tile_attributes(response.text)
        period = {"from": quarter.first_day.isoformat(), "to": quarter.last_day.isoformat(),
                  "team": team}
        where = f"{quarter.label} team={team}"

        cost = api(client, "/api/v1/metrics/cost", **period)["total"]
        for metric, key in (("annual-cost", "annual_run_rate"), ("quarter-cost", "cost")):
            assert rounded(shown[metric]["value"], CENTS) == cost[key], (where, metric)
            assert rounded(shown[metric]["low"], CENTS) == cost[f"{key}_low"], (where, metric)
            assert rounded(shown[metric]["high"], CENTS) == cost[f"{key}_high"], (where, metric)
        assert int(shown["annual-cost"]["n"]) == cost["active_pain_points"]
        assert rounded(shown["hours-per-week"]["value"], DAYS) == cost["hours_per_week"], where
        fte = Decimal(cost["hours_per_week"]) / org.working_hours_per_week
        assert abs(Decimal(shown["fte"]["value"]) - fte) < Decimal("0.001"), where

        velocity = api(client, "/api/v1/metrics/velocity", **period)
        lead = velocity["lead_time_days"]
        assert (rounded(shown["lead-time"]["value"], DAYS) if shown["lead-time"]["value"]
                else None) == lead["median"], where
        assert (rounded(shown["lead-time-p90"]["value"], DAYS)
                if shown["lead-time-p90"]["value"] else None) == lead["p90"], where
        assert int(shown["lead-time"]["n"]) == lead["count"], where
        assert int(Decimal(shown["deployments"]["value"])) == velocity["deployments"], where
        cfr = velocity["change_failure_rate"]
        assert (rounded(shown["change-failure-rate"]["value"], RATE)
                if shown["change-failure-rate"]["value"] else None) == cfr, where
        [cohort] = velocity["production_rate"]
        assert cohort["cohort"] == quarter.label
        assert (rounded(shown["production-rate"]["value"], RATE)
                if shown["production-rate"]["value"] else None) == cohort["rate"], where
        assert int(shown["production-rate"]["n"]) == cohort["ideated"], where
        assert ("provisional" in shown["production-rate"]) == cohort["provisional"], where

        # LLM spend: the compute API's per-model spend, over the LLM models.
        compute = api(client, "/api/v1/metrics/compute", **period)
        llm_ids = {m["id"] for archived in (False, True) for m in api(
            client, "/api/v1/models", kind="llm", team=team, archived=str(archived).lower(),
            page_size=100)["items"]}
        llm = sum((Decimal(m["amount"]) for m in compute["by_model"]
                   if m["model_id"] in llm_ids), Decimal(0))
        assert rounded(shown["llm-spend"]["value"], CENTS) == str(llm.quantize(CENTS)), where

        # Realized savings: the same savings() the ROI API sums, restricted like the tile.
        team_ids = None if team is None else frozenset(
            {db.query(Team.id).filter(Team.slug == team).scalar()})
        realized = sum((s.realized for s in savings(
            db, None, weeks=org.working_weeks_per_year, first=quarter.first_day,
            last=quarter.last_day, team_ids=team_ids).values()), Decimal(0))
        assert rounded(shown["realized-savings"]["value"], CENTS) == str(
            realized.quantize(CENTS, rounding=ROUND_HALF_EVEN)), where
        if team is None:
            roi = api(client, "/api/v1/metrics/roi", **{"from": period["from"],
                                                        "to": period["to"]})
            total = sum((Decimal(i["realized_savings"]) for i in roi["initiatives"]),
                        Decimal(0))
            # The API rounds each initiative to cents before the sum: a cent per initiative.
            assert abs(Decimal(shown["realized-savings"]["value"]) - total) <= (
                CENTS * len(roi["initiatives"])), where

        # Maturity: the API answers each team's latest assessment as of today, so only the
        # current quarter compares (its last day is not before today).
        if quarter.last_day >= clock.today():
            teams = api(client, "/api/v1/metrics/maturity", team=team)["teams"]
            scores = [Decimal(t["score"]) for t in teams if t["score"] is not None]
            average = sum(scores, Decimal(0)) / len(scores)
            assert abs(Decimal(shown["maturity"]["value"]) - average) < Decimal("0.005"), where
            assert int(shown["maturity"]["n"]) == len(scores)
        checked += 1
    assert checked == 4


def test_the_demo_fills_every_tile(client, demo_as_leader):
    shown = tile_attributes(client.get("/").text)
    for metric in ("annual-cost", "hours-per-week", "quarter-cost", "deployments",
                   "realized-savings", "llm-spend", "maturity"):
        assert shown[metric]["value"] and Decimal(shown[metric]["value"]) > 0, metric


def test_realized_savings_of_a_team_equal_the_roi_api(client, demo_as_leader):
    db = demo_as_leader
    for quarter, team in scenarios(db):
        if team is None:
            continue
        shown = tile_attributes(client.get(f"/?to={quarter.label}&team={team}").text)
        roi = api(client, "/api/v1/metrics/roi", team=team,
                  **{"from": quarter.first_day.isoformat(), "to": quarter.last_day.isoformat()})
        total = sum((Decimal(i["realized_savings"]) for i in roi["initiatives"]), Decimal(0))
        assert rounded(shown["realized-savings"]["value"], CENTS) == str(total)

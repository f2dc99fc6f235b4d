"""The quarter totals of pain-point cost (app/pain_points/summary.py) give the live query's
figures for every covered quarter, group and filter, and are never stale after a write."""

import random
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.core import clock, derived
from app.core.periods import quarter_of
from app.core.clock import utcnow
from app.pain_points import queries, summary
from app.pain_points.models import CostQuarter, CostSummaryState, PainPoint
from app.pain_points.measures import CostFigures, GroupBy, PainPointFilters
from app.settings.models import OrgSettings
from app.teams.models import Persona, Stage, Team, TeamPersona
from tests import factories

STAGES = ["data-acquisition", "data-preparation", "experimentation", "deployment", "monitoring"]
PERSONAS = ["data-scientist", "ml-engineer", "bi-engineer"]


def same(a: D, b: D, backend: str) -> bool:
    # PostgreSQL sums exact NUMERIC both ways; SQLite sums doubles, in another order.
    return a == b if backend == "postgresql" else abs(a - b) <= D("0.000001")


def figures(rows: list[CostFigures]) -> list[tuple]:
    return [(r.key, r.cost, r.cost_low, r.cost_high, r.annual_run_rate, r.annual_run_rate_low,
             r.annual_run_rate_high, r.hours_per_week, r.pain_points, r.active_pain_points)
            for r in rows]


def assert_same(summed: list[tuple], live: list[tuple], backend: str) -> None:
    assert len(summed) == len(live)
    for s, lv in zip(summed, live, strict=True):
        assert s[0] == lv[0] and s[-2:] == lv[-2:], (s, lv)
        assert all(same(a, b, backend) for a, b in zip(s[1:-2], lv[1:-2], strict=True)), (s, lv)


def org_settings(db) -> OrgSettings:
    return db.get(OrgSettings, 1)


def random_organisation(db, seed: int = 7) -> list:
    """Three teams (one with its own hourly costs), every kind, status and a spread of dates
    across five years, a few deleted."""
    rng = random.Random(seed)
    teams = [factories.make_team(db, headcounts={"data-scientist": (12, D("135")),
                                                 "ml-engineer": 4}),
             factories.make_team(db, headcounts={"bi-engineer": 6}),
             factories.make_team(db)]
    today = clock.today()
    made = []
    for _ in range(90):
        observed = today - timedelta(days=rng.randint(-200, 5 * 365))
        kind = rng.choice(["recurring", "recurring", "one_time"])
        low = D(rng.randint(0, 8)) / 2
        likely = low + D(rng.randint(0, 8)) / 4
        high = likely + D(rng.randint(0, 12)) / 3
        status = rng.choice(["open", "in_progress", "resolved", "wont_fix"])
        resolved = (observed + timedelta(days=rng.randint(0, 900))) if status == "resolved" \
            else None
        made.append(factories.make_pain_point(
            db, rng.choice(teams), kind=kind, hours_low=low, hours_likely=likely,
            hours_high=high, people_affected=rng.randint(1, 30), status=status,
            observed_since=observed, resolved_on=resolved, persona=rng.choice(PERSONAS),
            stage=rng.choice(STAGES), deleted_at=utcnow() if rng.random() < 0.05 else None))
    db.commit()
    return made


@pytest.fixture
def backend(db) -> str:
    return db.get_bind().dialect.name


def compare_everything(db, backend: str, quarters, *, all_filters: bool) -> int:
    """Summary against live for each quarter × group (× filter); returns how many comparisons."""
    weeks = org_settings(db).working_weeks_per_year
    team_ids = sorted(db.scalars(select(PainPoint.team_id).distinct()))
    persona = db.scalar(select(Persona.id).where(Persona.slug == "ml-engineer"))
    stage = db.scalar(select(Stage.id).where(Stage.slug == "deployment"))
    variants = [PainPointFilters(), PainPointFilters(team_ids=frozenset(team_ids[:1])),
                PainPointFilters(team_ids=frozenset(team_ids[1:]), persona_id=persona),
                PainPointFilters(stage_id=stage)][:4 if all_filters else 1]
    compared = 0
    for quarter in quarters:
        period = dict(first=quarter.first_day, last=quarter.last_day, weeks=weeks)
        for filters in variants:
            for group in (None, GroupBy.stage, GroupBy.persona, GroupBy.team):
                summed = summary.cost_figures(db, filters, group_by=group, **period)
                assert summed is not None, f"{quarter} should be answered by the summary"
                live = queries.live_cost_figures(db, filters, group_by=group, **period)
                assert_same(figures(summed), figures(live), backend)
                compared += 1
    return compared


def test_every_covered_quarter_group_and_filter_equals_the_live_query(db, backend):
    random_organisation(db)
    start_month = org_settings(db).fiscal_year_start_month
    quarters = summary.window(clock.today(), start_month)
    assert len(quarters) == summary.WINDOW_PAST + summary.WINDOW_FUTURE
    assert compare_everything(db, backend, quarters, all_filters=False) == len(quarters) * 4
    recent = quarters[-8:]
    assert compare_everything(db, backend, recent, all_filters=True) == len(recent) * 16
    # A run of quarters: cost summed, run-rate as of the last day.
    weeks = org_settings(db).working_weeks_per_year
    first, last = quarters[4].first_day, quarters[11].last_day
    for group in (None, GroupBy.team):
        summed = summary.cost_figures(db, PainPointFilters(), first=first, last=last,
                                      weeks=weeks, group_by=group)
        live = queries.live_cost_figures(db, PainPointFilters(), first=first, last=last,
                                         weeks=weeks, group_by=group)
        assert_same(figures(summed), figures(live), backend)


def test_the_cost_trend_and_the_heat_map_equal_the_live_query(db, backend):
    random_organisation(db, seed=11)
    weeks = org_settings(db).working_weeks_per_year
    quarters = summary.window(clock.today(), org_settings(db).fiscal_year_start_month)[-12:]
    periods = [(q.first_day, q.last_day) for q in quarters]
    summed = summary.cost_by_period(db, PainPointFilters(), periods=periods, weeks=weeks)
    assert summed is not None
    # queries.cost_by_period computes it live when a period is not a whole quarter: add a day
    # to the last period, then compare the quarters before it.
    live = queries.cost_by_period(db, PainPointFilters(),
                                  periods=periods[:-1] + [(periods[-1][0], periods[-1][1]
                                                           + timedelta(days=1))], weeks=weeks)
    for s, lv in zip(summed[:-1], live[:-1], strict=True):
        assert (s.first, s.last) == (lv.first, lv.last)
        for name in ("unresolved", "resolved", "cost_low", "cost_high"):
            assert same(getattr(s, name), getattr(lv, name), backend), name
    day = quarters[-6].last_day
    grid = summary.run_rate_grid(db, PainPointFilters(), day=day, weeks=weeks,
                                 rows=GroupBy.persona, columns=GroupBy.stage)
    assert grid
    live_grid = queries.run_rate_grid(db, PainPointFilters(), day=day + timedelta(days=0),
                                      weeks=weeks, rows=GroupBy.persona, columns=GroupBy.stage)
    # The same call answers from the summary: compare with the cells computed per pain point.
    cells = {(c.row_key, c.column_key): c for c in grid}
    for key, cell in cells.items():
        persona = db.scalar(select(Persona.id).where(Persona.slug == key[0]))
        stage = db.scalar(select(Stage.id).where(Stage.slug == key[1]))
        [one] = queries.live_cost_figures(
            db, PainPointFilters(persona_id=persona, stage_id=stage),
            first=day, last=day, weeks=weeks)
        assert same(cell.annual_run_rate, one.annual_run_rate, backend)
        assert same(cell.hours_per_week, one.hours_per_week, backend)
        assert cell.pain_points == one.active_pain_points
    assert [(c.row_key, c.column_key) for c in live_grid] == list(cells)


def current_total(db, **filters) -> tuple[list[tuple], list[tuple]]:
    """(summary, live) figures of the current quarter by team."""
    quarter = quarter_of(clock.today(), org_settings(db).fiscal_year_start_month)
    period = dict(first=quarter.first_day, last=quarter.last_day,
                  weeks=org_settings(db).working_weeks_per_year, group_by=GroupBy.team)
    summed = summary.cost_figures(db, PainPointFilters(**filters), **period)
    assert summed is not None
    return figures(summed), figures(queries.live_cost_figures(db, PainPointFilters(**filters),
                                                              **period))


def test_every_kind_of_write_is_in_the_next_read(db, backend):
    made = random_organisation(db, seed=3)
    assert db.scalar(select(func.count()).select_from(CostQuarter)) > 0
    open_one = next(p for p in made if p.status != "resolved" and p.kind == "recurring"
                    and p.deleted_at is None and p.observed_since <= clock.today())
    other_team = next(p.team_id for p in made if p.team_id != open_one.team_id)
    before, _ = current_total(db)

    steps = [
        lambda: (setattr(open_one, "hours_high", open_one.hours_high + 3),
                 setattr(open_one, "hours_likely", open_one.hours_likely + 3)),
        lambda: setattr(open_one, "people_affected", open_one.people_affected + 5),
        lambda: setattr(open_one, "team_id", other_team),  # its old team's total drops
        lambda: setattr(open_one, "stage_id", factories.stage(db, "monitoring").id),
        lambda: (setattr(open_one, "status", "resolved"),
                 setattr(open_one, "resolved_on", clock.today())),
        lambda: setattr(open_one, "deleted_at", utcnow()),
        lambda: setattr(open_one, "deleted_at", None),  # undo
    ]
    for step in steps:
        step()
        db.commit()
        summed, live = current_total(db)
        assert_same(summed, live, backend)
    assert current_total(db)[0] != before

    # Hourly costs: a team's override for a persona, then a persona's default.
    override = db.scalars(select(TeamPersona).where(TeamPersona.hourly_cost.is_not(None))).first()
    override.hourly_cost += 40
    db.commit()
    assert_same(*current_total(db), backend)
    factories.persona(db, "bi-engineer").hourly_cost += D("17.50")
    db.commit()
    assert_same(*current_total(db), backend)

    # Org settings: working weeks (every figure changes), then the fiscal year's start. No
    # request rebuilds: the rows stop answering (reads are live) until `northstar maintain`.
    org_settings(db).working_weeks_per_year = D("44.5")
    db.commit()
    assert db.get(CostSummaryState, 1).working_weeks_per_year == D("46.0")
    quarter = quarter_of(clock.today(), org_settings(db).fiscal_year_start_month)
    assert summary.cost_figures(db, PainPointFilters(), first=quarter.first_day,
                                last=quarter.last_day, weeks=D("44.5")) is None
    # The initiatives' savings are priced in working weeks too.
    assert derived.maintain_all(db) == ["initiative_saving", "pain_point_cost_quarter"]
    assert db.get(CostSummaryState, 1).working_weeks_per_year == D("44.5")
    assert_same(*current_total(db), backend)
    org_settings(db).fiscal_year_start_month = 7
    db.commit()
    assert derived.maintain_all(db) == ["pain_point_cost_quarter"]
    assert derived.maintain_all(db) == []  # nothing left to do
    assert db.get(CostSummaryState, 1).fiscal_year_start_month == 7
    assert_same(*current_total(db), backend)

    # A new pain point, read in the same transaction before any commit.
    team = db.get(Team, made[0].team_id)
    factories.make_pain_point(db, team, observed_since=clock.today() - timedelta(days=3),
                              people_affected=25)
    assert_same(*current_total(db), backend)


def test_a_rolled_back_write_leaves_the_totals_as_they_were(db, backend):
    made = random_organisation(db, seed=5)
    before, _ = current_total(db)
    made[0].people_affected += 50
    made[1].deleted_at = utcnow()
    db.flush()
    assert current_total(db)[0] != before or made[0].observed_since > clock.today()
    db.rollback()
    after, live = current_total(db)
    assert_same(after, live, backend)
    assert after == before


def test_what_the_rows_cannot_answer_is_computed_live(db, backend):
    random_organisation(db, seed=9)
    weeks = org_settings(db).working_weeks_per_year
    quarter = quarter_of(clock.today(), org_settings(db).fiscal_year_start_month)
    cases = [
        (PainPointFilters(), quarter.first_day + timedelta(days=1), quarter.last_day, weeks),
        (PainPointFilters(), quarter.first_day, quarter.last_day, weeks + 1),  # other weeks
        (PainPointFilters(statuses=(queries.PainPointStatus.open,)), quarter.first_day,
         quarter.last_day, weeks),
        (PainPointFilters(), date(2001, 1, 1), date(2001, 3, 31), weeks),  # before the window
    ]
    for filters, first, last, w in cases:
        assert summary.cost_figures(db, filters, first=first, last=last, weeks=w) is None
        assert queries.cost_figures(db, filters, first=first, last=last, weeks=w) == \
            queries.live_cost_figures(db, filters, first=first, last=last, weeks=w)


def test_the_api_answers_a_pain_point_posted_just_before(client, db, backend):
    """Through HTTP: the POST's transaction updates the totals, the next GET reads them."""
    team = factories.make_team(db, headcounts={"data-scientist": (10, D("120"))})
    user = factories.make_user(db, role="pm", teams=[team])
    token = factories.make_token(db, user)
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    quarter = quarter_of(clock.today(), org_settings(db).fiscal_year_start_month)
    params = {"team": team.slug, "from": quarter.first_day.isoformat(),
              "to": quarter.last_day.isoformat()}
    assert client.get("/api/v1/metrics/cost", params=params,
                      headers=headers).json()["total"]["annual_run_rate"] in ("0", "0.00")
    created = client.post("/api/v1/pain-points", headers=headers, json={
        "team": team.slug, "persona": "data-scientist", "stage": "deployment",
        "title": "Feature store backfills by hand", "kind": "recurring", "hours_low": "1",
        "hours_likely": "2", "hours_high": "4", "people_affected": 10,
        "observed_since": quarter.first_day.isoformat()})
    assert created.status_code == 201, created.text
    total = client.get("/api/v1/metrics/cost", params=params, headers=headers).json()["total"]
    # 13/6 h × 10 people × 46 weeks × $120 (the team's rate) = 119,600 a year
    assert D(total["annual_run_rate"]) == D("119600.00")
    assert db.get(CostSummaryState, 1) is not None


def test_the_costliest_pain_points_read_off_the_stored_run_rates(db, backend, monkeypatch):
    made = random_organisation(db, seed=13)
    weeks = org_settings(db).working_weeks_per_year
    today = clock.today()
    teams = frozenset({made[0].team_id})
    persona = db.scalar(select(Persona.id).where(Persona.slug == "data-scientist"))
    cases = [(PainPointFilters(), today), (PainPointFilters(), today - timedelta(days=700)),
             (PainPointFilters(team_ids=teams), today),
             (PainPointFilters(persona_id=persona), today - timedelta(days=200))]
    ranked = [queries.top_run_rates(db, f, day=day, weeks=weeks, limit=7) for f, day in cases]
    assert all(summary.costliest_ids(db, f, day=day, weeks=weeks, limit=7) is not None
               for f, day in cases)
    # The same lists priced over every pain point, without the stored run-rates:
    monkeypatch.setattr(summary, "costliest_ids", lambda *args, **kwargs: None)
    for (filters, day), found in zip(cases, ranked, strict=True):
        live = queries.top_run_rates(db, filters, day=day, weeks=weeks, limit=7)
        assert [(p.id, p.annual_run_rate) for p in found] == \
            [(p.id, p.annual_run_rate) for p in live]
        assert found, "the organisation has running pain points on each of these days"
    monkeypatch.undo()
    # A write moves a pain point up the list in the same transaction.
    last = next(p for p in reversed(made) if p.kind == "recurring" and p.deleted_at is None
                and p.resolved_on is None and p.observed_since <= today)
    last.people_affected = 100_000
    [top] = queries.top_run_rates(db, PainPointFilters(), day=today, weeks=weeks, limit=1)
    assert top.id == last.id


def test_realized_savings_from_the_stored_run_rates_equal_the_priced_ones(db, backend,
                                                                         monkeypatch):
    from app.initiatives.models import Initiative, InitiativeLink
    from app.initiatives.queries import realized_total

    made = random_organisation(db, seed=17)
    today = clock.today()
    resolved = [p for p in made if p.resolved_on is not None and p.kind == "recurring"]
    assert len(resolved) >= 4
    delivered = Initiative(title="Self-serve feature store", owner="Platform", status="delivered",
                           one_time_cost=D(50000), yearly_run_cost=D(5000),
                           started_on=min(p.resolved_on for p in resolved) - timedelta(days=90),
                           delivered_on=min(p.resolved_on for p in resolved))
    db.add(delivered)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=delivered.id, pain_point_id=p.id,
                               expected_reduction=D(40 + 10 * (i % 5)))
                for i, p in enumerate(made[:40])])
    db.commit()
    weeks = org_settings(db).working_weeks_per_year
    periods = [(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
               (date(today.year, 1, 1), date(today.year, 12, 31))]
    teams = frozenset({made[0].team_id})
    stored = [realized_total(db, weeks=weeks, first=a, last=b, team_ids=t)
              for a, b in periods for t in (None, teams)]
    assert summary.stored_run_rates(db, weeks)
    monkeypatch.setattr(summary, "stored_run_rates", lambda *args: False)
    priced = [realized_total(db, weeks=weeks, first=a, last=b, team_ids=t)
              for a, b in periods for t in (None, teams)]
    assert any(v > 0 for v in priced)
    assert all(same(a, b, backend) for a, b in zip(stored, priced, strict=True)), (stored, priced)


def test_expected_savings_from_the_stored_run_rates_equal_the_priced_ones(db, backend,
                                                                          monkeypatch):
    """The ROI dashboard ranks initiatives by expected savings read off the stored run-rates;
    they are the figures `savings` prices, for every initiative and with a team filter."""
    from app.initiatives.models import Initiative, InitiativeLink
    from app.initiatives.queries import expected_savings

    made = random_organisation(db, seed=23)
    initiatives = [Initiative(title=f"Initiative {n}", owner="Platform", status="proposed",
                              one_time_cost=D(1000 * n)) for n in range(6)]
    db.add_all(initiatives)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=initiatives[n % 6].id, pain_point_id=p.id,
                               expected_reduction=D(5 + 7 * (n % 13)))
                for n, p in enumerate(made)])  # one-time, deleted and resolved ones included
    db.commit()
    ids = [i.id for i in initiatives]
    weeks = org_settings(db).working_weeks_per_year
    teams = frozenset({made[0].team_id})
    stored = [expected_savings(db, ids, weeks=weeks, team_ids=t) for t in (None, teams)]
    monkeypatch.setattr(summary, "stored_run_rates", lambda *args: False)
    priced = [expected_savings(db, ids, weeks=weeks, team_ids=t) for t in (None, teams)]
    assert all(v > 0 for v in priced[0].values())
    for s, p in zip(stored, priced, strict=True):
        assert s.keys() == p.keys()
        assert all(same(s[i], p[i], backend) for i in ids), (s, p)

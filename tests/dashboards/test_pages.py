"""The leader dashboards as HTML: overview tiles, charts and their tables, the filters (htmx
fragments, pushed URLs, 422 naming the field, team scope), drill-down links, empty states, the
definitions page, and a bounded number of SQL statements whatever the data size."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import plotly.graph_objects as go
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event

from app.core import clock
from app.core.periods import last_quarters, quarter_of
from app.dashboards.kpis import quarter_kpis
from app.initiatives.models import Initiative, InitiativeLink, InitiativeStatus
from app.maturity.models import MaturityAssessment
from app.ml_models.models import ComputeCost
from app.pain_points.models import PainPoint
from app.pain_points.measures import PainPointFilters
from app.pain_points.queries import cost_by_period, cost_figures
from app.settings.service import get_org_settings
from tests import factories
from tests.helpers import at, figure_json, soup_of, text_of

PAGES = ["/", "/dashboards/cost", "/dashboards/velocity"]


def tiles(page: BeautifulSoup) -> dict[str, str]:
    return {n["data-metric"]: n["data-value"] for n in page.select("[data-metric]")}


# --- data -------------------------------------------------------------------------------------

def add_pain_point(db, team, *, persona="data-scientist", stage="data-preparation",
                   **values) -> PainPoint:
    return factories.make_pain_point(db, team, **{
        "persona": persona, "stage": stage, "title": f"friction at {stage}",
        "people_affected": 3, "observed_since": clock.today() - timedelta(days=300)} | values)


def seed_team(db, n: int):
    """One team with a bit of everything the dashboards read."""
    today = clock.today()
    team = factories.make_team(db, name=f"Seed team {n}", slug=f"seed-{n}",
                               headcounts={"data-scientist": (5, D("150")), "ml-engineer": 3})
    add_pain_point(db, team, title=f"Slow backtests {n}")
    add_pain_point(db, team, persona="ml-engineer", stage="deployment",
                   title=f"Manual deploys {n}", hours_likely=D(3), hours_high=D(6))
    resolved = add_pain_point(db, team, stage="experimentation", title=f"No tracking {n}",
                              status="resolved", resolved_on=today - timedelta(days=30),
                              observed_since=today - timedelta(days=400))
    add_pain_point(db, team, persona="ml-engineer", stage="monitoring", title=f"Learn Spark {n}",
                   kind="one_time", hours_low=D(10), hours_likely=D(20), hours_high=D(40),
                   observed_since=today - timedelta(days=5))
    add_pain_point(db, team, stage="governance", title=f"Email sign-off {n}", status="wont_fix")
    milestones = ["ideated", "data_ready", "experiment_started", "validated", "registered",
                  "deployed"]
    for i, kind in enumerate(("classical", "llm")):
        start = today - timedelta(days=200 + 10 * i)
        events = [(m, start + timedelta(days=15 * k)) for k, m in enumerate(milestones)]
        events += [("rolled_back", today - timedelta(days=20)),
                   ("deployed", today - timedelta(days=10))]
        model = factories.make_model(db, team, name=f"model-{n}-{i}", kind=kind,
                                     events=[(e, at(day, 12)) for e, day in events])
        for back in range(3):
            month = date(today.year, today.month, 1) - timedelta(days=31 * back)
            db.add(ComputeCost(model_id=model.id, month=month.replace(day=1),
                               gpu_hours=D(10), amount=D(100 * (i + 1))))
    db.add(MaturityAssessment(team_id=team.id, assessed_on=today - timedelta(days=10),
                              rubric_version="test", level=1, score=D("1.40")))
    initiative = Initiative(team_id=team.id, title=f"Tracking server {n}",
                            status=InitiativeStatus.delivered, one_time_cost=D(1000),
                            started_on=today - timedelta(days=120),
                            delivered_on=today - timedelta(days=60))
    db.add(initiative)
    db.flush()
    db.add(InitiativeLink(initiative_id=initiative.id, pain_point_id=resolved.id,
                          expected_reduction=D(50)))
    db.flush()
    return team


@contextmanager
def counting(connection) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)


# --- the overview -----------------------------------------------------------------------------

def test_overview_tiles_for_the_current_quarter_from_quarter_kpis(client, db, as_role):
    team = seed_team(db, 1)
    db.commit()
    as_role("leader")
    org = get_org_settings(db)
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    response = client.get(f"/?to={current.label}")
    assert response.status_code == 200
    page = soup_of(response)
    assert text_of(page.select_one("h1")) == "Overview"
    assert current.label in text_of(page.select_one("#kpi-title"))
    kpis = quarter_kpis(db, org, current, team_ids=None, today=clock.today())
    values = tiles(page)
    assert D(values["annual-cost"]) == kpis.annual_cost.value
    assert D(values["quarter-cost"]) == kpis.quarter_cost.value
    assert D(values["hours-per-week"]) == kpis.hours_per_week.value
    assert D(values["fte"]) == kpis.fte.value
    assert D(values["deployments"]) == kpis.deployments.value
    assert D(values["maturity"]) == D("1.40")
    assert D(values["llm-spend"]) == kpis.llm_spend.value
    # Each tile explains itself and shows its sample or range.
    for tile in page.select("li.kpi"):
        href = tile.select_one("a.kpi-label")["href"]
        assert href == f"/metrics/definitions#{tile['data-metric']}"
        assert tile.select_one(".kpi-change")
    annual = page.select_one("li[data-metric=annual-cost]")
    assert "range $" in text_of(annual) and "pain points" in text_of(annual)
    # The costliest pain points link to their pages, costliest first.
    rows = page.select("[data-testid=top-pain-points] tbody tr")
    assert rows[0].select_one("a")["href"].startswith("/pain-points/")
    assert "Manual deploys 1" in text_of(rows[0])
    assert team.name not in text_of(page.select_one("#kpi-title"))  # no team filter


def test_overview_charts_drill_down_and_validate(client, db, as_role):
    seed_team(db, 1)
    db.commit()
    as_role("leader")
    page = soup_of(client.get("/"))
    stage = figure_json(page, "overview-cost-by-stage")
    go.Figure(stage)
    assert page.select_one("figure#overview-cost-by-stage").has_attr("data-drilldown")
    target = urlsplit(stage["data"][0]["customdata"][0])
    assert target.path == "/pain-points"
    assert parse_qs(target.query)["status"] == ["open", "in_progress", "wont_fix"]
    assert parse_qs(target.query)["stage"] == ["data-preparation"]
    # The drill-down lands on the ledger filtered to that stage.
    listed = soup_of(client.get(stage["data"][0]["customdata"][0]))
    assert "Slow backtests 1" in listed.text and "Manual deploys 1" not in listed.text
    lead = figure_json(page, "overview-lead-time")
    go.Figure(lead)
    assert [t["name"] for t in lead["data"]] == ["Median", "p90"]
    # The last eight quarters by default, from the first with a deployment.
    assert 1 <= len(lead["data"][0]["x"]) <= 8 and lead["data"][0]["y"][0] is not None


def test_previous_quarter_comparison_and_quarter_choice(client, db, as_role):
    seed_team(db, 1)
    db.commit()
    as_role("leader")
    org = get_org_settings(db)
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    previous = current.previous()
    page = soup_of(client.get(f"/?to={previous.label}"))
    assert f"{previous.label} against {previous.previous().label}" in text_of(
        page.select_one("#kpi-title"))
    kpis = quarter_kpis(db, org, previous, team_ids=None, today=clock.today())
    assert D(tiles(page)["quarter-cost"]) == kpis.quarter_cost.value


def test_persona_and_stage_narrow_the_cost_tiles_only(client, db, as_role):
    seed_team(db, 1)
    db.commit()
    as_role("leader")
    everything = tiles(soup_of(client.get("/")))
    narrowed = tiles(soup_of(client.get("/?persona=ml-engineer&stage=deployment")))
    org = get_org_settings(db)
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    [cost] = cost_figures(db, PainPointFilters(
        persona_id=factories.persona(db, "ml-engineer").id,
        stage_id=factories.stage(db, "deployment").id),
        first=current.first_day, last=current.last_day, weeks=org.working_weeks_per_year)
    assert D(narrowed["annual-cost"]) == cost.annual_run_rate
    assert D(narrowed["annual-cost"]) < D(everything["annual-cost"])
    # Models, initiatives and assessments have no persona or stage.
    for metric in ("deployments", "llm-spend", "maturity", "realized-savings", "lead-time"):
        assert narrowed[metric] == everything[metric]


# --- filters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_htmx_request_gets_the_dashboard_block_and_the_canonical_url(client, db, as_role, path):
    team = seed_team(db, 1)
    db.commit()
    as_role("leader")
    response = client.get(f"{path}?team={team.slug}&persona=&stage=&from=2026-Q1&to=2026-Q2",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = soup_of(response)
    assert page.find("html") is None and page.find("form") is None
    assert soup_of(response).select("figure[data-plotly]")
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["HX-Push-Url"] == f"{path}?team={team.slug}&from=2026-Q1&to=2026-Q2"
    # The pushed URL opened directly gives the whole page with the same view.
    full = client.get(response.headers["HX-Push-Url"])
    page = soup_of(full)
    assert page.select_one("form.dash-filters")["hx-target"] == "#dashboard"
    assert page.select_one(f"#f-team-{team.slug}").has_attr("checked")
    assert page.select_one("#f-to option[selected]")["value"] == "2026-Q2"
    fragment = soup_of(response).select("figure[data-plotly]")
    assert [f["id"] for f in page.select("#dashboard figure[data-plotly]")] == [
        f["id"] for f in fragment]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("query, field, message", [
    ("team=nope", "Team", "unknown team 'nope'"),
    ("persona=astronaut", "Persona", "unknown persona 'astronaut'"),
    ("stage=nope", "Lifecycle stage", "unknown stage 'nope'"),
    ("to=2026-Q9", "To quarter", "is not a quarter"),
    ("from=2026-Q3&to=2026-Q1", "From quarter", "must not be after the 'to' quarter"),
    ("from=1999-Q4", "From quarter", "cannot be before 2000-Q1"),
    ("to=2999-Q1", "To quarter", "cannot be after"),
])
def test_bad_filters_answer_422_naming_the_field(client, db, as_role, path, query, field,
                                                 message):
    factories.make_team(db)
    as_role("leader")
    response = client.get(f"{path}?{query}")
    assert response.status_code == 422
    page = soup_of(response)
    errors = text_of(page.select_one("[data-testid=filter-errors]"))
    assert f"{field}:" in errors and message in errors
    assert page.select("figure[data-plotly]") == []
    # The form is still there, the field marked.
    assert page.select_one("form.dash-filters [aria-invalid=true]")


def test_a_viewer_sees_its_own_teams_and_not_another(client, db, as_role):
    mine, other = seed_team(db, 1), seed_team(db, 2)
    db.commit()
    as_role("viewer", teams=[mine])
    page = soup_of(client.get("/dashboards/cost"))
    assert [i["value"] for i in page.select("input[name=team]")] == [mine.slug]
    team_bars = figure_json(page, "cost-by-team")["data"][0]
    assert team_bars["y"] == [mine.name]
    # Another team's slug is as unknown as a made-up one.
    response = client.get(f"/dashboards/cost?team={other.slug}")
    assert response.status_code == 422
    assert f"unknown team '{other.slug}'" in text_of(soup_of(response))
    org = get_org_settings(db)
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    kpis = quarter_kpis(db, org, current, team_ids=frozenset({mine.id}), today=clock.today())
    assert D(tiles(soup_of(client.get(f"/?to={current.label}")))["annual-cost"]) == \
        kpis.annual_cost.value


def test_several_teams_add_up(client, db, as_role):
    one, two, three = seed_team(db, 1), seed_team(db, 2), seed_team(db, 3)
    db.commit()
    as_role("leader")
    both = tiles(soup_of(client.get(f"/?team={one.slug}&team={two.slug}")))
    alone = [tiles(soup_of(client.get(f"/?team={t.slug}"))) for t in (one, two)]
    assert D(both["quarter-cost"]) == pytest.approx(sum(D(a["quarter-cost"]) for a in alone))
    assert D(both["deployments"]) == sum(D(a["deployments"]) for a in alone)
    everyone = tiles(soup_of(client.get("/")))
    assert D(everyone["deployments"]) == 3 * D(alone[0]["deployments"])
    del three


# --- the cost dashboard -----------------------------------------------------------------------

def test_cost_dashboard_charts_tables_and_drill_downs(client, db, as_role):
    team = seed_team(db, 1)
    db.commit()
    as_role("leader")
    response = client.get(f"/dashboards/cost?team={team.slug}")
    assert response.status_code == 200
    page = soup_of(response)
    ids = [f["id"] for f in page.select("figure[data-plotly]")]
    assert ids == ["cost-by-stage", "cost-by-persona", "cost-by-team", "pareto", "journey",
                   "cost-trend"]
    for figure_id in ids:
        go.Figure(figure_json(page, figure_id))
        # Each chart has a text alternative: a label and a table behind a toggle.
        node = page.select_one(f"figure#{figure_id}")
        assert node["aria-label"] and node.select_one("details summary") and node.select("td")
    persona = figure_json(page, "cost-by-persona")["data"][0]
    query = parse_qs(urlsplit(persona["customdata"][0]).query)
    # One team chosen: the drill-down keeps it.
    assert query["team"] == [team.slug] and query["persona"] == ["data-scientist"]
    heat = figure_json(page, "journey")["data"][0]
    assert heat["type"] == "heatmap"
    links = [url for row in heat["customdata"] for url in row if url]
    assert all("persona=" in u and "stage=" in u for u in links) and len(links) == 3
    pareto = figure_json(page, "pareto")
    assert pareto["data"][0]["customdata"][0].startswith("/pain-points/")
    assert pareto["data"][1]["yaxis"] == "y2"
    # Three recurring pain points still cost something: cumulative share reaches 100 %.
    assert pareto["data"][1]["y"][-1] == pytest.approx(100)


def test_cost_by_quarter_splits_resolved_and_adds_up_to_the_quarter_cost(client, db, as_role):
    seed_team(db, 1)
    db.commit()
    as_role("leader")
    org = get_org_settings(db)
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    page = soup_of(client.get("/dashboards/cost"))
    trend = figure_json(page, "cost-trend")
    unresolved, resolved = trend["data"]
    quarters = [q.label for q in last_quarters(current, 8)]
    # From the first quarter with a cost: the quarters before it had nothing logged.
    assert unresolved["x"] == quarters[quarters.index(unresolved["x"][0]):]
    assert unresolved["y"][0] + resolved["y"][0] > 0
    [total] = cost_figures(db, PainPointFilters(), first=current.first_day,
                           last=current.last_day, weeks=org.working_weeks_per_year)
    assert unresolved["y"][-1] + resolved["y"][-1] == pytest.approx(float(total.cost))
    # The pain point resolved 30 days ago shows as resolved in this quarter, or the last.
    [split] = cost_by_period(db, PainPointFilters(), weeks=org.working_weeks_per_year,
                             periods=[(current.first_day, current.last_day)])
    assert split.cost == pytest.approx(total.cost)
    assert resolved["y"][-1] > 0 or resolved["y"][-2] > 0


# --- the velocity dashboard -------------------------------------------------------------------

def test_velocity_dashboard_charts_and_the_note_on_cost_only_filters(client, db, as_role):
    team = seed_team(db, 1)
    db.commit()
    as_role("leader")
    page = soup_of(client.get("/dashboards/velocity"))
    ids = [f["id"] for f in page.select("figure[data-plotly]")]
    assert ids == ["lead-time-trend", "stage-dwell", "funnel", "deployments", "llm-spend"]
    for figure_id in ids:
        go.Figure(figure_json(page, figure_id))
    assert "Persona and stage do not apply here" in text_of(page.select_one("form.dash-filters"))
    assert page.select_one("[data-testid=cost-only]") is None
    noted = soup_of(client.get(f"/dashboards/velocity?team={team.slug}&persona=ml-engineer"))
    assert "do not apply to velocity" in text_of(noted.select_one("[data-testid=cost-only]"))
    funnel = figure_json(noted, "funnel")
    assert funnel["data"][0]["customdata"][0].startswith(f"/models?team={team.slug}&cohort=")
    spend = figure_json(noted, "llm-spend")
    assert spend["data"][0]["customdata"][0] == f"/models?team={team.slug}&kind=llm"
    assert sum(spend["data"][0]["y"]) == 600.0  # 3 months × 200 of the LLM model
    deployments = figure_json(noted, "deployments")
    assert sum(deployments["data"][0]["y"]) == 4


# --- empty states and definitions -------------------------------------------------------------

@pytest.mark.parametrize("path, count", [("/", 3), ("/dashboards/cost", 6),
                                         ("/dashboards/velocity", 5)])
def test_empty_states_say_what_to_log(client, db, as_role, path, count):
    as_role("leader")
    response = client.get(path)
    assert response.status_code == 200
    page = soup_of(response)
    assert page.select("figure[data-plotly]") == []
    empties = page.select("[data-testid=empty-state]")
    assert len(empties) == count
    for node in empties:
        assert "Log" in node.text or "Post" in node.text
        assert node.select_one("a[href]")


def test_definitions_page_has_every_anchor_and_the_formulas(client, db, as_role):
    as_role("viewer")
    response = client.get("/metrics/definitions")
    assert response.status_code == 200
    page = soup_of(response)
    anchors = {"annual-cost", "hours-per-week", "quarter-cost", "lead-time", "production-rate",
               "deployments", "change-failure-rate", "realized-savings", "llm-spend",
               "maturity", "stage-dwell"}
    assert anchors <= {s["id"] for s in page.select("section[id]")}
    text = text_of(page)
    assert ("expected_hours × people_affected × working_weeks_per_year × hourly_cost"
            in text)
    assert "rolled_back ÷ deployed events in the period" in text
    assert "falls in it, as median and p90 (linear interpolation, as" in text
    assert "Working weeks per year 46" in text


def test_overview_tile_links_resolve_to_anchors(client, db, as_role):
    seed_team(db, 1)
    db.commit()
    as_role("leader")
    page = soup_of(client.get("/"))
    definitions = soup_of(client.get("/metrics/definitions"))
    ids = {s["id"] for s in definitions.select("[id]")}
    for link in page.select("li.kpi a.kpi-label"):
        assert link["href"].split("#")[1] in ids


# --- speed: a bounded number of statements ----------------------------------------------------

def statement_counts(client, connection, paths) -> dict[str, int]:
    result = {}
    for path in paths:
        with counting(connection) as statements:
            assert client.get(path).status_code == 200
        result[path] = len(statements)
    return result


def test_statement_count_does_not_grow_with_the_data(client, db, connection, as_role):
    teams = [seed_team(db, 1)]
    db.commit()
    as_role("leader")
    filtered = [f"{p}?team={teams[0].slug}&persona=data-scientist" for p in PAGES]
    small = statement_counts(client, connection, PAGES + filtered)
    teams += [seed_team(db, n) for n in range(2, 6)]  # five times the data
    db.commit()
    big = statement_counts(client, connection, PAGES + filtered)
    print("statements per page:", small)
    assert big == small
    assert max(small.values()) <= 40


def test_fiscal_quarters_follow_the_org_settings(client, db, as_role):
    seed_team(db, 1)
    org = get_org_settings(db)
    org.fiscal_year_start_month = 10  # a fiscal year is named by the year in which it ends
    db.commit()
    as_role("leader")
    current = quarter_of(clock.today(), 10)
    complete = current.previous()  # the overview opens on the last complete fiscal quarter
    page = soup_of(client.get("/"))
    assert f"{complete.label} against {complete.previous().label}" in text_of(
        page.select_one("#kpi-title"))
    kpis = quarter_kpis(db, org, complete, team_ids=None, today=clock.today())
    assert D(tiles(page)["quarter-cost"]) == kpis.quarter_cost.value
    assert page.select_one("#f-to option[selected]")["value"] == complete.label
    trend = figure_json(soup_of(client.get("/dashboards/cost")), "cost-trend")
    assert trend["data"][0]["x"][-1] == current.label
    first = last_quarters(current, 8)[0]
    response = client.get(f"/dashboards/cost?from={first.label}&to={current.label}",
                          headers={"HX-Request": "true"})
    assert response.headers["HX-Push-Url"] == (
        f"/dashboards/cost?from={first.label}&to={current.label}")


def _models_listed(client, url: str) -> int:
    page = soup_of(client.get(url))
    return len(page.select("table.models tbody tr[data-model]"))


def test_every_velocity_bar_opens_exactly_the_models_it_counts(client, db, as_role):
    """A funnel bar lists the models of its cohort that reached its milestone, a deployments
    bar the models deployed in its month: as many as the bar says (they used to open the
    whole, unfiltered model list)."""
    team = seed_team(db, 1)
    seed_team(db, 2)  # another team's models stay out of a team-filtered drill-down
    db.commit()
    as_role("leader")
    page = soup_of(client.get(f"/dashboards/velocity?team={team.slug}"))
    funnel = figure_json(page, "funnel")
    checked = 0
    for trace in funnel["data"]:
        for count, url in zip(trace["y"], trace["customdata"], strict=True):
            assert _models_listed(client, url) == count, url
            checked += count
    assert checked > 0
    deployments = figure_json(page, "deployments")["data"][0]
    months = [(n, url) for n, url in zip(deployments["y"], deployments["customdata"],
                                          strict=True) if n]
    assert months
    for deployed, url in months:
        # A model deployed twice in a month is one model of the list.
        assert 1 <= _models_listed(client, url) <= deployed, url
        assert "deployed_in=" in url
    quiet = next(url for n, url in zip(deployments["y"], deployments["customdata"],
                                       strict=True) if not n)
    assert _models_listed(client, quiet) == 0


def test_the_model_list_says_which_drill_down_it_shows_and_refuses_a_bad_one(client, db,
                                                                              as_role):
    team = seed_team(db, 1)
    db.commit()
    as_role("leader")
    cohort = quarter_of(clock.today()).label
    page = soup_of(client.get(f"/models?team={team.slug}&cohort={cohort}&reached=deployed"))
    assert f"ideated in {cohort}, reached deployed" in text_of(
        page.select_one("[data-testid=result-count]"))
    assert page.select_one("[data-testid=clear-drill]")["href"] == f"/models?team={team.slug}"
    bad = client.get("/models?cohort=2026-Q7&deployed_in=2026-13")
    alert = text_of(soup_of(bad).select_one(".flash-error"))
    assert "cohort" in alert.lower() and "deployed" in alert.lower()


def test_the_overview_opens_on_the_last_complete_quarter_and_says_a_running_one_runs(
        client, db, as_role):
    """The running quarter against a whole one read as a collapse ("Production rate 0.0% ▼",
    "Deployments −22%"): the overview opens on the last complete quarter, as the reports page
    does; asked for the running one, it says the comparison is of a part with a whole."""
    seed_team(db, 1)
    db.commit()
    as_role("leader")
    org = get_org_settings(db)
    current = quarter_of(clock.today(), org.fiscal_year_start_month)
    complete = current.previous()
    page = soup_of(client.get("/"))
    assert text_of(page.select_one("#kpi-title")) == \
        f"{complete.label} against {complete.previous().label}"
    assert page.select_one("#f-to option[selected]")["value"] == complete.label
    assert page.select_one("[data-testid=running-quarter]") is None
    kpis = quarter_kpis(db, org, complete, team_ids=None, today=clock.today())
    assert D(tiles(page)["deployments"]) == kpis.deployments.value
    running = soup_of(client.get(f"/?to={current.label}"))
    note = running.select_one("[data-testid=running-quarter]").parent
    assert f"{current.label} is still running" in text_of(note)
    assert f"compared with the whole of {complete.label}" in text_of(note)
    # The maturity score says what it is out of.
    maturity = running.select_one("li[data-metric=maturity] .kpi-value")
    assert text_of(maturity) == "1.40 of 2"

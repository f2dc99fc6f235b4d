"""The initiative pages as a browser uses them: list with its horizon swap, form with links,
initiative page, "what to fix next" with its scenario builder, the ROI dashboard; roles and
bad input. Every figure is checked against queries.savings, roi.py or a hand computation."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from app.core.clock import today
from app.core.clock import utcnow
from app.initiatives import roi
from app.initiatives.models import Initiative, InitiativeLink
from app.initiatives.queries import realized_by_period, savings
from app.pain_points import cost
from app.pain_points.models import PainPoint
from app.web.templating import money
from tests import factories
from tests.conftest import page_csrf

WEEKS = D(46)
HTMX = {"HX-Request": "true"}
RATE = D(120)  # the teams' data-scientist override below


def pct(ratio: D) -> str:
    """A ratio as the pages show it: signed, one decimal, a true minus sign."""
    return f"{ratio * 100:+.1f} %".replace("-", "−")


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def text_of(node) -> str:
    return " ".join(node.get_text(" ").split())


def initiative_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Initiative))


def link_count(db) -> int:
    return db.scalar(select(func.count()).select_from(InitiativeLink))


def run_rate(low, likely, high, people, which="expected") -> D:
    hours = {"expected": cost.expected_hours(D(low), D(likely), D(high)),
             "low": D(low), "high": D(high)}[which]
    return cost.annual_run_rate(hours, D(people), WEEKS, RATE)


def add(db, team, **values) -> PainPoint:
    defaults = dict(team_id=team.id, persona_id=factories.persona(db).id,
                    stage_id=factories.stage(db).id, title="Retrains wait in a ticket queue",
                    kind="recurring", hours_low=D(1), hours_likely=D(2), hours_high=D(4),
                    people_affected=10, observed_since=today() - timedelta(days=200))
    pain_point = PainPoint(**(defaults | values))
    db.add(pain_point)
    db.flush()
    return pain_point


def team_of(db, slug: str):
    return factories.make_team(db, name=slug.title(), slug=slug,
                               headcounts={"data-scientist": (10, RATE)})


@pytest.fixture
def fraud(db):
    """A team with two recurring pain points (119,600 and 55,200 a year) and a one-time one,
    and another team with one pain point."""
    team = team_of(db, "fraud")
    other = team_of(db, "recs")
    pps = {
        "queue": add(db, team, title="Retrains wait in a ticket queue"),
        "pickle": add(db, team, title="Rollback is a redeploy by hand", hours_low=D(2),
                      hours_likely=D(2), hours_high=D(2), people_affected=5),
        "spark": add(db, team, title="Learn Spark", kind="one_time", hours_low=D(10),
                     hours_likely=D(20), hours_high=D(30), people_affected=4),
        "recs": add(db, other, title="Feature recomputation", hours_likely=D(3)),
    }
    db.commit()
    return team, other, pps


def form(csrf: str, team: str = "fraud", links: dict | None = None, **fields) -> dict:
    data = {"csrf_token": csrf, "title": "Model registry & one-click rollback",
            "description": "A registry with one-step rollback.", "owner": "Marcus Lee",
            "team": team, "status": "in_progress", "one_time_cost": "90000",
            "yearly_run_cost": "18000", "started_on": (today() - timedelta(days=300)).isoformat(),
            "delivered_on": "", "version": "1"}
    data |= fields
    data["link"] = [str(pp) for pp in links or {}]
    data |= {f"reduction-{pp}": str(reduction) for pp, reduction in (links or {}).items()}
    return data


def assert_field_error(soup: BeautifulSoup, field_id: str, *fragments: str) -> None:
    """The message sits beside its field, and the field points at it."""
    message = soup.find("p", id=f"{field_id}-error")
    assert message is not None, f"no error shown for {field_id}: {text_of(soup.find('main'))}"
    assert "field-error" in message["class"]
    for fragment in fragments:
        assert fragment in message.get_text(), message.get_text()
    field = soup.find(id=field_id)
    assert field.get("aria-invalid") == "true"
    assert f"{field_id}-error" in field.get("aria-describedby", "").split()


def list_rows(soup: BeautifulSoup) -> dict[str, BeautifulSoup]:
    return {tr.find("a").get_text(): tr for tr in soup.select("tr[data-initiative]")}


# --- create, list, detail ---------------------------------------------------------------------


def test_pm_creates_an_initiative_with_links_and_the_list_shows_its_savings(client, db, as_role,
                                                                           fraud):
    team, _, pps = fraud
    as_role("pm", teams=[team])
    new = client.get("/initiatives/new?team=fraud")
    assert new.status_code == 200
    # The links editor offers the team's pain points, run-rates shown.
    offered = {int(tr["data-link"]) for tr in soup_of(new).select("tr[data-link]")}
    assert offered == {pps["queue"].id, pps["pickle"].id, pps["spark"].id}

    links = {pps["queue"].id: "50", pps["pickle"].id: "100", pps["spark"].id: "0"}
    response = client.post("/initiatives", data=form(page_csrf(client, "/initiatives/new"),
                                                     links=links))
    assert response.status_code == 303, soup_of(response).find("main")
    stored = db.scalars(select(Initiative)).one()
    assert response.headers["location"] == f"/initiatives/{stored.id}"
    assert stored.team_id == team.id and stored.one_time_cost == D(90000)
    assert link_count(db) == 3
    detail = soup_of(client.get(response.headers["location"]))
    assert "created" in text_of(detail.select_one(".flash"))

    expected = savings(db, [stored.id], weeks=WEEKS, first=today(), last=today())[stored.id]
    # 119,600 × 50 % + 55,200 × 100 % (+ a one-time pain point, which saves nothing a year)
    assert abs(expected.expected - (run_rate(1, 2, 4, 10) / 2 + run_rate(2, 2, 2, 5))) < D("1e-6")
    row = list_rows(soup_of(client.get("/initiatives")))["Model registry & one-click rollback"]
    cells = {td["data-testid"]: text_of(td) for td in row.select("td[data-testid]")}
    assert cells["expected"] == (f"{money(expected.expected)} {money(expected.expected_low)} – "
                                 f"{money(expected.expected_high)}")
    assert cells["expected"].startswith("$115,000.00")
    assert cells["realized"] == "$0.00"
    roi3 = roi.roi(expected.expected, D(90000), D(18000), 3)
    assert cells["roi"] == pct(roi3)
    months = roi.payback_months(expected.expected, D(90000), D(18000))
    assert cells["payback"] == f"{months:.1f} months"
    assert text_of(row("td")[1]) == "Fraud"

    assert text_of(detail.select_one("[data-testid=expected]")) == money(expected.expected)
    linked = {int(tr["data-pain-point"]) for tr in detail.select("tr[data-pain-point]")}
    assert linked == set(links)
    assert [text_of(detail.select_one(f"[data-testid=roi-{h}]")) for h in (1, 2, 3)] == [
        pct(r) for r in (roi.roi(expected.expected, D(90000), D(18000), h) for h in (1, 2, 3))]


def test_the_initiative_page_shows_realized_savings_per_quarter_and_the_promise(client, db,
                                                                                as_role, fraud):
    team, _, pps = fraud
    delivered = today() - timedelta(days=120)
    pps["pickle"].status, pps["pickle"].resolved_on = "resolved", today() - timedelta(days=60)
    # Resolved before the delivery: it realizes nothing for this initiative.
    pps["queue"].status, pps["queue"].resolved_on = "resolved", delivered - timedelta(days=1)
    initiative = Initiative(title="Registry", team_id=team.id, status="delivered",
                            one_time_cost=D(90000), yearly_run_cost=D(18000),
                            started_on=delivered - timedelta(days=100), delivered_on=delivered)
    db.add(initiative)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=initiative.id, pain_point_id=pps["pickle"].id,
                               expected_reduction=D(80)),
                InitiativeLink(initiative_id=initiative.id, pain_point_id=pps["queue"].id,
                               expected_reduction=D(50))])
    db.commit()
    as_role("viewer", teams=[team])
    soup = soup_of(client.get(f"/initiatives/{initiative.id}"))
    to_date = savings(db, [initiative.id], weeks=WEEKS, first=delivered,
                      last=today())[initiative.id]
    assert to_date.realized > 0
    by_hand = run_rate(2, 2, 2, 5) * D("0.8") * cost.period_share(
        cost.day_number(today() - timedelta(days=60)), cost.OPEN_ENDED,
        cost.year_slices(delivered, today()))
    assert abs(to_date.realized - by_hand) < D("0.000001")  # SQLite computes in floats
    assert text_of(soup.select_one("[data-testid=realized]")) == money(to_date.realized)
    # The quarters add up to the realized savings to date (each counted to today at most).
    quarter_rows = soup.select("#quarters tr[data-quarter]")
    assert len(quarter_rows) == 8
    amounts = [text_of(tr("td")[-1]) for tr in quarter_rows]
    assert "(to date)" in text_of(quarter_rows[-1])
    per_quarter = realized_by_period(db, [initiative.id], weeks=WEEKS, periods=[
        (date.fromisoformat(tr.select("time")[0]["datetime"]),
         date.fromisoformat(tr.select("time")[1]["datetime"])) for tr in quarter_rows],
    )[initiative.id]
    assert amounts == [money(v) for v in per_quarter]
    for tr, value in zip(quarter_rows, per_quarter):  # the grouped query equals savings()
        first, last = (date.fromisoformat(t["datetime"]) for t in tr.select("time"))
        assert abs(savings(db, [initiative.id], weeks=WEEKS, first=first,
                           last=last)[initiative.id].realized - value) < D("0.000001")
    assert abs(sum(per_quarter) - to_date.realized) < D("0.01")
    promise = text_of(soup.select_one("[data-testid=promise]"))
    assert f"realized {money(to_date.realized)} against {money(to_date.expected)}" in promise
    rows = {int(tr["data-pain-point"]): text_of(tr) for tr in soup.select("tr[data-pain-point]")}
    assert "resolved before the delivery" in rows[pps["queue"].id]
    assert "yes, since" in rows[pps["pickle"].id]
    # A viewer reads; the page offers no edit.
    assert soup.find("a", string="Edit") is None
    assert soup.find("figure", attrs={"data-plotly": True}) is not None


def test_edit_relinks_and_delete_is_soft(client, db, as_role, fraud):
    team, _, pps = fraud
    pm = as_role("pm", teams=[team])
    client.post("/initiatives", data=form(page_csrf(client, "/initiatives/new"),
                                          links={pps["queue"].id: 50}))
    initiative = db.scalars(select(Initiative)).one()
    edit = client.get(f"/initiatives/{initiative.id}/edit")
    assert soup_of(edit).find(id=f"link-{pps['queue'].id}").has_attr("checked")
    assert soup_of(edit).find(id=f"reduction-{pps['queue'].id}")["value"] == "50"
    delivered = (today() - timedelta(days=10)).isoformat()
    response = client.post(f"/initiatives/{initiative.id}", data=form(
        page_csrf(client, f"/initiatives/{initiative.id}/edit"), title="Registry v2",
        status="delivered", delivered_on=delivered, links={pps["pickle"].id: 40}))
    assert response.status_code == 303, text_of(soup_of(response).find("main"))
    db.expire_all()
    stored = db.get(Initiative, initiative.id)
    assert stored.title == "Registry v2" and stored.delivered_on.isoformat() == delivered
    assert [(link.pain_point_id, link.expected_reduction) for link in
            db.scalars(select(InitiativeLink))] == [(pps["pickle"].id, D(40))]

    response = client.post(f"/initiatives/{initiative.id}/delete",
                           data={"csrf_token": page_csrf(client, f"/initiatives/{initiative.id}")})
    assert response.status_code == 303 and response.headers["location"] == "/initiatives"
    db.expire_all()
    assert db.get(Initiative, initiative.id).deleted_at is not None  # kept, soft-deleted
    assert client.get(f"/initiatives/{initiative.id}").status_code == 404
    assert list_rows(soup_of(client.get("/initiatives"))) == {}
    assert pm.email


# --- bad input and roles --------------------------------------------------------------------


@pytest.mark.parametrize("case, field, fragment", [
    ("reduction_over_100", "reduction", "less than or equal to 100"),
    ("reduction_negative", "reduction", "greater than or equal to 0"),
    ("reduction_blank", "reduction", "required"),
    ("negative_cost", "one_time_cost", "greater than or equal to 0"),
    ("negative_run_cost", "yearly_run_cost", "greater than or equal to 0"),
    ("delivery_before_start", "delivered_on", "before the start"),
    ("delivery_in_future", "delivered_on", "future"),
    ("delivered_without_date", "delivered_on", "delivery date"),
    ("other_team", "link", "belongs to another team"),
    ("blank_title", "title", "required"),
])
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(client, db, as_role, fraud,
                                                                     case, field, fragment):
    team, other, pps = fraud
    as_role("pm", teams=[team, other])
    queue = pps["queue"].id
    links, fields = {queue: 50}, {}
    if case == "reduction_over_100":
        links = {queue: 101}
    elif case == "reduction_negative":
        links = {queue: -1}
    elif case == "reduction_blank":
        links = {queue: ""}
    elif case == "negative_cost":
        fields = {"one_time_cost": "-5"}
    elif case == "negative_run_cost":
        fields = {"yearly_run_cost": "-5"}
    elif case == "delivery_before_start":
        fields = {"started_on": "2026-05-01", "delivered_on": "2026-04-01"}
    elif case == "delivery_in_future":
        fields = {"delivered_on": (today() + timedelta(days=3)).isoformat()}
    elif case == "delivered_without_date":
        fields = {"status": "delivered"}
    elif case == "other_team":
        links = {pps["recs"].id: 50}  # a pain point of recs on a fraud initiative
    elif case == "blank_title":
        fields = {"title": "  "}
    field_id = {"reduction": f"reduction-{next(iter(links))}",
                "link": f"link-{next(iter(links))}"}.get(field, field)
    response = client.post("/initiatives", data=form(page_csrf(client, "/initiatives/new"),
                                                     links=links, **fields))
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, field_id, fragment)
    assert "Nothing was saved" in text_of(soup.select_one("[role=alert]"))
    # The form keeps what was typed.
    assert soup.find(id="owner")["value"] == "Marcus Lee"
    assert soup.find(id=f"link-{next(iter(links))}").has_attr("checked")
    assert initiative_count(db) == 0 and link_count(db) == 0


def test_a_pm_of_another_team_is_refused(client, db, as_role, fraud):
    team, other, pps = fraud
    initiative = Initiative(title="Theirs", team_id=team.id)
    db.add(initiative)
    db.commit()
    as_role("pm", teams=[other])
    csrf = page_csrf(client, "/initiatives/new")
    response = client.post("/initiatives", data=form(csrf, team="fraud"))
    assert response.status_code == 403
    assert initiative_count(db) == 1
    assert client.get(f"/initiatives/{initiative.id}/edit").status_code == 403
    response = client.post(f"/initiatives/{initiative.id}",
                           data=form(csrf, title="Hijacked"))
    assert response.status_code == 403
    assert client.post(f"/initiatives/{initiative.id}/delete",
                       data={"csrf_token": csrf}).status_code == 403
    db.expire_all()
    assert db.get(Initiative, initiative.id).title == "Theirs"
    assert db.get(Initiative, initiative.id).deleted_at is None
    # Its own team's pain points only, even on an org-wide initiative.
    response = client.post("/initiatives", data=form(csrf, team="",
                                                     links={pps["queue"].id: 10}))
    assert response.status_code == 422
    assert_field_error(soup_of(response), f"link-{pps['queue'].id}", "not a member")
    assert initiative_count(db) == 1


def test_viewers_and_leaders_may_not_edit_and_see_only_their_teams(client, db, as_role, fraud):
    team, other, _ = fraud
    db.add_all([Initiative(title="Fraud's", team_id=team.id),
                Initiative(title="Recs'", team_id=other.id), Initiative(title="Everyone's")])
    db.commit()
    as_role("viewer", teams=[team])
    assert set(list_rows(soup_of(client.get("/initiatives")))) == {"Fraud's", "Everyone's"}
    recs = db.scalars(select(Initiative).where(Initiative.title == "Recs'")).one()
    assert client.get(f"/initiatives/{recs.id}").status_code == 404
    assert client.get("/initiatives/new").status_code == 403
    page = soup_of(client.get("/initiatives"))
    assert page.find("a", string="New initiative") is None


# --- the list's horizon swap ------------------------------------------------------------------


def test_htmx_horizon_swap_returns_a_fragment_with_the_roi_over_that_horizon(client, db, as_role,
                                                                           fraud):
    team, _, pps = fraud
    initiative = Initiative(title="Registry", team_id=team.id, one_time_cost=D(100000),
                            yearly_run_cost=D(20000))
    db.add(initiative)
    db.flush()
    db.add(InitiativeLink(initiative_id=initiative.id, pain_point_id=pps["queue"].id,
                          expected_reduction=D(100)))
    db.commit()
    as_role("leader")
    full = client.get("/initiatives")
    assert "HX-Request" in full.headers["vary"]
    form_tag = soup_of(full).find("form", class_="filters")
    assert form_tag["hx-target"] == "#results" and form_tag["hx-push-url"] == "true"
    assert soup_of(full).find(id="horizon").find("option", selected=True)["value"] == "3"

    fragment = client.get("/initiatives?horizon=1", headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<h1" not in fragment.text
    soup = soup_of(fragment)
    expected = run_rate(1, 2, 4, 10)
    assert "ROI over 1 year" in text_of(soup.select_one("[data-testid=result-count]"))
    assert text_of(soup.select_one("[data-testid=roi]")) == \
        pct(roi.roi(expected, D(100000), D(20000), 1))
    # The pushed URL gives the whole page.
    assert "<html" in client.get("/initiatives?horizon=1").text
    bad = client.get("/initiatives?horizon=4", headers=HTMX)
    assert bad.status_code == 422 and "horizon" in bad.text.lower()


# --- what to fix next and the scenario --------------------------------------------------------


def test_next_ranks_open_recurring_pain_points_with_shares_summing_to_100(client, db, as_role,
                                                                         fraud):
    team, other, _ = fraud
    add(db, team, title="Fixed already", status="resolved", resolved_on=today())
    add(db, team, title="Gone", deleted_at=utcnow())
    add(db, team, title="Won't fix still hurts", status="wont_fix", hours_likely=D(1),
        hours_high=D(1), hours_low=D(1), people_affected=1)
    db.commit()
    as_role("leader")
    soup = soup_of(client.get("/initiatives/next"))
    rows = soup.select("table.ranking tr[data-pain-point]")
    titles = [tr.find("label").get_text() for tr in rows]
    assert titles == ["Feature recomputation", "Retrains wait in a ticket queue",
                      "Rollback is a redeploy by hand", "Won't fix still hurts"]
    rates = [run_rate(1, 3, 4, 10), run_rate(1, 2, 4, 10), run_rate(2, 2, 2, 5),
             run_rate(1, 1, 1, 1)]
    total = sum(rates)
    shares = [text_of(tr.select_one("[data-testid=share]")) for tr in rows]
    assert shares == [f"{r / total * 100:.1f} %" for r in rates]
    cumulative = [text_of(tr.select_one("[data-testid=cumulative]")) for tr in rows]
    assert cumulative[-1] == "100.0 %"
    assert cumulative[0] == shares[0]
    assert abs(sum(D(s.rstrip(" %")) for s in shares) - 100) <= D("0.2")  # shown rounded
    assert money(total) in text_of(soup.select_one("[data-testid=friction-total]"))
    # A viewer sees its own teams' friction only.
    client.cookies.clear()
    as_role("viewer", teams=[other])
    soup = soup_of(client.get("/initiatives/next"))
    assert [tr.find("label").get_text()
            for tr in soup.select("table.ranking tr[data-pain-point]")] == [
        "Feature recomputation"]
    assert text_of(soup.select_one("[data-testid=cumulative]")) == "100.0 %"


def scenario(csrf: str, picks: dict, one_time="100000", yearly="20000") -> dict:
    return {"csrf_token": csrf, "one_time_cost": one_time, "yearly_run_cost": yearly,
            "pick": [str(pp) for pp in picks]} | {
        f"reduction-{pp}": str(reduction) for pp, reduction in picks.items()}


def test_scenario_fragment_projects_run_rate_times_reduction(client, db, as_role, fraud):
    _, _, pps = fraud
    as_role("pm")
    csrf = page_csrf(client, "/initiatives/next")
    picks = {pps["queue"].id: 50, pps["pickle"].id: "100", pps["spark"].id: 90}
    response = client.post("/initiatives/scenario", data=scenario(csrf, picks), headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text and "<table class=\"ranking\"" not in response.text
    soup = soup_of(response)
    # By hand: 119,600 × 50 % + 55,200 × 100 %; the one-time pain point saves nothing a year.
    expected = D(119600) / 2 + D(55200)
    assert run_rate(1, 2, 4, 10) == D(119600) and run_rate(2, 2, 2, 5) == D(55200)
    assert text_of(soup.select_one("[data-testid=scenario-expected]")) == money(expected)
    assert text_of(soup.select_one("[data-testid=scenario-range]")) == (
        f"Range: {money(run_rate(1, 2, 4, 10, 'low') / 2 + D(55200))} – "
        f"{money(run_rate(1, 2, 4, 10, 'high') / 2 + D(55200))}")
    months = D(100000) / (expected - D(20000)) * 12
    assert text_of(soup.select_one("[data-testid=scenario-payback]")) == f"{months:.1f} months"
    for h in (1, 2, 3):
        value = (expected * h - (D(100000) + D(20000) * h)) / (D(100000) + D(20000) * h)
        assert text_of(soup.select_one(f"[data-testid=scenario-roi-{h}]")) == \
            pct(value)
    button = soup.find("button", string="Create initiative from this scenario")
    assert button["formaction"] == "/initiatives/new"
    assert initiative_count(db) == 0  # a projection stores nothing

    # Savings that do not exceed the run cost never pay back.
    never = client.post("/initiatives/scenario", headers=HTMX, data=scenario(
        csrf, {pps["pickle"].id: 10}, yearly="6000"))
    assert text_of(soup_of(never).select_one("[data-testid=scenario-payback]")) == "never"

    # Without JavaScript the same post answers the whole page.
    page = client.post("/initiatives/scenario", data=scenario(csrf, picks))
    assert "<html" in page.text
    assert soup_of(page).find(id=f"pick-{pps['queue'].id}").has_attr("checked")


@pytest.mark.parametrize("picks, costs, message", [
    ({"queue": 150}, {}, "less than or equal to 100"),
    ({"queue": -5}, {}, "greater than or equal to 0"),
    ({"queue": 50}, {"one_time": "-1"}, "greater than or equal to 0"),
])
def test_a_bad_scenario_is_explained_in_the_fragment(client, db, as_role, fraud, picks, costs,
                                                    message):
    _, _, pps = fraud
    as_role("pm")
    csrf = page_csrf(client, "/initiatives/next")
    response = client.post("/initiatives/scenario", headers=HTMX, data=scenario(
        csrf, {pps[k].id: v for k, v in picks.items()}, **costs))
    assert response.status_code == 422
    assert message in text_of(soup_of(response).select_one("[role=alert]"))


def test_a_scenario_fills_the_create_form(client, db, as_role, fraud):
    team, _, pps = fraud
    as_role("pm", teams=[team])
    csrf = page_csrf(client, "/initiatives/next")
    response = client.post("/initiatives/new", data=scenario(
        csrf, {pps["queue"].id: 60, pps["pickle"].id: 30}, one_time="50000", yearly="5000"))
    assert response.status_code == 200
    soup = soup_of(response)
    assert soup.find(id="team").find("option", selected=True)["value"] == "fraud"
    assert soup.find(id="one_time_cost")["value"] == "50000"
    assert soup.find(id="yearly_run_cost")["value"] == "5000"
    for pp, reduction in ((pps["queue"].id, "60"), (pps["pickle"].id, "30")):
        assert soup.find(id=f"link-{pp}").has_attr("checked")
        assert soup.find(id=f"reduction-{pp}")["value"] == reduction
    assert not soup.find(id=f"link-{pps['spark'].id}").has_attr("checked")
    assert initiative_count(db) == 0


def test_the_links_editor_follows_the_team(client, db, as_role, fraud):
    team, other, pps = fraud
    as_role("pm", teams=[team, other])
    fragment = client.get("/initiatives/links?team=recs", headers=HTMX)
    assert "<html" not in fragment.text
    assert {int(tr["data-link"]) for tr in soup_of(fragment).select("tr[data-link]")} == {
        pps["recs"].id}
    org_wide = client.get("/initiatives/links?team=", headers=HTMX)
    assert len(soup_of(org_wide).select("tr[data-link]")) == 4


# --- the ROI dashboard ----------------------------------------------------------------------


def test_roi_dashboard_draws_three_charts_with_tables_or_an_empty_state(client, db, as_role,
                                                                        fraud):
    team, _, pps = fraud
    as_role("leader")
    empty = soup_of(client.get("/dashboards/roi"))
    assert empty.select_one("[data-testid=empty-state]") is not None
    assert empty.find("figure") is None

    delivered = today() - timedelta(days=100)
    pps["pickle"].status, pps["pickle"].resolved_on = "resolved", today() - timedelta(days=50)
    initiative = Initiative(title="Registry", team_id=team.id, status="delivered",
                            one_time_cost=D(90000), yearly_run_cost=D(18000),
                            started_on=delivered - timedelta(days=200), delivered_on=delivered)
    db.add_all([initiative, Initiative(title="Cancelled", status="cancelled",
                                       one_time_cost=D(5))])
    db.flush()
    db.add(InitiativeLink(initiative_id=initiative.id, pain_point_id=pps["pickle"].id,
                          expected_reduction=D(100)))
    db.commit()
    response = client.get("/dashboards/roi?horizon=2")
    soup = soup_of(response)
    head = soup.find("head")
    scripts = [s["src"] for s in head.find_all("script", src=True)]
    assert any("plotly-cartesian" in s for s in scripts) and any("charts.js" in s for s in scripts)
    figures_ = soup.find_all("figure", attrs={"data-plotly": True})
    assert [f["id"] for f in figures_] == ["savings-chart", "curve-chart", "roi-chart"]
    for figure in figures_:
        assert figure.find("script", type="application/json") is not None
        assert figure.find("details").find("table") is not None
    # Cancelled initiatives are left out.
    assert [text_of(tr.th) for tr in soup.select("#savings-chart tr[data-initiative]")] == [
        "Registry"]
    realized = savings(db, [initiative.id], weeks=WEEKS, first=delivered,
                       last=today())[initiative.id].realized
    assert realized > 0
    curve = soup.select("#curve-chart tr[data-quarter]")
    assert text_of(curve[-1]("td")[1]) == money(realized)  # cumulative to today
    assert text_of(curve[0]("td")[2]).startswith("$90,")  # the one-time cost at the start
    ranked = soup.select_one("#roi-chart tr[data-initiative]")
    assert text_of(ranked("td")[2]) == \
        pct(roi.roi(D(55200), D(90000), D(18000), 2))
    fragment = client.get("/dashboards/roi?horizon=1", headers=HTMX)
    assert "<html" not in fragment.text and 'id="roi-chart"' in fragment.text


def test_a_scenario_projects_what_the_stored_initiative_then_expects(db, fraud):
    """scenario_savings and savings run the same expressions: tick, store, compare."""
    from app.initiatives.queries import scenario_savings

    team, other, pps = fraud
    links = {pps["queue"].id: D("33.3"), pps["pickle"].id: D(100), pps["spark"].id: D(50),
             pps["recs"].id: D("12.5")}
    projected = scenario_savings(db, links, WEEKS)
    initiative = Initiative(title="Org-wide")
    db.add(initiative)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=initiative.id, pain_point_id=pp,
                               expected_reduction=r) for pp, r in links.items()])
    db.flush()
    stored = savings(db, [initiative.id], weeks=WEEKS, first=today(), last=today())[initiative.id]
    for a, b in ((projected.expected, stored.expected), (projected.expected_low,
                                                         stored.expected_low),
                 (projected.expected_high, stored.expected_high)):
        assert abs(a - b) < D("0.000001")
    assert projected.counted == 4
    # Scoped to a viewer's teams, the other team's pain point drops out.
    scoped = scenario_savings(db, links, WEEKS, team_ids=frozenset({team.id}))
    assert scoped.counted == 3
    assert abs(projected.expected - scoped.expected - run_rate(1, 3, 4, 10) * D("0.125")) < \
        D("0.000001")
    assert other.id != team.id


def test_a_pm_of_one_team_may_not_edit_an_org_wide_initiative_that_reaches_another(
        client, db, as_role, fraud):
    """An org-wide initiative needs edit rights on every team it reaches (issue 14): a PM of
    one team neither edits it nor keeps its other links by editing around them."""
    team, _, pps = fraud
    initiative = Initiative(title="Feature store", owner="Sofia")
    db.add(initiative)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=initiative.id, pain_point_id=pps["recs"].id,
                               expected_reduction=D(65)),
                InitiativeLink(initiative_id=initiative.id, pain_point_id=pps["queue"].id,
                               expected_reduction=D(30))])
    db.commit()
    as_role("pm", teams=[team])
    assert client.get(f"/initiatives/{initiative.id}/edit").status_code == 403
    detail = soup_of(client.get(f"/initiatives/{initiative.id}"))
    assert detail.find("a", string="Edit") is None
    links = {pps["recs"].id: "65", pps["queue"].id: "30"}
    csrf = page_csrf(client, f"/initiatives/{initiative.id}")
    response = client.post(f"/initiatives/{initiative.id}", data=form(
        csrf, team="", title="Feature store & catalog", links=links))
    assert response.status_code == 403
    db.expire_all()
    assert db.get(Initiative, initiative.id).title == "Feature store"
    assert link_count(db) == 2

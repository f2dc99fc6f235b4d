"""The pain-point ledger as a browser uses it: list, form, preview, detail, roles, bad input."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth.models import Role
from app.auth.permissions import Principal
from app.core.clock import today
from app.pain_points import cost, service
from app.pain_points.models import PainPoint
from app.pain_points.measures import PainPointFilters
from app.pain_points.queries import cost_figures
from app.pain_points.schemas import ConfirmationIn
from app.web.templating import money, money_whole
from tests import factories
from tests.conftest import login, page_csrf

WEEKS = D(46)
HTMX = {"HX-Request": "true"}


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def text_of(node) -> str:
    return " ".join(node.get_text(" ").split())


def pain_point_count(db) -> int:
    return db.scalar(select(func.count()).select_from(PainPoint))


def add(db, team, **values) -> PainPoint:
    """A pain point written straight to the database (the form is tested on its own)."""
    defaults = dict(team_id=team.id, persona_id=factories.persona(db).id,
                    stage_id=factories.stage(db).id, title="Retrains wait in a ticket queue",
                    kind="recurring", hours_low=D(1), hours_likely=D(2), hours_high=D(4),
                    people_affected=10, observed_since=today() - timedelta(days=60))
    pain_point = PainPoint(**(defaults | values))
    db.add(pain_point)
    db.flush()
    return pain_point


def form(csrf: str, team_slug: str, **fields: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "team": team_slug, "persona": "data-scientist", "stage": "deployment",
            "title": "Retrains wait in a ticket queue",
            "description": "Every retrain is a Jira ticket to the platform team.",
            "evidence": "Interview, March", "kind": "recurring", "hours_low": "1",
            "hours_likely": "2", "hours_high": "4", "people_affected": "", "status": "open",
            "observed_since": (today() - timedelta(days=30)).isoformat(), "resolved_on": ""}
    return data | fields


def rows_of(soup: BeautifulSoup) -> dict[str, list[str]]:
    """Ledger rows by title: the text of each cell."""
    rows = {}
    for tr in soup.select("tr[data-pain-point]"):
        cells = [text_of(td) for td in tr("td")]
        rows[tr.find("a").get_text()] = cells
    return rows


def assert_field_error(soup: BeautifulSoup, field_id: str, *fragments: str) -> None:
    """The message sits beside its field, and the field points at it."""
    message = soup.find("p", id=f"{field_id}-error")
    assert message is not None, f"no error shown for {field_id}: {text_of(soup.find('main'))}"
    assert "field-error" in message["class"]
    for fragment in fragments:
        assert fragment in message.get_text(), message.get_text()
    field = soup.find(id=field_id) or soup.find(id=f"{field_id}-recurring")
    assert field.get("aria-invalid") == "true" or field.name == "input", field
    assert f"{field_id}-error" in field.get("aria-describedby", "").split() or field_id == "kind"


def member(user_id: int, team, role: Role = Role.viewer) -> Principal:
    return Principal(user_id=user_id, email=f"u{user_id}@example.com", role=role,
                     team_ids=frozenset({team.id}))


# --- create and list ----------------------------------------------------------------------------


def test_pm_logs_a_pain_point_and_sees_it_in_the_list_with_its_cost(client, db, as_role):
    team = factories.make_team(db, name="Fraud", slug="fraud",
                               headcounts={"data-scientist": (10, D("120"))})
    db.commit()
    as_role("pm", teams=[team])
    new = client.get("/pain-points/new")
    assert new.status_code == 200
    response = client.post("/pain-points", data=form(page_csrf(client, "/pain-points/new"),
                                                     "fraud"))
    assert response.status_code == 303, response.text
    stored = db.scalars(select(PainPoint)).one()
    assert response.headers["location"] == f"/pain-points/{stored.id}"
    assert stored.people_affected == 10  # blank: the team's headcount
    assert stored.observed_since == today() - timedelta(days=30)

    detail = client.get(response.headers["location"])
    assert "logged" in text_of(soup_of(detail).select_one(".flash"))

    expected = cost.annual_run_rate(cost.expected_hours(D(1), D(2), D(4)), D(10), WEEKS,
                                    D(120))
    low = cost.annual_run_rate(D(1), D(10), WEEKS, D(120))
    high = cost.annual_run_rate(D(4), D(10), WEEKS, D(120))
    page = soup_of(client.get("/pain-points"))
    cells = rows_of(page)["Retrains wait in a ticket queue"]
    assert cells[1:6] == ["Fraud", "Data scientist", "Deployment", "Open", "Recurring"]
    assert cells[6].startswith("2.17 h/week")
    # An estimate to the dollar in the ledger: the range makes cents meaningless.
    assert cells[7] == f"{money_whole(expected)} a year {money_whole(low)} – {money_whole(high)}"
    assert money_whole(expected) == "$119,600"
    assert page.find("a", string="Log a pain point")["href"] == "/pain-points/new"
    assert page.find("a", string="Import CSV")["href"] == "/pain-points/import"


def test_htmx_list_request_returns_a_fragment_and_filters_narrow_it(client, db, as_role):
    fraud = factories.make_team(db, name="Fraud", slug="fraud", headcounts={"data-scientist": 5})
    recs = factories.make_team(db, name="Recs", slug="recs", headcounts={"data-scientist": 5})
    add(db, fraud, title="Slow feature backfills")
    add(db, recs, title="Spark jobs need a data engineer", status="in_progress")
    db.commit()
    as_role("leader")
    full = client.get("/pain-points")
    assert "HX-Request" in full.headers["vary"]
    assert set(rows_of(soup_of(full))) == {"Slow feature backfills",
                                           "Spark jobs need a data engineer"}
    form_tag = soup_of(full).find("form", attrs={"role": "search"})
    assert form_tag["hx-target"] == "#results" and form_tag["hx-push-url"] == "true"
    assert "keyup changed delay:300ms from:input[name=q]" in form_tag["hx-trigger"]

    fragment = client.get("/pain-points?team=recs&sort=cost", headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<h1" not in fragment.text
    soup = soup_of(fragment)
    assert list(rows_of(soup)) == ["Spark jobs need a data engineer"]
    export = soup.find("a", string="Export CSV")["href"]
    assert export == "/pain-points/export.csv?team=recs&sort=cost"

    assert list(rows_of(soup_of(client.get("/pain-points?status=open", headers=HTMX)))) == [
        "Slow feature backfills"]
    assert list(rows_of(soup_of(client.get("/pain-points?q=SPARK", headers=HTMX)))) == [
        "Spark jobs need a data engineer"]
    both = client.get("/pain-points?status=open&status=in_progress&persona=data-scientist"
                      "&stage=deployment&sort=newest", headers=HTMX)
    assert len(rows_of(soup_of(both))) == 2


@pytest.mark.parametrize("query, field", [
    ("team=nope", "team"), ("persona=wizard", "persona"), ("stage=nowhere", "stage"),
    ("status=closed", "status"), ("sort=price", "sort"), ("page=0", "page"),
])
def test_unknown_filter_values_answer_422_naming_the_field(client, db, as_role, query, field):
    as_role("leader")
    response = client.get(f"/pain-points?{query}")
    assert response.status_code == 422
    soup = soup_of(response)
    assert field in text_of(soup.select_one("#results [role=alert]"))
    fragment = client.get(f"/pain-points?{query}", headers=HTMX)
    assert fragment.status_code == 422 and "<html" not in fragment.text


def test_a_viewer_cannot_name_a_team_it_does_not_see(client, db, as_role):
    mine = factories.make_team(db, slug="mine")
    factories.make_team(db, slug="theirs")
    db.commit()
    as_role("viewer", teams=[mine])
    assert client.get("/pain-points?team=theirs").status_code == 422
    assert client.get("/pain-points?team=mine").status_code == 200


def test_pagination_keeps_the_filters(client, db, as_role):
    team = factories.make_team(db, slug="many", headcounts={"data-scientist": 3})
    for n in range(55):
        add(db, team, title=f"Friction {n:02d}", hours_likely=D(2) + D(n) / 100)
    add(db, factories.make_team(db, slug="other"), title="Elsewhere")
    db.commit()
    as_role("leader")
    soup = soup_of(client.get("/pain-points?team=many&sort=hours"))
    assert len(rows_of(soup)) == 50
    assert "55 pain points" in text_of(soup.select_one("[data-testid=result-count]"))
    assert list(rows_of(soup))[0] == "Friction 54"  # most hours first
    nxt = soup.find("a", rel="next")["href"]
    assert nxt == "/pain-points?team=many&sort=hours&page=2"
    second = soup_of(client.get(nxt))
    assert list(rows_of(second)) == [f"Friction {n:02d}" for n in range(4, -1, -1)]
    assert second.find("a", rel="prev")["href"].endswith("page=1")


# --- bad input ----------------------------------------------------------------------------------


FUTURE = (today() + timedelta(days=1)).isoformat()
PAST = (today() - timedelta(days=40)).isoformat()


@pytest.mark.parametrize("fields, field, message", [
    ({"hours_low": "5"}, "hours_likely", "at least the low estimate"),
    ({"hours_high": "169"}, "hours_high", "more hours per week than a week has"),
    ({"hours_low": "-1"}, "hours_low", "greater than or equal to 0"),
    ({"people_affected": "0"}, "people_affected", "greater than or equal to 1"),
    ({"people_affected": "100001"}, "people_affected", "less than or equal to 100000"),
    ({"team": "nope"}, "team", "unknown team 'nope'"),
    ({"persona": "wizard"}, "persona", "unknown persona"),
    ({"stage": "nowhere"}, "stage", "unknown stage"),
    ({"status": "resolved", "resolved_on": PAST}, "resolved_on", "cannot be before observed"),
    ({"status": "resolved", "resolved_on": FUTURE}, "resolved_on", "cannot be in the future"),
    ({"status": "resolved"}, "resolved_on", "needs the date"),
    ({"observed_since": FUTURE}, "observed_since", "cannot be in the future"),
    ({"title": ""}, "title", "required"),
    ({"title": "x" * 201}, "title", "at most 200 characters"),
    ({"hours_likely": "two"}, "hours_likely", "valid decimal"),
])
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(
        client, db, as_role, fields, field, message):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    db.commit()
    as_role("pm", teams=[team])
    csrf = page_csrf(client, "/pain-points/new")
    data = form(csrf, "fraud") | fields
    response = client.post("/pain-points", data=data)
    assert response.status_code == 422, response.text
    soup = soup_of(response)
    assert_field_error(soup, field, message)
    assert "Nothing was saved" in text_of(soup.select_one("[role=alert]"))
    # The values come back as typed.
    assert soup.find(id="title")["value"] == data["title"]
    assert soup.find(id="hours_low")["value"] == data["hours_low"]
    assert soup.select_one("#team option[selected]") is None or field != "team"
    assert pain_point_count(db) == 0
    assert db.scalar(select(func.count()).select_from(AuditEntry)
                     .where(AuditEntry.entity_type == "pain_point")) == 0


def test_a_one_time_effort_may_exceed_a_week_of_hours(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    db.commit()
    as_role("pm", teams=[team])
    response = client.post("/pain-points", data=form(
        page_csrf(client, "/pain-points/new"), "fraud", kind="one_time", hours_low="100",
        hours_likely="200", hours_high="400", title="Learn Spark"))
    assert response.status_code == 303, response.text


def test_script_in_a_title_shows_as_text(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    db.commit()
    as_role("pm", teams=[team])
    title = "<script>alert(1)</script>"
    response = client.post("/pain-points", data=form(page_csrf(client, "/pain-points/new"),
                                                     "fraud", title=title))
    assert response.status_code == 303
    for path in ("/pain-points", response.headers["location"],
                 response.headers["location"] + "/edit"):
        page = client.get(path)
        assert "<script>alert(1)</script>" not in page.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path
        soup = soup_of(page)
        assert all(s.get("src") for s in soup.find_all("script")), path


# --- edit and concurrent edits ------------------------------------------------------------------


def test_pm_edits_and_a_stale_save_shows_their_version(client, app, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    pain_point = add(db, team, title="Slow retrains")
    db.commit()
    as_role("pm", teams=[team])
    edit = soup_of(client.get(f"/pain-points/{pain_point.id}/edit"))
    assert edit.find("input", attrs={"name": "version"})["value"] == "1"
    assert edit.find(id="title")["value"] == "Slow retrains"
    assert edit.find(id="hours_likely")["value"] == "2"
    assert edit.select_one("#team option[selected]")["value"] == "fraud"
    csrf = page_csrf(client, f"/pain-points/{pain_point.id}/edit")

    # Someone else saves first.
    pain_point.title, pain_point.hours_likely = "Slow retrains (their words)", D(3)
    db.commit()
    assert pain_point.version == 2

    mine = form(csrf, "fraud", title="Retrains take a week", version="1",
                observed_since=pain_point.observed_since.isoformat())
    response = client.post(f"/pain-points/{pain_point.id}", data=mine)
    assert response.status_code == 409
    soup = soup_of(response)
    conflict = soup.select_one(".conflict")
    assert "Someone else saved" in text_of(conflict)
    changed = {text_of(tr.th): [text_of(td) for td in tr("td")]
               for tr in conflict.select("tbody tr")}
    assert changed["Title"] == ["Slow retrains (their words)", "Retrains take a week"]
    assert changed["Hours, likely"] == ["3", "2"]
    assert "Persona" not in changed
    assert soup.find(id="title")["value"] == "Retrains take a week"  # theirs beside, mine kept
    assert soup.find("input", attrs={"name": "version"})["value"] == "2"
    db.expire_all()
    assert db.get(PainPoint, pain_point.id).title == "Slow retrains (their words)"

    # Saving again is a deliberate overwrite, with the version it was shown.
    response = client.post(f"/pain-points/{pain_point.id}", data=mine | {"version": "2"})
    assert response.status_code == 303, response.text
    db.expire_all()
    saved = db.get(PainPoint, pain_point.id)
    assert (saved.title, saved.hours_likely, saved.version) == ("Retrains take a week", D(2), 3)
    newest = text_of(soup_of(client.get(f"/pain-points/{pain_point.id}"))
                     .select(".history tbody tr")[0])
    assert "Title: Slow retrains (their words) → Retrains take a week" in newest
    assert "Hours, likely: 3 → 2" in newest
    assert "Hours, low" not in newest  # 1.00 read back and 1 as typed are the same hours


def test_edit_refused_with_a_bad_value_keeps_the_version(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    pain_point = add(db, team)
    db.commit()
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/pain-points/{pain_point.id}/edit")
    response = client.post(f"/pain-points/{pain_point.id}", data=form(
        csrf, "fraud", version="1", hours_high="1"))
    assert response.status_code == 422
    soup = soup_of(response)
    assert_field_error(soup, "hours_high", "at least the likely estimate")
    assert soup.find("input", attrs={"name": "version"})["value"] == "1"
    db.expire_all()
    assert db.get(PainPoint, pain_point.id).hours_high == D(4)


# --- roles and team scope -----------------------------------------------------------------------


def test_a_viewer_sees_only_its_teams_and_cannot_write(client, db, as_role):
    mine = factories.make_team(db, slug="mine", headcounts={"data-scientist": 4})
    theirs = factories.make_team(db, slug="theirs", headcounts={"data-scientist": 4})
    visible = add(db, mine, title="Mine to see")
    hidden = add(db, theirs, title="Not for you")
    db.commit()
    as_role("viewer", teams=[mine])
    listing = soup_of(client.get("/pain-points"))
    assert list(rows_of(listing)) == ["Mine to see"]
    assert listing.find("a", string="Log a pain point") is None
    assert [o["value"] for o in listing.select("#f-team option")] == ["", "mine"]
    assert client.get(f"/pain-points/{hidden.id}").status_code == 404
    detail = soup_of(client.get(f"/pain-points/{visible.id}"))
    assert detail.find("a", string="Edit") is None
    assert detail.find("form", action=f"/pain-points/{visible.id}/delete") is None
    assert detail.find("form", action=f"/pain-points/{visible.id}/status") is None

    csrf = page_csrf(client, "/pain-points")
    assert client.get("/pain-points/new").status_code == 403
    response = client.post("/pain-points", data=form(csrf, "mine"))
    assert response.status_code == 403
    assert client.post(f"/pain-points/{visible.id}/delete",
                       data={"csrf_token": csrf}).status_code == 403
    assert pain_point_count(db) == 2


def test_a_pm_edits_its_own_teams_only(client, db, as_role):
    own = factories.make_team(db, slug="own", headcounts={"data-scientist": 4})
    other = factories.make_team(db, slug="other", headcounts={"data-scientist": 4})
    mine = add(db, own, title="Ours")
    foreign = add(db, other, title="Theirs")
    db.commit()
    as_role("pm", teams=[own])
    csrf = page_csrf(client, "/pain-points")
    # Reads everything, edits its own.
    assert list(rows_of(soup_of(client.get("/pain-points")))) == ["Theirs", "Ours"]
    assert soup_of(client.get(f"/pain-points/{mine.id}")).find("a", string="Edit")
    assert soup_of(client.get(f"/pain-points/{foreign.id}")).find("a", string="Edit") is None
    assert client.get(f"/pain-points/{foreign.id}/edit").status_code == 403
    response = client.post(f"/pain-points/{foreign.id}", data=form(csrf, "other", version="1",
                                                                   title="Hijacked"))
    assert response.status_code == 403
    for action in ("delete", "status"):
        response = client.post(f"/pain-points/{foreign.id}/{action}",
                               data={"csrf_token": csrf, "status": "wont_fix", "version": "1"})
        assert response.status_code == 403, action
    # Nor may it move its own pain point to, or log one for, another team.
    assert client.post(f"/pain-points/{mine.id}", data=form(
        csrf, "other", version="1", observed_since=mine.observed_since.isoformat())
    ).status_code == 403
    assert client.post("/pain-points", data=form(csrf, "other")).status_code == 403
    new = soup_of(client.get("/pain-points/new"))
    assert [o["value"] for o in new.select("#team option")] == ["own"]
    db.expire_all()
    assert db.get(PainPoint, foreign.id).title == "Theirs"
    assert db.get(PainPoint, foreign.id).deleted_at is None
    assert db.get(PainPoint, mine.id).team_id == own.id


# --- detail: cost breakdown, status, confirmations, history ----------------------------------


def test_detail_writes_the_cost_out_and_extrapolates_org_wide(client, db, as_role):
    team = factories.make_team(db, name="Fraud", slug="fraud",
                               headcounts={"data-scientist": (10, D("120"))})
    factories.make_team(db, slug="recs", headcounts={"data-scientist": 30})
    factories.make_team(db, slug="gone", is_archived=True, headcounts={"data-scientist": 99})
    recurring = add(db, team)
    one_time = add(db, team, kind="one_time", title="Learn Spark", hours_low=D(12),
                   hours_likely=D(20), hours_high=D(40))
    db.commit()
    as_role("leader")
    soup = soup_of(client.get(f"/pain-points/{recurring.id}"))
    assert len(soup.find("main").find_all("h1")) == 1
    expected = cost.annual_run_rate(cost.expected_hours(D(1), D(2), D(4)), D(10), WEEKS, D(120))
    line = text_of(soup.select_one("[data-testid=breakdown-expected]"))
    assert line == ("Expected: 2.17 h/week expected (PERT: (1 + 4×2 + 4) / 6) × 10 people × "
                    f"46 weeks × $120.00/h = {money(expected)} a year")
    low = text_of(soup.select_one("[data-testid=breakdown-low]"))
    assert low == "Low: 1 h/week × 10 people × 46 weeks × $120.00/h = $55,200.00 a year"
    # 40 data scientists in active teams; the archived team does not count.
    factor = cost.org_wide_factor(D(40), D(10))
    org = text_of(soup.select_one("[data-testid=org-wide]"))
    assert org.startswith("If every data scientist in the organisation (40 people) were "
                          f"affected: {money_whole(expected * factor)} a year")

    soup = soup_of(client.get(f"/pain-points/{one_time.id}"))
    once = cost.one_time_cost(cost.expected_hours(D(12), D(20), D(40)), D(10), D(120))
    line = text_of(soup.select_one("[data-testid=breakdown-expected]"))
    assert line == ("Expected: 22 h expected (PERT: (12 + 4×20 + 40) / 6) × 10 people × "
                    f"$120.00/h = {money(once)} once")
    assert money(once) == "$26,400.00"


def test_resolving_asks_for_a_date_and_reopening_clears_it(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    pain_point = add(db, team)
    db.commit()
    as_role("pm", teams=[team])
    page = soup_of(client.get(f"/pain-points/{pain_point.id}"))
    status_form = page.find("form", action=f"/pain-points/{pain_point.id}/status")
    assert status_form.find(id="resolved_on")["value"] == today().isoformat()
    csrf = page_csrf(client, f"/pain-points/{pain_point.id}")
    url = f"/pain-points/{pain_point.id}/status"

    response = client.post(url, data={"csrf_token": csrf, "status": "resolved",
                                      "resolved_on": "", "version": "1"})
    assert response.status_code == 422
    assert_field_error(soup_of(response), "resolved_on", "needs the date")
    response = client.post(url, data={"csrf_token": csrf, "status": "resolved",
                                      "resolved_on": FUTURE, "version": "1"})
    assert response.status_code == 422
    db.expire_all()
    assert db.get(PainPoint, pain_point.id).status == "open"

    day = (today() - timedelta(days=2)).isoformat()
    response = client.post(url, data={"csrf_token": csrf, "status": "resolved",
                                      "resolved_on": day, "version": "1"})
    assert response.status_code == 303
    assert f"Resolved on {day}" in text_of(soup_of(client.get(response.headers["location"]))
                                           .select_one(".flash"))
    # A stale status form is refused, then reopening clears the date.
    response = client.post(url, data={"csrf_token": csrf, "status": "open",
                                      "resolved_on": day, "version": "1"})
    assert response.status_code == 409
    response = client.post(url, data={"csrf_token": csrf, "status": "in_progress",
                                      "resolved_on": day, "version": "2"})
    assert response.status_code == 303
    db.expire_all()
    saved = db.get(PainPoint, pain_point.id)
    assert (saved.status, saved.resolved_on) == ("in_progress", None)

    history = soup_of(client.get(f"/pain-points/{pain_point.id}")).select(".history tbody tr")
    newest = text_of(history[0])
    assert "edited" in newest and "Status: Resolved → In progress" in newest
    assert f"Resolved on: {day} → —" in newest


def test_confirmation_median_shows_from_three_and_never_who(client, app, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    pain_point = add(db, team)
    users = [factories.make_user(db, role="viewer", teams=[team]) for _ in range(3)]
    for user, hours in zip(users[:2], ("3", "5")):
        service.confirm(db, pain_point, ConfirmationIn(hours=D(hours)),
                        actor=member(user.id, team))
    db.commit()
    as_role("leader")
    soup = soup_of(client.get(f"/pain-points/{pain_point.id}"))
    assert text_of(soup.select_one("[data-testid=confirmation-count]")) == (
        "2 confirmations — the median shows from 3.")
    assert soup.select_one("[data-testid=confirmed-median]") is None
    assert soup.find("form", action=f"/pain-points/{pain_point.id}/confirm") is None  # no member

    # The third member confirms through the page.
    with TestClient(app, follow_redirects=False) as browser:
        login(browser, users[2].email)
        page = soup_of(browser.get(f"/pain-points/{pain_point.id}"))
        assert page.find("form", action=f"/pain-points/{pain_point.id}/confirm")
        csrf = page_csrf(browser, f"/pain-points/{pain_point.id}")
        refused = browser.post(f"/pain-points/{pain_point.id}/confirm",
                               data={"csrf_token": csrf, "hours": "169", "comment": ""})
        assert refused.status_code == 422
        assert_field_error(soup_of(refused), "hours", "more hours per week")
        response = browser.post(f"/pain-points/{pain_point.id}/confirm",
                                data={"csrf_token": csrf, "hours": "10", "comment": "daily"})
        assert response.status_code == 303

    soup = soup_of(client.get(f"/pain-points/{pain_point.id}"))
    assert text_of(soup.select_one("[data-testid=confirmed-median]")) == (
        "5 h/week, from 3 confirmations")
    page_text = text_of(soup.find("main"))
    for user in users:
        assert user.email not in page_text and user.name not in page_text
    assert "daily" not in page_text and "10 h" not in page_text


def test_delete_hides_it_from_list_and_cost_and_undo_restores(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    pain_point = add(db, team, title="Soon gone")
    add(db, team, title="Stays")
    db.commit()
    scope = PainPointFilters(team_ids=frozenset({team.id}))
    period = dict(first=today() - timedelta(days=90), last=today(), weeks=WEEKS)
    [before] = cost_figures(db, scope, **period)
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/pain-points/{pain_point.id}")
    response = client.post(f"/pain-points/{pain_point.id}/delete", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == f"/pain-points?undo={pain_point.id}"
    listing = soup_of(client.get(response.headers["location"]))
    assert list(rows_of(listing)) == ["Stays"]
    undo = listing.select_one(".undo form")
    assert undo["action"] == f"/pain-points/{pain_point.id}/restore"
    [after] = cost_figures(db, scope, **period)
    assert after.pain_points == 1 and after.annual_run_rate < before.annual_run_rate

    # Editors still open it (to restore it); "Show deleted" lists it.
    detail = soup_of(client.get(f"/pain-points/{pain_point.id}"))
    assert "deleted" in text_of(detail.select_one(".deleted-banner"))
    shown = soup_of(client.get("/pain-points?include_deleted=true"))
    assert set(rows_of(shown)) == {"Soon gone", "Stays"}

    response = client.post(undo["action"], data={"csrf_token": csrf})
    assert response.status_code == 303
    assert set(rows_of(soup_of(client.get("/pain-points")))) == {"Soon gone", "Stays"}
    [restored] = cost_figures(db, scope, **period)
    assert restored.annual_run_rate == before.annual_run_rate
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "pain_point", AuditEntry.entity_id == str(pain_point.id))
        .order_by(AuditEntry.id)).all()
    assert actions == ["delete", "restore"]


def test_a_deleted_pain_point_is_not_found_for_a_viewer(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    pain_point = add(db, team)
    pain_point.deleted_at = pain_point.created_at
    db.commit()
    as_role("viewer", teams=[team])
    assert client.get(f"/pain-points/{pain_point.id}").status_code == 404
    assert list(rows_of(soup_of(client.get("/pain-points?include_deleted=true")))) == []


# --- the live preview ---------------------------------------------------------------------------


def test_preview_shows_the_override_the_headcount_and_the_cost(client, db, as_role):
    factories.make_team(db, name="Fraud", slug="fraud",
                        headcounts={"data-scientist": (8, D("130.50")), "ml-engineer": 4})
    db.commit()
    as_role("pm")
    params = {"team": "fraud", "persona": "data-scientist", "kind": "recurring",
              "hours_low": "1", "hours_likely": "2", "hours_high": "4", "people_affected": ""}
    response = client.get("/pain-points/preview", params=params, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    soup = soup_of(response)
    assert text_of(soup.select_one("[data-testid=preview-rate]")).startswith(
        "$130.50/h Fraud’s override")
    assert soup.select_one("[data-people-default]")["data-people-default"] == "8"
    expected = cost.annual_run_rate(cost.expected_hours(D(1), D(2), D(4)), D(8), WEEKS,
                                    D("130.50"))
    # An estimate to the dollar: its range makes cents meaningless.
    assert text_of(soup.select_one("[data-testid=preview-expected]")) == money_whole(expected)
    assert "." not in money_whole(expected)
    assert text_of(soup.select_one("[data-testid=preview-range]")) == (
        f"Range: {money_whole(cost.annual_run_rate(D(1), D(8), WEEKS, D('130.50')))} – "
        f"{money_whole(cost.annual_run_rate(D(4), D(8), WEEKS, D('130.50')))}")

    # ML engineers have no override here: the persona's default applies; one-time has no weeks.
    soup = soup_of(client.get("/pain-points/preview", params=params | {
        "persona": "ml-engineer", "kind": "one_time", "people_affected": "3"}))
    default = factories.persona(db, "ml-engineer").hourly_cost
    assert text_of(soup.select_one("[data-testid=preview-rate]")).startswith(
        f"{money(default)}/h the ML engineer default")
    once = cost.one_time_cost(cost.expected_hours(D(1), D(2), D(4)), D(3), default)
    assert text_of(soup.select_one("[data-testid=preview-expected]")) == money_whole(once)

    soup = soup_of(client.get("/pain-points/preview", params=params | {"hours_high": "169"}))
    assert "More hours per week than a week has (168)" in text_of(soup.select_one(".field-error"))

    soup = soup_of(client.get("/pain-points/preview", params=params | {"hours_high": ""}))
    assert soup.select_one("[data-testid=preview-expected]") is None
    assert "Enter the low, likely and high hours" in soup.get_text()


def test_the_form_shows_the_preview_and_the_headcount_as_placeholder(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": (6, D("100"))})
    db.commit()
    as_role("pm", teams=[team])
    soup = soup_of(client.get("/pain-points/new"))
    main = soup.find("main")
    assert main.find(id="people_affected")["placeholder"] == "6"
    assert main.find(id="observed_since")["value"] == today().isoformat()
    form_tag = main.find("form", class_="pp-form")
    assert form_tag["hx-get"] == "/pain-points/preview" and form_tag["hx-target"] == "#preview"
    labels = text_of(main.select_one("fieldset.radios"))
    assert "per week" in labels and "once" in labels
    assert main.select_one("fieldset.radios legend")
    assert text_of(main.select_one("[data-testid=preview-rate]")).startswith("$100.00/h")


# --- markup -------------------------------------------------------------------------------------


def test_pages_are_labelled_and_carry_csrf_tokens(client, db, as_role):
    team = factories.make_team(db, slug="fraud", headcounts={"data-scientist": 10})
    pain_point = add(db, team)
    db.commit()
    as_role("admin", teams=[team])
    for path in ("/pain-points", "/pain-points/new", f"/pain-points/{pain_point.id}",
                 f"/pain-points/{pain_point.id}/edit"):
        response = client.get(path)
        assert response.status_code == 200, path
        soup = soup_of(response)
        main = soup.find("main")
        assert len(main.find_all("h1")) == 1, path
        for th in main.select("thead th"):
            assert th.get("scope") == "col", (path, th)
        for field in main.find_all(["input", "select", "textarea"]):
            if field.get("type") == "hidden":
                continue
            assert field.get("id") and soup.find("label", attrs={"for": field["id"]}), (path,
                                                                                     field)
        for form_tag in main.find_all("form"):
            if form_tag.get("method") == "post":
                assert form_tag.find("input", attrs={"name": "csrf_token", "type": "hidden"})
        for radio_group in {r.get("name") for r in main.select("input[type=radio]")}:
            assert main.select_one(f"input[name={radio_group}]").find_parent("fieldset").legend
        assert soup.find(attrs={"style": True}) is None, path
        assert all(s.get("src") for s in soup.find_all("script")), path
        assert soup.find("script", src=lambda s: s and "pain_points" in s), path

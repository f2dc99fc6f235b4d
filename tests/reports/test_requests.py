"""Bad input (malformed or future quarter, unknown team or format) is refused with 400 naming
the field, on the API and the pages; a viewer exports only its own teams; downloads carry a
safe file name."""


import pytest

from app.core import clock
from app.core.periods import quarter_of
from tests.reports.conftest import QUARTER, TEAM, team_id
from tests.reports.helpers import page_tiles, report
from tests.helpers import soup_of


def _future_quarter() -> str:
    return quarter_of(clock.today()).next().label


BAD = [
    ({"quarter": "2026-Q5"}, "quarter"),
    ({"quarter": "Q3"}, "quarter"),
    ({"quarter": "2026-q3x"}, "quarter"),
    ({"quarter": "1999-Q4"}, "quarter"),
    ({"quarter": "FUTURE"}, "quarter"),
    ({"team": "no-such-team"}, "team"),
    ({"format": "docx"}, "format"),
]


def _params(overrides: dict) -> dict:
    params = {"quarter": QUARTER, "team": "", "format": "xlsx"} | overrides
    if params["quarter"] == "FUTURE":
        params["quarter"] = _future_quarter()
    return params


@pytest.mark.parametrize(("overrides", "field"), BAD)
def test_api_refuses_bad_input_with_400_problem_json(client, as_role, overrides, field):
    as_role("leader")
    response = client.get("/api/v1/reports/quarterly", params=_params(overrides))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "content-disposition" not in response.headers
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["status"] == 400


def test_api_names_every_field_at_fault_at_once(client, as_role):
    as_role("leader")
    response = client.get("/api/v1/reports/quarterly",
                          params={"quarter": "Q3", "team": "nope", "format": "doc"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"quarter", "team", "format"}


# The printable page is one format: a format in its URL (the form sends one) goes unused.
PAGE_BAD = [("/reports/download", o, f) for o, f in BAD] + [
    ("/reports/quarterly", o, f) for o, f in BAD if f != "format"]


@pytest.mark.parametrize(("path", "overrides", "field"), PAGE_BAD)
def test_pages_show_bad_input_on_the_form_with_400(client, as_role, path, overrides, field):
    as_role("leader")
    response = client.get(path, params=_params(overrides))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    soup = soup_of(response)
    errors = soup.select_one("[data-testid=report-errors]")
    assert errors is not None and not errors.has_attr("hidden")
    assert errors.select_one("strong").get_text() == field.capitalize()
    assert soup.select_one("form[data-report-form]") is not None


def test_a_future_quarter_is_refused_but_the_current_one_is_not(client, as_role):
    as_role("leader")
    current = quarter_of(clock.today())
    assert client.get("/api/v1/reports/quarterly",
                      params={"quarter": current.label}).status_code == 200
    message = client.get("/api/v1/reports/quarterly",
                         params={"quarter": current.next().label}).json()["errors"][0]["message"]
    assert "has not started yet" in message


def test_downloads_have_safe_file_names_and_types(client, as_role):
    as_role("leader")
    expected = {
        "pdf": ("application/pdf", b"%PDF-"),
        "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
        "csv": ("application/zip", b"PK"), "md": ("text/markdown", b"# Quarterly summary"),
        "html": ("text/html", b"<!doctype html>"),
    }
    for fmt, (media_type, magic) in expected.items():
        response = client.get("/reports/download",
                              params={"quarter": QUARTER, "team": TEAM, "format": fmt})
        assert response.status_code == 200, fmt
        assert response.headers["content-type"].startswith(media_type)
        extension = "zip" if fmt == "csv" else fmt
        assert response.headers["content-disposition"] == (
            f'attachment; filename="northstar-{QUARTER}-{TEAM}.{extension}"')
        assert response.content.startswith(magic), fmt
    whole = client.get("/reports/download", params={"quarter": QUARTER, "format": "md"})
    assert f'filename="northstar-{QUARTER}.md"' in whole.headers["content-disposition"]


def test_default_quarter_is_the_last_complete_one(client, as_role):
    as_role("leader")
    last_complete = quarter_of(clock.today()).previous().label
    assert report(client, "json", "").json()["quarter"] == last_complete
    soup = soup_of(client.get("/reports"))
    assert soup.select_one("#report-quarter option[selected]")["value"] == last_complete
    assert soup.select_one("input[name=format][checked]")["value"] == "pdf"
    assert soup.select_one("#report-team option").get_text() == "Whole organisation"


# --- team scope -------------------------------------------------------------------------------

def test_a_viewer_may_not_export_another_team(client, db, as_role):
    from app.teams.models import Team

    own = db.get(Team, team_id(db))
    as_role("viewer", teams=[own])
    # Principal.scope: another team is refused exactly like one that does not exist.
    response = client.get("/api/v1/reports/quarterly",
                          params={"quarter": QUARTER, "team": "recommendations"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "team",
                                          "message": "unknown team 'recommendations'"}]
    assert client.get("/reports/download", params={
        "quarter": QUARTER, "team": "recommendations", "format": "pdf"}).status_code == 400
    assert client.get("/reports/quarterly", params={
        "quarter": QUARTER, "team": "recommendations"}).status_code == 400


def test_a_viewer_without_a_team_gets_its_own_teams_and_is_told_so(client, db, as_role):
    from app.teams.models import Team

    own = db.get(Team, team_id(db))
    as_role("viewer", teams=[own])
    mine = report(client, "json", QUARTER).json()
    assert mine["scope"]["label"] == "Your team: Fraud detection"
    assert "only the teams you belong to" in mine["scope"]["note"]
    team = report(client, "json", QUARTER, TEAM).json()
    assert mine["headline"] == team["headline"]
    assert {r["team"] for r in mine["sections"]["top_pain_points"]} == {"Fraud detection"}
    assert 'filename="northstar-2026-Q3-my-teams.xlsx"' in report(
        client, "xlsx", QUARTER).headers["content-disposition"]
    page = client.get("/reports/quarterly", params={"quarter": QUARTER})
    soup = soup_of(page)
    assert "only the teams you belong to" in soup.select_one("[data-testid=scope-note]").get_text()
    assert page_tiles(page.text)["annual_cost"][0] == team["headline"]["annual_cost"]["value"]
    form = soup_of(client.get("/reports"))
    assert [o["value"] for o in form.select("#report-team option")] == ["", TEAM]
    assert form.select_one("#report-team option").get_text() == "All my teams"


def test_a_token_bound_to_a_team_reports_that_team(client, db):
    from app.teams.models import Team
    from tests import factories

    team = db.get(Team, team_id(db))
    user = factories.make_user(db, role="leader")
    raw = factories.make_token(db, user, team_id=team.id)
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    data = client.get("/api/v1/reports/quarterly", params={"quarter": QUARTER},
                      headers=headers).json()
    assert data["scope"]["label"] == "Your team: Fraud detection"
    other = client.get("/api/v1/reports/quarterly",
                       params={"quarter": QUARTER, "team": "recommendations"}, headers=headers)
    assert other.status_code == 400 and other.json()["errors"][0]["field"] == "team"


def test_anonymous_requests_are_turned_away(client):
    assert client.get("/api/v1/reports/quarterly").status_code == 401
    response = client.get("/reports/quarterly")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_printable_page_has_print_css_and_charts(client, as_role):
    as_role("leader")
    soup = soup_of(client.get("/reports/quarterly", params={"quarter": QUARTER}))
    assert soup.select_one('link[rel=stylesheet][media=print][href*="print.css"]') is not None
    charts = soup.select("figure[data-plotly]")
    assert {c["id"] for c in charts} == {"chart-cost_by_stage", "chart-cost_by_persona",
                                         "chart-velocity_by_month", "chart-maturity"}
    assert soup.select_one("nav.report-toolbar a[data-format=pdf]")["href"].startswith(
        "/reports/download?quarter=2026-Q3")
    assert soup.find(string=lambda s: s and "Reports" in s and s.parent.name == "a") is not None


def test_openapi_documents_the_report_endpoint(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/reports/quarterly"]["get"]
    assert operation["operationId"] == "api.reports.quarterly"
    assert {p["name"] for p in operation["parameters"]} == {"quarter", "team", "format"}
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}
    assert "application/problem+json" in operation["responses"]["400"]["content"]
    assert {"application/pdf", "application/zip", "text/markdown"} <= set(
        operation["responses"]["200"]["content"])

"""The maturity pages as a browser uses them: the assessment form, the team page and the
dashboard; roles, bad input, and figures equal to the queries they come from."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from functools import partial

from bs4 import BeautifulSoup
from sqlalchemy import func, select

from app.auth.permissions import Principal
from app.core import clock
from app.core.periods import last_quarters, quarter_of
from app.maturity.models import MaturityAnswer, MaturityAssessment
from app.maturity.rubric import load_rubric
from app.maturity.schemas import AnswerDetail, AssessmentIn
from app.maturity.scoring import score
from app.maturity.service import create_assessment
from app.ml_models.models import LifecycleEvent, MLModel
from app.pain_points.measures import GroupBy, PainPointFilters
from app.pain_points.queries import cost_figures
from app.web.templating import money
from tests import factories
from tests.conftest import page_csrf

RUBRIC = load_rubric()
KEYS = RUBRIC.keys()
TITLES = {c.key: c.title for c in RUBRIC.capabilities}
L1 = [c.key for c in RUBRIC.capabilities if c.level == 1]
L2 = [c.key for c in RUBRIC.capabilities if c.level == 2]


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def text_of(node) -> str:
    return " ".join(node.get_text(" ").split())


def count(db, entity) -> int:
    return db.scalar(select(func.count()).select_from(entity))


def admin(db) -> Principal:
    user = factories.make_user(db, role="admin")
    return Principal(user_id=user.id, email=user.email, role=user.role)


def assess(db, team, answers, *, on: date | None = None):
    return create_assessment(db, AssessmentIn(team=team.slug, assessed_on=on, answers=answers),
                             actor=admin(db), today=clock.today())


def form_data(csrf: str, answers: dict[str, str], **extra: str) -> dict[str, str]:
    return {"csrf_token": csrf} | {f"answer-{k}": v for k, v in answers.items()} | extra


def all_of(value: str) -> dict[str, str]:
    return {k: value for k in KEYS}


def figures_of(page: BeautifulSoup) -> dict[str, dict]:
    return {f["id"]: json.loads(f.find("script", type="application/json").string)
            for f in page.select("figure[data-plotly]")}


# --- the form ---------------------------------------------------------------------------------


def test_form_is_prefilled_from_the_latest_assessment(client, db, as_role):
    team = factories.make_team(db, name="Fraud")
    answers = {k: "yes" for k in L1} | {k: "no" for k in L2}
    answers[L2[0]] = AnswerDetail(answer="partial", note="canary only",
                                  evidence="https://wiki/rollback")
    assess(db, team, {k: "no" for k in KEYS}, on=clock.today() - timedelta(days=90))
    assess(db, team, answers)
    as_role("pm", teams=[team])
    page = soup_of(client.get(f"/maturity/teams/{team.slug}/assess"))
    checked = {r["name"].removeprefix("answer-"): r["value"]
               for r in page.select("input[type=radio][checked]")}
    assert checked == {k: "yes" for k in L1} | {k: "no" for k in L2} | {L2[0]: "partial"}
    assert page.select_one(f"#note-{L2[0]}")["value"] == "canary only"
    assert page.select_one(f"#evidence-{L2[0]}")["value"] == "https://wiki/rollback"
    # Each question says what the capability is and what "partial" means.
    cap = next(c for c in RUBRIC.capabilities if c.key == L2[0])
    fieldset = page.select_one(f"#capability-{cap.key}")
    assert text_of(fieldset.legend) == cap.title
    assert cap.description in text_of(fieldset) and cap.partial in text_of(fieldset)
    # Grouped by level, with the rubric's level titles.
    assert [text_of(h) for h in page.select("form h2")] == [
        f"Level {n}: {RUBRIC.levels[n]['title']}" for n in (1, 2)]


def test_new_team_form_has_nothing_checked(client, db, as_role):
    team = factories.make_team(db)
    as_role("admin")
    response = client.get(f"/maturity/teams/{team.slug}/assess")
    assert response.status_code == 200
    assert soup_of(response).select("input[type=radio][checked]") == []


def test_pm_saves_an_assessment_and_sees_its_level_and_score(client, db, as_role):
    team = factories.make_team(db, name="Fraud")
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/maturity/teams/{team.slug}/assess")
    answers = {k: "yes" for k in L1} | dict(zip(L2, ["yes", "yes", "partial", "no", "no", "no"],
                                                strict=True))
    response = client.post(f"/maturity/teams/{team.slug}/assess",
                           data=form_data(csrf, answers, **{f"note-{L1[0]}": "MLflow everywhere"}))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/maturity/teams/{team.slug}"
    stored = db.scalars(select(MaturityAssessment)
                        .where(MaturityAssessment.team_id == team.id)).one()
    assert (stored.level, stored.score, stored.assessed_on) == (1, D("1.42"), clock.today())
    note = db.scalar(select(MaturityAnswer.note).where(MaturityAnswer.assessment_id == stored.id,
                                                       MaturityAnswer.capability == L1[0]))
    assert note == "MLflow everywhere"
    page = soup_of(client.get(response.headers["location"]))
    assert "level 1, score 1.42 — between level 1 and 2" in text_of(page.select_one(".flash"))
    assert text_of(page.select_one("[data-testid=level]")) == "Level 1"
    assert "1.42 — between level 1 and 2" in text_of(page.select_one("[data-testid=score]"))


def test_a_missing_answer_is_named_beside_its_capability_and_nothing_is_stored(
        client, db, as_role):
    team = factories.make_team(db)
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/maturity/teams/{team.slug}/assess")
    answers = all_of("yes")
    missing = answers.pop("model_registry")
    assert missing
    response = client.post(f"/maturity/teams/{team.slug}/assess",
                           data=form_data(csrf, answers, **{"note-data_validation": "kept"}))
    assert response.status_code == 422
    page = soup_of(response)
    errors = page.select(".field-error")
    assert len(errors) == 1
    fieldset = errors[0].find_parent("fieldset")
    assert fieldset["id"] == "capability-model_registry"
    assert TITLES["model_registry"] in text_of(errors[0])
    assert "Nothing was saved" in text_of(page.select_one("[role=alert]"))
    assert TITLES["model_registry"] in text_of(page.select_one("#error-summary"))
    # What was typed comes back.
    assert page.select_one("#note-data_validation")["value"] == "kept"
    assert len(page.select("input[type=radio][checked]")) == len(KEYS) - 1
    assert count(db, MaturityAssessment) == 0 and count(db, MaturityAnswer) == 0


def test_an_answer_outside_no_partial_yes_is_refused(client, db, as_role):
    team = factories.make_team(db)
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/maturity/teams/{team.slug}/assess")
    response = client.post(f"/maturity/teams/{team.slug}/assess",
                           data=form_data(csrf, all_of("yes") | {"data_validation": "maybe"}))
    assert response.status_code == 422
    error = soup_of(response).select_one("#capability-data_validation .field-error")
    assert "no, partial or yes" in text_of(error)
    assert count(db, MaturityAssessment) == 0


def test_pm_of_another_team_may_not_assess(client, db, as_role):
    team, other = factories.make_team(db), factories.make_team(db)
    as_role("pm", teams=[other])
    assert client.get(f"/maturity/teams/{team.slug}/assess").status_code == 403
    csrf = page_csrf(client, f"/maturity/teams/{other.slug}/assess")
    response = client.post(f"/maturity/teams/{team.slug}/assess",
                           data=form_data(csrf, all_of("yes")))
    assert response.status_code == 403
    assert team.name in text_of(soup_of(response).main)
    assert count(db, MaturityAssessment) == 0


def test_viewer_and_leader_may_not_assess(client, db, as_role):
    team = factories.make_team(db)
    as_role("viewer", teams=[team])
    assert client.get(f"/maturity/teams/{team.slug}/assess").status_code == 403
    page = soup_of(client.get(f"/maturity/teams/{team.slug}"))
    assert page.find("a", string="Assess this team") is None
    client.cookies.clear()
    as_role("leader")
    assert client.get(f"/maturity/teams/{team.slug}/assess").status_code == 403


def test_unknown_team_is_404(client, db, as_role):
    as_role("admin")
    assert client.get("/maturity/teams/nope/assess").status_code == 404
    assert client.get("/maturity/teams/nope").status_code == 404


# --- the team page ----------------------------------------------------------------------------


def test_team_page_shows_gaps_and_what_closing_them_is_worth(client, db, as_role):
    team = factories.make_team(db, name="Fraud", headcounts={"data-scientist": (5, D("150"))})
    other = factories.make_team(db)
    # Level 1 reached; level 2 blocked by two monitoring gaps and one governance gap.
    answers = {k: "yes" for k in L1} | {k: "yes" for k in L2}
    answers |= {"production_monitoring": "no", "monitoring_triggers_retraining": "no",
                "compliance_in_release": "no", "pipeline_build_deploy": "partial"}
    assess(db, team, answers)
    expected_gaps = score(RUBRIC.capabilities, answers).gaps
    assert set(expected_gaps) == {"production_monitoring", "monitoring_triggers_retraining",
                                  "compliance_in_release"}
    pain_point = partial(factories.make_pain_point, db, people_affected=3,
                         observed_since=clock.today() - timedelta(days=200))
    counted = [pain_point(team, stage="monitoring"),
               pain_point(team, stage="monitoring", status="in_progress", hours_likely=D(3)),
               pain_point(team, stage="governance", people_affected=2)]
    pain_point(team, stage="monitoring", status="resolved", resolved_on=clock.today())
    pain_point(team, stage="deployment")  # not a gap stage
    pain_point(other, stage="monitoring")  # another team's
    pain_point(team, stage="governance", deleted_at=datetime.now(UTC))
    db.commit()
    as_role("viewer", teams=[team])

    page = soup_of(client.get(f"/maturity/teams/{team.slug}"))
    gaps = [text_of(li.strong) for li in page.select("[data-testid=gaps] li")]
    assert gaps == [TITLES[k] for k in expected_gaps]
    # 1 + (yes + partial + yes) / 6 = 1.4166… → 1.42
    assert "1.42 — between level 1 and 2" in text_of(page.select_one("[data-testid=score]"))

    today = clock.today()
    filters = PainPointFilters(team_ids=frozenset({team.id}),
                               statuses=("open", "in_progress"))
    rows = {r.key: r for r in cost_figures(db, filters, first=today, last=today, weeks=D(46),
                                           group_by=GroupBy.stage)}
    stages = {tr["data-stage"]: tr for tr in page.select("[data-testid=worth] tbody tr")}
    assert list(stages) == ["monitoring", "governance"]  # lifecycle order
    for slug in stages:
        cells = stages[slug].find_all("td")
        assert text_of(cells[1]) == str(rows[slug].pain_points)
        assert text_of(cells[2]) == money(rows[slug].annual_run_rate)
        assert text_of(cells[3]) == (f"{money(rows[slug].annual_run_rate_low)} … "
                                     f"{money(rows[slug].annual_run_rate_high)}")
    assert rows["monitoring"].pain_points == 2 and rows["governance"].pain_points == 1
    total = rows["monitoring"].annual_run_rate + rows["governance"].annual_run_rate
    assert text_of(page.select_one("[data-testid=worth-total]")) == money(total)
    assert len(counted) == 3
    # The answers grid and the history.
    grid = {tr["data-capability"]: text_of(tr.find_all("td")[1])
            for tr in page.select("[data-testid=answers] tbody tr")}
    assert grid["production_monitoring"] == "No" and grid["pipeline_build_deploy"] == "Partial"
    history = [text_of(tr) for tr in page.select("[data-testid=history] tbody tr")]
    assert history == [f"{today.isoformat()} 1 1.42 — between level 1 and 2"]
    assert "history-chart" in figures_of(page)


def test_history_changes_with_a_new_assessment(client, db, as_role):
    team = factories.make_team(db)
    assess(db, team, all_of("no"), on=clock.today() - timedelta(days=100))
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/maturity/teams/{team.slug}/assess")
    client.post(f"/maturity/teams/{team.slug}/assess", data=form_data(csrf, all_of("partial")))
    page = soup_of(client.get(f"/maturity/teams/{team.slug}"))
    rows = [[text_of(td) for td in tr.find_all("td")]
            for tr in page.select("[data-testid=history] tbody tr")]
    assert [r[1] for r in rows] == ["2", "0"]  # newest first
    chart = figures_of(page)["history-chart"]
    assert chart["data"][0]["y"] == [0.0, 2.0]
    assert page.select_one("[data-testid=gaps]") is None
    assert "top level" in text_of(page)


def test_viewer_sees_only_its_own_teams(client, db, as_role):
    mine, theirs = factories.make_team(db), factories.make_team(db)
    assess(db, theirs, all_of("yes"))
    db.commit()
    as_role("viewer", teams=[mine])
    assert client.get(f"/maturity/teams/{mine.slug}").status_code == 200
    assert client.get(f"/maturity/teams/{theirs.slug}").status_code == 404
    page = soup_of(client.get("/dashboards/maturity"))
    assert theirs.name not in text_of(page)
    assert page.select_one("[data-testid=empty-state]") is not None


def test_not_yet_assessed_team_page(client, db, as_role):
    team = factories.make_team(db)
    as_role("pm", teams=[team])
    page = soup_of(client.get(f"/maturity/teams/{team.slug}"))
    assert "has not been assessed yet" in text_of(page.select_one("[data-testid=not-assessed]"))
    assert page.select_one("[data-testid=not-assessed] a")["href"] == (
        f"/maturity/teams/{team.slug}/assess")


# --- the dashboard ----------------------------------------------------------------------------


def test_dashboard_empty_state(client, db, as_role):
    team = factories.make_team(db)
    as_role("pm", teams=[team])
    response = client.get("/dashboards/maturity")
    assert response.status_code == 200
    page = soup_of(response)
    assert "No team has been assessed yet" in text_of(page.select_one("[data-testid=empty-state]"))
    assert page.select_one("[data-testid=empty-state] a")["href"] == (
        f"/maturity/teams/{team.slug}/assess")
    assert page.select("figure[data-plotly]") == []


def add_model(db, team, name: str, ideated: datetime, deployed: datetime) -> MLModel:
    model = MLModel(team_id=team.id, name=name)
    db.add(model)
    db.flush()
    for kind, moment in (("ideated", ideated), ("deployed", deployed)):
        db.add(LifecycleEvent(model_id=model.id, type=kind, occurred_at=moment))
    db.flush()
    return model


def test_dashboard_charts_and_their_tables(client, db, as_role):
    auto = factories.make_team(db, name="Automated")
    manual = factories.make_team(db, name="Manual")
    never = factories.make_team(db, name="Never assessed")
    today = clock.today()
    quarters = last_quarters(quarter_of(today), 8)
    # Manual: assessed in the 3rd of the 8 quarters at 0.5, again in the current one at 0.
    assess(db, manual, {k: ("yes" if i < 4 else "no") for i, k in enumerate(L1)}
           | {k: "no" for k in L2}, on=quarters[2].first_day)
    assess(db, manual, all_of("no"), on=today)
    assess(db, auto, {k: "yes" for k in L1} | dict(zip(L2, ["yes"] * 3 + ["no"] * 3,
                                                       strict=True)), on=today)
    now = datetime.now(UTC).replace(microsecond=0)
    for i, days in enumerate((10, 20, 40)):
        add_model(db, auto, f"a{i}", now - timedelta(days=days + 5), now - timedelta(days=5))
    add_model(db, manual, "m0", now - timedelta(days=125), now - timedelta(days=5))
    add_model(db, never, "n0", now - timedelta(days=70), now - timedelta(days=5))
    add_model(db, manual, "old", now - timedelta(days=900), now - timedelta(days=800))
    db.commit()
    as_role("leader")

    response = client.get("/dashboards/maturity")
    assert response.status_code == 200
    page = soup_of(response)
    figs = figures_of(page)
    assert set(figs) == {"levels-chart", "grid-chart", "trend-chart", "lead-chart"}
    # Every chart carries its text alternative.
    for fig in page.select("figure[data-plotly]"):
        assert fig.select_one("details table") is not None

    bars = figs["levels-chart"]["data"][0]
    assert bars["y"] == ["Automated", "Manual"] and bars["x"] == [1.5, 0.0]

    grid = figs["grid-chart"]["data"][0]
    assert grid["x"] == ["Automated", "Manual"]
    assert grid["z"][KEYS.index(L2[0])] == [1.0, 0.0]
    assert grid["text"][KEYS.index(L2[5])] == ["no", "no"]

    trend = {t["name"]: t["y"] for t in figs["trend-chart"]["data"]}
    assert trend["Manual"] == [None, None, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0]
    assert trend["Automated"] == [None] * 7 + [1.5]
    assert "Never assessed" not in trend
    assert figs["trend-chart"]["data"][0]["x"] == [q.label for q in quarters]

    lead = figs["lead-chart"]["data"][0]
    # Current levels: Automated 1, Manual 0; Never assessed has none. "old" is too old.
    assert lead["x"] == ["Level 0", "Level 1", "Not assessed"]
    assert lead["y"] == [120.0, 20.0, 65.0]
    table = {text_of(tr.th): [text_of(td) for td in tr.find_all("td")]
             for tr in page.select("#lead-chart tbody tr")}
    assert table == {"Level 0": ["1", "1", "120.0", "120.0"],
                     "Level 1": ["1", "3", "20.0", "36.0"],  # p90 of 10, 20, 40: 20 + .8 × 20
                     "Not assessed": ["1", "1", "65.0", "65.0"]}
    heading = text_of(page.select_one("#lead-title"))
    assert "current maturity level" in heading

    teams = {tr["data-team"]: text_of(tr) for tr in page.select("[data-testid=teams] tbody tr")}
    assert "not assessed" in teams[never.slug]
    assert "3 capabilities" in teams[auto.slug]


def test_dashboard_is_in_the_navigation(client, db, as_role):
    as_role("viewer")
    nav = soup_of(client.get("/dashboards/maturity")).select_one("nav[aria-label=Main]")
    link = nav.find("a", string="Maturity")
    assert link["href"] == "/dashboards/maturity" and link["aria-current"] == "page"

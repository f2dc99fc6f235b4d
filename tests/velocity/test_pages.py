"""The model pages as a browser uses them: list, form, model page, events, roles, bad input."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event, func, select

from app.core.clock import utcnow
from app.ml_models.models import ComputeCost, LifecycleEvent, MLModel
from tests import factories
from tests.conftest import page_csrf

HTMX = {"HX-Request": "true"}


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def text_of(node) -> str:
    return " ".join(node.get_text(" ").split())


def count(db, entity) -> int:
    return db.scalar(select(func.count()).select_from(entity))


def add_model(db, team, name="churn-propensity", **values) -> MLModel:
    model = MLModel(team_id=team.id, name=name, **values)
    db.add(model)
    db.flush()
    return model


def add_event(db, model, kind, moment: datetime, **values) -> LifecycleEvent:
    row = LifecycleEvent(model_id=model.id, type=kind, occurred_at=moment, **values)
    db.add(row)
    db.flush()
    return row


def local(moment: datetime) -> str:
    """As a datetime-local input sends it."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def create_model(client, team, csrf, **fields):
    data = {"csrf_token": csrf, "team": team.slug, "name": "churn-propensity",
            "use_case": "Accounts likely to churn next quarter", "kind": "classical",
            "annual_value_low": "1200000", "annual_value_likely": "1680000",
            "annual_value_high": "2400000"} | fields
    return client.post("/models", data=data)


def test_pm_creates_a_model_adds_events_and_sees_the_lead_time(client, db, as_role):
    team = factories.make_team(db, name="Segmentation")
    as_role("pm", teams=[team])
    csrf = page_csrf(client, "/models/new")
    response = create_model(client, team, csrf)
    assert response.status_code == 303
    model = db.scalars(select(MLModel).where(MLModel.team_id == team.id)).one()
    assert response.headers["location"] == f"/models/{model.id}"
    assert model.kind == "classical" and model.annual_value_likely == D(1680000)

    ideated = (utcnow() - timedelta(days=40)).replace(second=0, microsecond=0)
    deployed = ideated + timedelta(days=12, hours=12)
    for kind, moment in (("ideated", ideated), ("deployed", deployed)):
        response = client.post(f"/models/{model.id}/events", data={
            "csrf_token": csrf, "type": kind, "occurred_at": local(moment), "version": "1"})
        assert response.status_code == 303, response.text
    stored = db.scalars(select(LifecycleEvent).where(LifecycleEvent.model_id == model.id)
                        .order_by(LifecycleEvent.occurred_at)).all()
    # The datetime-local value is read as UTC, as the label says.
    assert [(e.type, e.occurred_at, e.source) for e in stored] == [
        ("ideated", ideated, "manual"), ("deployed", deployed, "manual")]

    page = soup_of(client.get(f"/models/{model.id}"))
    assert text_of(page.select_one("[data-testid=lead-time]")) == "12.5"  # deployed − ideated
    assert text_of(page.select_one("[data-testid=deployments]")) == "1"
    assert text_of(page.select_one("[data-testid=rollbacks]")) == "0"
    rows = [text_of(tr) for tr in page.select("table.events tbody tr")]
    assert rows[0].startswith("Ideated") and rows[1].startswith("Deployed")
    assert "Manual" in rows[1]

    listing = soup_of(client.get("/models"))
    row = listing.select_one(f"tr[data-model='{model.id}']")
    assert text_of(row.select_one("[data-testid=lead-time]")) == "12.5"


def test_the_model_page_draws_its_timeline_from_embedded_json(client, db, as_role):
    team = factories.make_team(db)
    model = add_model(db, team)
    add_event(db, model, "ideated", utcnow() - timedelta(days=30))
    add_event(db, model, "deployed", utcnow() - timedelta(days=3), version="7", source="api")
    db.add(ComputeCost(model_id=model.id, month=date(2026, 1, 1), gpu_hours=D("12.5"),
                       amount=D("340.20")))
    db.flush()
    as_role("viewer", teams=[team])
    page = soup_of(client.get(f"/models/{model.id}"))
    assert len(page.find_all("h1")) == 1
    figure = page.select_one("figure#timeline[data-plotly]")
    assert figure["aria-label"]
    spec = json.loads(figure.find("script", attrs={"type": "application/json"}).string)
    assert [t["name"] for t in spec["data"]] == ["Ideated", "Deployed"]
    assert "version 7" in spec["data"][1]["text"][0]
    assert figure.select_one("details summary").get_text() == "Show as table"
    compute = page.select_one("figure#compute[data-plotly]")
    spend = json.loads(compute.find("script").string)
    assert spend["data"][0]["y"] == [340.2]
    assert "$340.20" in text_of(compute.select_one("details table"))
    # The assets the charts need, served by the app; no inline script anywhere.
    sources = [s.get("src", "") for s in page.find_all("script")]
    assert any("/static/vendor/plotly-cartesian-4.1.1.min.js" in s for s in sources)
    assert any("/static/js/charts.js" in s for s in sources)
    assert all(s.get("src") or s.get("type") == "application/json"
               for s in page.find_all("script"))
    assert page.find(attrs={"style": True}) is None
    # A viewer sees no editing forms.
    assert page.find("form", attrs={"action": f"/models/{model.id}/events"}) is None


def test_a_future_event_is_refused_beside_occurred_at_and_nothing_is_stored(client, db, as_role):
    team = factories.make_team(db)
    model = add_model(db, team)
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/models/{model.id}")
    future = utcnow() + timedelta(days=3)
    response = client.post(f"/models/{model.id}/events", data={
        "csrf_token": csrf, "type": "deployed", "occurred_at": local(future), "version": "2"})
    assert response.status_code == 422
    page = soup_of(response)
    assert text_of(page.select_one("#occurred_at-error")) == "is in the future"
    field = page.select_one("#occurred_at")
    assert field["aria-invalid"] == "true" and field["value"] == local(future)
    assert page.select_one("#version")["value"] == "2"
    assert count(db, LifecycleEvent) == 0


def test_an_event_long_before_ideation_is_refused(client, db, as_role):
    team = factories.make_team(db)
    model = add_model(db, team)
    add_event(db, model, "ideated", utcnow() - timedelta(days=10))
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/models/{model.id}")
    response = client.post(f"/models/{model.id}/events", data={
        "csrf_token": csrf, "type": "data_ready",
        "occurred_at": local(utcnow() - timedelta(days=900)), "version": ""})
    assert response.status_code == 422
    assert "before the model was ideated" in text_of(soup_of(response).select_one(
        "#occurred_at-error"))
    assert count(db, LifecycleEvent) == 1


def test_an_unreadable_date_is_refused(client, db, as_role):
    team = factories.make_team(db)
    model = add_model(db, team)
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/models/{model.id}")
    response = client.post(f"/models/{model.id}/events", data={
        "csrf_token": csrf, "type": "ideated", "occurred_at": "yesterday", "version": ""})
    assert response.status_code == 422
    assert soup_of(response).select_one("#occurred_at-error") is not None
    assert count(db, LifecycleEvent) == 0


def test_duplicate_model_name_is_refused_beside_name(client, db, as_role):
    team = factories.make_team(db)
    add_model(db, team, name="churn-propensity")
    as_role("pm", teams=[team])
    csrf = page_csrf(client, "/models/new")
    response = create_model(client, team, csrf, name="Churn-Propensity")
    assert response.status_code == 422
    page = soup_of(response)
    assert "already has a model named" in text_of(page.select_one("#name-error"))
    assert page.select_one("#name")["value"] == "Churn-Propensity"
    assert page.select_one("#use_case").get_text() == "Accounts likely to churn next quarter"
    assert count(db, MLModel) == 1


@pytest.mark.parametrize("name, message", [("", "this field is required"),
                                           ("x" * 121, "at most 120 characters")])
def test_empty_or_too_long_name_is_refused(client, db, as_role, name, message):
    team = factories.make_team(db)
    as_role("pm", teams=[team])
    response = create_model(client, team, page_csrf(client, "/models/new"), name=name)
    assert response.status_code == 422
    assert message in text_of(soup_of(response).select_one("#name-error"))
    assert count(db, MLModel) == 0


def test_a_pm_cannot_add_a_model_to_another_team(client, db, as_role):
    mine, other = factories.make_team(db), factories.make_team(db)
    as_role("pm", teams=[mine])
    page = soup_of(client.get("/models/new"))
    assert [o["value"] for o in page.select("#team option")] == [mine.slug]
    response = create_model(client, other, page_csrf(client, "/models/new"))
    assert response.status_code == 403
    assert "own teams only" in text_of(soup_of(response).select_one("#team-error"))
    assert count(db, MLModel) == 0


def test_viewer_cannot_see_another_teams_model_nor_post(client, db, as_role):
    mine, other = factories.make_team(db), factories.make_team(db)
    visible = add_model(db, mine, name="visible-model")
    hidden = add_model(db, other, name="hidden-model")
    as_role("viewer", teams=[mine])
    assert client.get(f"/models/{visible.id}").status_code == 200
    assert client.get(f"/models/{hidden.id}").status_code == 404
    listing = text_of(soup_of(client.get("/models")).select_one("#results"))
    assert "visible-model" in listing and "hidden-model" not in listing
    csrf = page_csrf(client, "/models")
    when = local(utcnow() - timedelta(days=1))
    for path, data in [(f"/models/{visible.id}/events", {"type": "ideated", "occurred_at": when}),
                       (f"/models/{hidden.id}/events", {"type": "ideated", "occurred_at": when}),
                       ("/models", {"team": mine.slug, "name": "x", "kind": "llm"}),
                       (f"/models/{visible.id}/archive", {})]:
        assert client.post(path, data={"csrf_token": csrf} | data).status_code == 403, path
    assert client.get("/models/new").status_code == 403
    assert count(db, LifecycleEvent) == 0 and count(db, MLModel) == 2


def test_pm_of_another_team_reads_but_cannot_change_a_model(client, db, as_role):
    mine, other = factories.make_team(db), factories.make_team(db)
    model = add_model(db, other)
    as_role("pm", teams=[mine])
    page = soup_of(client.get(f"/models/{model.id}"))
    assert page.find("form", attrs={"action": f"/models/{model.id}/events"}) is None
    assert client.get(f"/models/{model.id}/edit").status_code == 403
    csrf = page_csrf(client, "/models")
    response = client.post(f"/models/{model.id}/events", data={
        "csrf_token": csrf, "type": "ideated", "occurred_at": local(utcnow())})
    assert response.status_code == 403
    assert count(db, LifecycleEvent) == 0


def test_edit_and_archive_a_model(client, db, as_role):
    team = factories.make_team(db)
    model = add_model(db, team, annual_value_low=D(1000), annual_value_likely=D(1200),
                      annual_value_high=D(2000))
    as_role("pm", teams=[team])
    page = soup_of(client.get(f"/models/{model.id}/edit"))
    assert page.select_one("#annual_value_likely")["value"] == "1200"
    csrf = page_csrf(client, f"/models/{model.id}/edit")
    response = client.post(f"/models/{model.id}", data={
        "csrf_token": csrf, "name": "churn-v2", "use_case": "new", "kind": "llm",
        "annual_value_low": "", "annual_value_likely": "", "annual_value_high": "",
        "version": page.find("input", attrs={"name": "version"})["value"]})
    assert response.status_code == 303
    db.refresh(model)
    assert (model.name, model.kind, model.annual_value_likely) == ("churn-v2", "llm", None)

    assert client.post(f"/models/{model.id}/archive",
                       data={"csrf_token": csrf}).status_code == 303
    db.refresh(model)
    assert model.archived_at is not None
    active = text_of(soup_of(client.get("/models")).select_one("#results"))
    archived = text_of(soup_of(client.get("/models?archived=archived")).select_one("#results"))
    assert "churn-v2" not in active and "churn-v2" in archived
    assert client.post(f"/models/{model.id}/unarchive",
                       data={"csrf_token": csrf}).status_code == 303
    db.refresh(model)
    assert model.archived_at is None


def test_compute_cost_form_stores_a_month_and_refuses_a_future_one(client, db, as_role):
    team = factories.make_team(db)
    model = add_model(db, team)
    as_role("pm", teams=[team])
    csrf = page_csrf(client, f"/models/{model.id}")
    response = client.post(f"/models/{model.id}/compute-costs", data={
        "csrf_token": csrf, "month": "2026-01", "gpu_hours": "12.5", "amount": "340.20"})
    assert response.status_code == 303
    row = db.scalars(select(ComputeCost)).one()
    assert (row.month, row.gpu_hours, row.amount) == (date(2026, 1, 1), D("12.5"), D("340.20"))
    next_year = f"{utcnow().year + 1}-01"
    response = client.post(f"/models/{model.id}/compute-costs", data={
        "csrf_token": csrf, "month": next_year, "gpu_hours": "1", "amount": "1"})
    assert response.status_code == 422
    assert text_of(soup_of(response).select_one("#month-error")) == "is in the future"
    assert count(db, ComputeCost) == 1


def test_htmx_list_request_returns_the_results_fragment(client, db, as_role):
    team = factories.make_team(db)
    add_model(db, team, name="ranker", kind="classical")
    add_model(db, team, name="chatbot", kind="llm")
    as_role("leader")
    response = client.get(f"/models?team={team.slug}&kind=llm", headers=HTMX)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    fragment = soup_of(response)
    assert fragment.find("html") is None and fragment.find("h1") is None
    names = [text_of(a) for a in fragment.select("table.models tbody td:first-child a")]
    assert names == ["chatbot"]
    # The pushed URL opens the full page.
    full = soup_of(client.get(f"/models?team={team.slug}&kind=llm"))
    assert full.find("h1").get_text() == "Models"
    assert full.select_one("#f-kind option[selected]")["value"] == "llm"


def test_unknown_team_filter_is_reported(client, db, as_role):
    as_role("leader")
    response = client.get("/models?team=nope")
    assert response.status_code == 200
    assert "unknown team 'nope'" in text_of(soup_of(response).select_one("#results"))


def test_a_script_in_a_model_name_renders_as_text(client, db, as_role):
    team = factories.make_team(db)
    name = "<script>alert(1)</script>"
    model = add_model(db, team, name=name)
    add_event(db, model, "ideated", utcnow() - timedelta(days=2), version="<b>v</b>")
    as_role("leader")
    for path in ("/models", f"/models/{model.id}"):
        response = client.get(path)
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
        assert name in text_of(soup_of(response))
    # Inside the figure JSON too: nothing can close the <script type="application/json">.
    page = client.get(f"/models/{model.id}").text
    assert "<b>v</b>" not in page


def test_the_list_runs_the_same_number_of_statements_for_5_or_30_models(
        client, db, as_role, connection):
    team = factories.make_team(db)
    as_role("leader")
    start = utcnow() - timedelta(days=300)

    def seed(n: int) -> None:
        for i in range(n):
            model = add_model(db, team, name=f"model-{n}-{i}")
            add_event(db, model, "ideated", start + timedelta(days=i))
            add_event(db, model, "deployed", start + timedelta(days=i + 20))
            add_event(db, model, "deployed", start + timedelta(days=i + 50))
        db.commit()

    def statements() -> int:
        seen: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        event.listen(connection, "before_cursor_execute", record)
        try:
            response = client.get(f"/models?team={team.slug}")
        finally:
            event.remove(connection, "before_cursor_execute", record)
        assert response.status_code == 200
        return len(seen), response

    seed(5)
    few, response = statements()
    assert len(soup_of(response).select("table.models tbody tr[data-model]")) == 5
    seed(25)
    many, response = statements()
    assert len(soup_of(response).select("table.models tbody tr[data-model]")) == 30
    assert few == many > 0
    assert "30.0" in text_of(soup_of(response).select_one("#results"))  # retrain cadence


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/models").status_code == 303
    assert client.get("/models").headers["location"].startswith("/login")


def test_deployed_before_ideated_counts_from_the_earliest_event(client, db, as_role):
    """Lead time is first deployed minus first ideated, or the earliest event without one."""
    team = factories.make_team(db)
    model = add_model(db, team)
    t0 = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    add_event(db, model, "experiment_started", t0)
    add_event(db, model, "deployed", t0 + timedelta(days=20))
    as_role("leader")
    page = soup_of(client.get(f"/models/{model.id}"))
    assert text_of(page.select_one("[data-testid=lead-time]")) == "20.0"


def test_a_bad_status_filter_is_reported_by_name(client, as_role):
    as_role("leader")
    results = soup_of(client.get("/models?archived=maybe")).select_one("#results")
    assert "Status: input should be 'active', 'archived' or 'all'" in text_of(results)

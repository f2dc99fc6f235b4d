"""Optimistic locking on initiatives, models, teams, personas and the org settings, exactly as
pain points do it (issue 14, finding 3): the version is the ETag; an edit without one is 428,
a stale one 409 with the current version, and the form shows both versions. Nothing is saved
then."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup

from app.initiatives.models import Initiative
from app.ml_models.models import MLModel
from app.settings.models import ORG_SETTINGS_ID, OrgSettings
from app.teams.models import Team
from tests import factories
from tests.api import bearer
from tests.conftest import login


@dataclass
class Entity:
    """How to reach one editable entity through the API and through its form."""

    name: str
    make: Callable  # (db, team) -> the stored object
    api_url: Callable[[object], str]
    patch: dict  # a change, as API JSON
    read: Callable[[object], object]  # the changed field, read from the stored object
    form_url: Callable[[object], str]  # the page with the form
    post_url: Callable[[object], str]
    form: Callable[[str], dict]  # a change, as form fields (with the version given)
    their_value: str  # what the first editor saved, as the conflict notice shows it
    your_value: str


def _model(db, team):
    model = MLModel(team_id=team.id, name="churn-propensity", use_case="Churn")
    db.add(model)
    db.flush()
    return model


def _initiative(db, team):
    initiative = Initiative(title="Model registry", team_id=team.id, owner="Marcus")
    db.add(initiative)
    db.flush()
    return initiative


def _org(db, team):
    return db.get(OrgSettings, ORG_SETTINGS_ID)


def _persona(db, team):
    return factories.persona(db, "ml-engineer")


TEAM_FIELDS = {f"{column}-{p}": "" for p in ("data-scientist", "ml-engineer", "data-engineer",
                                             "bi-engineer", "platform-engineer",
                                             "product-manager")
               for column in ("headcount", "hourly_cost")}

ENTITIES = [
    Entity(
        "initiative", _initiative, lambda o: f"/api/v1/initiatives/{o.id}",
        {"title": "Registry (API)"}, lambda o: o.title,
        lambda o: f"/initiatives/{o.id}/edit", lambda o: f"/initiatives/{o.id}",
        lambda title: {"title": title, "description": "", "owner": "Marcus",
                       "status": "proposed", "one_time_cost": "0", "yearly_run_cost": "0",
                       "started_on": "", "delivered_on": ""},
        "Registry (first)", "Registry (second)"),
    Entity(
        "model", _model, lambda o: f"/api/v1/models/{o.id}",
        {"use_case": "Churn (API)"}, lambda o: o.use_case,
        lambda o: f"/models/{o.id}/edit", lambda o: f"/models/{o.id}",
        lambda use_case: {"name": "churn-propensity", "use_case": use_case,
                          "kind": "classical", "annual_value_low": "", "annual_value_likely": "",
                          "annual_value_high": ""},
        "Churn (first)", "Churn (second)"),
    Entity(
        "team", lambda db, team: team, lambda o: f"/api/v1/teams/{o.slug}",
        {"description": "Fraud (API)"}, lambda o: o.description,
        lambda o: f"/settings/teams/{o.slug}", lambda o: f"/settings/teams/{o.slug}",
        lambda description: {"name": "Fraud ML", "slug": "fraud-ml",
                             "description": description} | TEAM_FIELDS,
        "Fraud (first)", "Fraud (second)"),
    Entity(
        "persona", _persona, lambda o: "/api/v1/personas/ml-engineer",
        {"name": "ML engineer (API)"}, lambda o: o.name,
        lambda o: "/settings/personas", lambda o: "/settings/personas/ml-engineer",
        lambda name: {"name": name, "hourly_cost": "95"},
        "MLE (first)", "MLE (second)"),
    Entity(
        "settings", _org, lambda o: "/api/v1/settings",
        {"name": "Acme (API)"}, lambda o: o.name,
        lambda o: "/settings/organisation", lambda o: "/settings/organisation",
        lambda name: {"name": name, "currency": "USD", "fiscal_year_start_month": "1",
                      "working_weeks_per_year": "46", "working_hours_per_week": "40"},
        "Acme (first)", "Acme (second)"),
]


@pytest.fixture(params=ENTITIES, ids=[e.name for e in ENTITIES])
def entity(request):
    return request.param


@pytest.fixture
def setup(db, entity):
    team = factories.make_team(db, name="Fraud ML", slug="fraud-ml",
                               headcounts={"data-scientist": 4})
    obj = entity.make(db, team)
    db.commit()
    return team, obj


def _stored(db, obj):
    db.expire_all()
    return db.get(type(obj), obj.id)


def test_api_needs_the_version_and_refuses_a_stale_one(client, db, entity, setup):
    team, obj = setup
    headers = bearer(db, "admin")
    url = entity.api_url(obj)
    before = entity.read(_stored(db, obj))

    read = client.get(url, headers=headers)
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"' and read.json()["version"] == 1

    missing = client.patch(url, headers=headers, json=entity.patch)
    assert missing.status_code == 428
    assert missing.json()["errors"][0]["field"] == "version"

    first = client.patch(url, headers=headers | {"If-Match": '"1"'}, json=entity.patch)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2 and first.headers["ETag"] == '"2"'

    stale = client.patch(url, headers=headers, json={**entity.patch, "version": 1})
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current_version"] == 2 and stale.headers["ETag"] == '"2"'
    assert stale.json()["errors"][0]["field"] == "version"

    disagree = client.patch(url, headers=headers | {"If-Match": '"2"'},
                            json={**entity.patch, "version": 1})
    assert disagree.status_code == 422
    stored = _stored(db, obj)
    assert entity.read(stored) != before and stored.version == 2


def test_a_stale_form_save_is_refused_and_shows_both_versions(client, db, entity, setup):
    team, obj = setup
    admin = factories.make_user(db, role="admin", teams=[team])
    db.commit()
    login(client, admin.email)

    # Two people open the form at version 1.
    page = BeautifulSoup(client.get(entity.form_url(obj)).text, "html.parser")
    form = page.find("form", action=entity.post_url(obj))
    csrf = form.find("input", attrs={"name": "csrf_token"})["value"]
    version = form.find("input", attrs={"name": "version"})["value"]
    assert version == "1"

    first = client.post(entity.post_url(obj), data=entity.form(entity.their_value) | {
        "csrf_token": csrf, "version": version})
    assert first.status_code == 303, first.text

    second = client.post(entity.post_url(obj), data=entity.form(entity.your_value) | {
        "csrf_token": csrf, "version": version})
    assert second.status_code == 409
    soup = BeautifulSoup(second.text, "html.parser")
    notice = soup.find(attrs={"data-testid": "conflict"})
    assert "Not saved" in notice.get_text()
    assert "now version 2" in notice.get_text()
    rows = {tr.th.get_text(strip=True): (tr.find("td", class_="theirs").get_text(strip=True),
                                         tr.find("td", class_="yours").get_text(strip=True))
            for tr in notice.select("tbody tr")}
    assert (entity.their_value, entity.your_value) in rows.values()
    # The form keeps the second editor's values and now carries the saved version.
    again = soup.find("form", action=entity.post_url(obj))
    assert again.find("input", attrs={"name": "version"})["value"] == "2"
    assert soup.find(["input", "textarea"], attrs={"value": entity.your_value}) is not None \
        or soup.find("textarea", string=entity.your_value) is not None
    stored = _stored(db, obj)
    assert entity.read(stored) == entity.their_value and stored.version == 2

    # Saving again on purpose replaces their version.
    third = client.post(entity.post_url(obj), data=entity.form(entity.your_value) | {
        "csrf_token": csrf, "version": "2"})
    assert third.status_code == 303
    assert entity.read(_stored(db, obj)) == entity.your_value


def test_a_form_without_a_version_saves_nothing(client, db, entity, setup):
    team, obj = setup
    admin = factories.make_user(db, role="admin", teams=[team])
    db.commit()
    login(client, admin.email)
    page = BeautifulSoup(client.get(entity.form_url(obj)).text, "html.parser")
    csrf = page.find("input", attrs={"name": "csrf_token"})["value"]
    before = entity.read(_stored(db, obj))
    response = client.post(entity.post_url(obj), data=entity.form(entity.your_value) | {
        "csrf_token": csrf})
    assert response.status_code == 422
    assert entity.read(_stored(db, obj)) == before


def test_headcounts_alone_make_a_new_team_version(client, db):
    team = factories.make_team(db, slug="solo", headcounts={"data-scientist": 2})
    db.commit()
    headers = bearer(db, "admin")
    response = client.patch("/api/v1/teams/solo", headers=headers | {"If-Match": '"1"'}, json={
        "headcounts": [{"persona": "data-scientist", "headcount": 3}]})
    assert response.status_code == 200 and response.json()["version"] == 2
    stale = client.patch("/api/v1/teams/solo", headers=headers | {"If-Match": '"1"'},
                         json={"description": "x"})
    assert stale.status_code == 409
    assert _stored(db, team).version == 2


def test_relinking_alone_makes_a_new_initiative_version(client, db):
    team = factories.make_team(db, headcounts={"data-scientist": 2})
    pain_point = factories.make_pain_point(db, team)
    initiative = _initiative(db, team)
    db.commit()
    headers = bearer(db, "admin")
    url = f"/api/v1/initiatives/{initiative.id}"
    response = client.patch(url, headers=headers | {"If-Match": '"1"'}, json={
        "links": [{"pain_point": pain_point.id, "expected_reduction": "25"}]})
    assert response.status_code == 200 and response.json()["version"] == 2
    assert client.patch(url, headers=headers, json={"title": "x", "version": 1}
                        ).status_code == 409


def test_archiving_needs_no_version_but_bumps_it(client, db):
    factories.make_team(db, slug="old-team")
    db.commit()
    headers = bearer(db, "admin")
    assert client.delete("/api/v1/teams/old-team", headers=headers).status_code == 200
    stale = client.patch("/api/v1/teams/old-team", headers=headers | {"If-Match": '"1"'},
                         json={"description": "x"})
    assert stale.status_code == 409
    assert db.query(Team).filter_by(slug="old-team").one().description == ""

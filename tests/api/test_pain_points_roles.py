"""Roles × own/other team × actions on pain points, through the API and through the pages.

docs/product.md: admin does everything; a pm edits pain points of its own teams only and reads all;
a leader reads everything and never edits; a viewer reads its own teams only. Confirming is for
members of the pain point's team, signed in as themselves (never through a token).

Each cell is a test of its own; refused writes must also leave the data as it was.
"""

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.pain_points.models import Confirmation, PainPoint
from tests import factories
from tests.api import bearer
from tests.helpers import login, page_csrf, soup_of

ACTIONS = ["list", "read", "create", "patch", "delete", "confirm"]

# API with bearer tokens (confirm: the same route with the user's browser session).
API_MATRIX = """
role   team   list   read  create patch delete confirm
admin  own    seen   200   201    200   200    201
admin  other  seen   200   201    200   200    403
pm     own    seen   200   201    200   200    201
pm     other  seen   200   403    403   403    403
leader own    seen   200   403    403   403    201
leader other  seen   200   403    403   403    403
viewer own    seen   200   403    403   403    201
viewer other  hidden 404   403    403   403    404
"""

# The pages (/pain-points…) with a browser session; a successful form post redirects (303).
UI_MATRIX = """
role   team   list   read  create patch delete confirm
admin  own    seen   200   303    303   303    303
admin  other  seen   200   303    303   303    403
pm     own    seen   200   303    303   303    303
pm     other  seen   200   403    403   403    403
leader own    seen   200   403    403   403    303
leader other  seen   200   403    403   403    403
viewer own    seen   200   403    403   403    303
viewer other  hidden 404   403    403   403    404
"""


def cells(matrix: str) -> list:
    header, *rows = [line.split() for line in matrix.strip().splitlines()]
    assert header[2:] == ACTIONS
    return [pytest.param(role, team, action, expected, id=f"{role}-{team}-{action}")
            for role, team, *expected_row in rows
            for action, expected in zip(ACTIONS, expected_row)]


class World:
    def __init__(self, db, role: str) -> None:
        self.db = db
        self.teams = {
            "own": factories.make_team(db, slug="own", headcounts={"data-scientist": 5}),
            "other": factories.make_team(db, slug="other", headcounts={"data-scientist": 5}),
        }
        self.pain_points = {side: self._add(team) for side, team in self.teams.items()}
        self.user = factories.make_user(db, role=role, teams=[self.teams["own"]])
        db.commit()

    def _add(self, team) -> PainPoint:
        pp = PainPoint(team_id=team.id, persona_id=factories.persona(self.db).id,
                       stage_id=factories.stage(self.db).id, title=f"Pain of {team.slug}",
                       kind="recurring", hours_low=D(1), hours_likely=D(2), hours_high=D(4),
                       people_affected=5, observed_since=date(2026, 1, 5))
        self.db.add(pp)
        self.db.flush()
        return pp

    def count(self) -> int:
        return self.db.scalar(select(func.count()).select_from(PainPoint))

    def stored(self, side: str) -> PainPoint:
        self.db.expire_all()
        return self.db.get(PainPoint, self.pain_points[side].id)

    def confirmations(self) -> int:
        return self.db.scalar(select(func.count()).select_from(Confirmation))


def matrix_pain_point(team: str) -> dict:
    return {"team": team, "persona": "data-scientist", "stage": "deployment",
            "title": "Logged in the matrix", "kind": "recurring", "hours_low": "1",
            "hours_likely": "2", "hours_high": "3"}


def assert_effect(world: World, side: str, action: str, allowed: bool) -> None:
    """The write happened exactly when it was allowed."""
    if action == "create":
        assert world.count() == (3 if allowed else 2)
    elif action == "patch":
        assert (world.stored(side).title == "Renamed") is allowed
    elif action == "delete":
        assert (world.stored(side).deleted_at is not None) is allowed
    elif action == "confirm":
        assert world.confirmations() == (1 if allowed else 0)


@pytest.mark.parametrize(("role", "side", "action", "expected"), cells(API_MATRIX))
def test_api(client, db, role, side, action, expected):
    world = World(db, role)
    headers = bearer(db, role, teams=[world.teams["own"]])
    pp = world.pain_points[side]
    url = f"/api/v1/pain-points/{pp.id}"
    if action == "list":
        response = client.get("/api/v1/pain-points", headers=headers)
        assert response.status_code == 200, response.text
        seen = pp.id in [i["id"] for i in response.json()["items"]]
        assert seen is (expected == "seen")
        return
    if action == "read":
        response = client.get(url, headers=headers)
    elif action == "create":
        response = client.post("/api/v1/pain-points", json=matrix_pain_point(side),
                               headers=headers)
    elif action == "patch":
        response = client.patch(url, json={"title": "Renamed"},
                                headers=headers | {"If-Match": '"1"'})
    elif action == "delete":
        response = client.delete(url, headers=headers)
    else:  # confirm: tokens may not, so as the user in its browser session
        login(client, world.user.email)
        response = client.post(f"{url}/confirmations", json={"hours": "3"},
                               headers={"X-CSRF-Token": page_csrf(client)})
    assert response.status_code == int(expected), response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    assert_effect(world, side, action, allowed=response.status_code < 400)


def ui_form(world: World, side: str, csrf: str, **overrides) -> dict:
    return {"csrf_token": csrf, "description": "", "evidence": "", "people_affected": "",
            "status": "open", "observed_since": "", "resolved_on": ""} | matrix_pain_point(
        world.teams[side].slug) | overrides


@pytest.mark.parametrize(("role", "side", "action", "expected"), cells(UI_MATRIX))
def test_ui(client, db, role, side, action, expected):
    world = World(db, role)
    login(client, world.user.email)
    csrf = page_csrf(client)
    pp = world.pain_points[side]
    url = f"/pain-points/{pp.id}"
    headers = {"X-CSRF-Token": csrf}
    if action == "list":
        response = client.get("/pain-points")
        assert response.status_code == 200, response.text
        links = {a["href"] for a in soup_of(response).find_all("a")}
        assert (url in links) is (expected == "seen")
        return
    if action == "read":
        response = client.get(url)
    elif action == "create":
        response = client.post("/pain-points", data=ui_form(world, side, csrf), headers=headers)
    elif action == "patch":
        # What the edit form sends back: every field filled in, and the version it showed.
        response = client.post(url, data=ui_form(world, side, csrf, title="Renamed",
                                                 hours_high="4", people_affected="5",
                                                 observed_since="2026-01-05", version="1"),
                               headers=headers)
    elif action == "delete":
        response = client.post(f"{url}/delete", data={"csrf_token": csrf}, headers=headers)
    else:
        response = client.post(f"{url}/confirm", data={"csrf_token": csrf, "hours": "3",
                                                       "comment": ""}, headers=headers)
    assert response.status_code == int(expected), response.text[:2000]
    assert_effect(world, side, action, allowed=response.status_code < 400)


@pytest.mark.parametrize("role", ["admin", "pm", "leader", "viewer"])
def test_tokens_never_confirm(client, db, role):
    world = World(db, role)
    headers = bearer(db, role, teams=[world.teams["own"]])
    response = client.post(f"/api/v1/pain-points/{world.pain_points['own'].id}/confirmations",
                           json={"hours": "3"}, headers=headers)
    assert response.status_code == 403, response.text
    assert world.confirmations() == 0


def test_token_bound_to_a_team_edits_that_team_only(client, db):
    world = World(db, "admin")
    other_team = world.teams["other"]
    headers = bearer(db, "admin", team_id=world.teams["own"].id)
    own = client.patch(f"/api/v1/pain-points/{world.pain_points['own'].id}",
                       json={"title": "Renamed"}, headers=headers | {"If-Match": '"1"'})
    assert own.status_code == 200, own.text
    # Outside its team the pain point is invisible to the token, so it is not found.
    theirs = client.patch(f"/api/v1/pain-points/{world.pain_points['other'].id}",
                          json={"title": "Renamed"}, headers=headers | {"If-Match": '"1"'})
    assert theirs.status_code == 404
    created = client.post("/api/v1/pain-points", json=matrix_pain_point(other_team.slug),
                          headers=headers)
    assert created.status_code == 403
    assert world.count() == 2 and world.stored("other").title == "Pain of other"

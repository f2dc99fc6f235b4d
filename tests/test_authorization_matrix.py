"""Every route of the app (UI and API) × every role × own/other team: allowed or refused as
docs/product.md says. Admin: everything. PM: reads all, changes its own teams only. Leader: reads all,
exports, changes nothing. Viewer: reads its own teams only. API routes are called with a token of
the role, UI routes with a signed-in session of the role (CSRF token included).

Writes are sent with an empty body: where validation answers before the team check (422/428),
nothing was stored either; tests/api/test_pain_points_roles.py and the API tests of models and
initiatives send valid bodies to prove the team check itself."""

import re
from datetime import UTC, date, datetime

import pytest

from app.auth.permissions import GRANTS, Principal
from app.core.routes import iter_app_routes
from app.imports.models import ImportJob, ImportKind, ImportStatus
from app.initiatives.models import Initiative
from app.maturity.rubric import load_rubric
from app.maturity.schemas import AssessmentIn
from app.maturity.service import create_assessment
from app.ml_models.models import LifecycleEvent, MLModel
from app.value.models import Kpi
from tests import factories
from tests.conftest import login, page_csrf
from tests.test_routes_protected import PUBLIC, _permission_of

ROLES = ["admin", "pm", "leader", "viewer"]
REFUSED = {401, 403, 404}
# Path parameters naming team-scoped data: a viewer may not read another team's, a PM may not
# change another team's.
TEAM_SCOPED = {"pain_point_id", "model_id", "initiative_id", "slug", "team", "assessment_id"}
# Reads of a team a viewer may see by design although not its own (reference data, settings).
NOT_TEAM_DATA = re.compile(r"^/(api/v1/personas|settings/)")


def world(db):
    own = factories.make_team(db, slug="own-team", name="Own team",
                              headcounts={"data-scientist": 5})
    other = factories.make_team(db, slug="other-team", name="Other team",
                                headcounts={"data-scientist": 5})
    admin = factories.make_user(db, role="admin")
    objects = {}
    for key, team in (("own", own), ("other", other)):
        pp = factories.make_pain_point(db, team, people_affected=3)
        model = MLModel(team_id=team.id, name=f"model-{key}")
        db.add(model)
        db.flush()
        db.add(LifecycleEvent(model_id=model.id, type="ideated",
                              occurred_at=datetime(2026, 1, 5, tzinfo=UTC)))
        db.add(Kpi(model_id=model.id, key="kpi", name="KPI", unit="USD", value_per_unit=1))
        initiative = Initiative(team_id=team.id, title=f"initiative {key}")
        db.add(initiative)
        db.flush()
        principal = Principal(user_id=admin.id, email=admin.email, role=admin.role)
        assessment = create_assessment(
            db, AssessmentIn(team=team.slug, assessed_on=date(2026, 6, 1),
                             answers={k: "partial" for k in load_rubric().keys()}),
            actor=principal, today=date(2026, 11, 29))
        objects[key] = {"pain_point_id": pp.id, "model_id": model.id,
                        "initiative_id": initiative.id, "slug": team.slug, "team": team.slug,
                        "assessment_id": assessment.id, "key": "kpi"}
    user = factories.make_user(db, role="viewer")
    token_owner = factories.make_user(db, role="pm", teams=[own])
    factories.make_token(db, token_owner)
    objects["admin_only"] = {"user_id": user.id, "token_id": 1}
    return own, objects


def concrete(path: str, values: dict) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name == "slug" and path.startswith(("/settings/personas", "/api/v1/personas")):
            return "data-scientist"
        return str(values.get(name, 1))

    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", substitute, path)


def expected_refusal(role: str, permission, method: str, path: str, scope: str) -> bool:
    """True when docs/product.md says `role` may not do this."""
    if role not in {r.value for r in GRANTS[permission]}:
        return True
    team_scoped = scope == "other" and any(f"{{{p}}}" in path for p in TEAM_SCOPED)
    if not team_scoped or NOT_TEAM_DATA.match(path):
        return False
    # Opening an edit or assessment form is part of changing the data.
    writes = (method != "GET" or path.endswith(("/edit", "/assess"))) and not path.endswith(
        ("/confirmations", "/confirm"))
    if path.endswith(("/confirmations", "/confirm")) and method == "POST":
        return True  # only members of the affected team confirm
    if role == "viewer":
        return True  # another team's data is invisible to a viewer
    return writes and role == "pm"


def must_refuse_write(role, permission, method, path, scope) -> bool:
    return method != "GET" and expected_refusal(role, permission, method, path, scope)


def routes(app):
    found = []
    for route in iter_app_routes(app):
        permission = _permission_of(getattr(route, "dependant", None))
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in PUBLIC or permission is None:
                continue
            found.append((method, route.path, permission))
    # Reads first, destructive writes last, so earlier cases see the data intact.
    destructive = re.compile(r"/(delete|archive|revoke|password)$")
    return sorted(found, key=lambda r: (r[0] != "GET", r[0] == "DELETE",
                                        bool(destructive.search(r[1])), r[1]))


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role_and_team(app, client, db, role):
    own, objects = world(db)
    user = factories.make_user(db, role=role, teams=[own])
    raw_token = factories.make_token(db, user)
    # A background import this user started: its progress page is theirs to read.
    job = ImportJob(kind=ImportKind.pain_points, status=ImportStatus.done, actor_id=user.id)
    db.add(job)
    db.flush()
    objects["admin_only"]["job_id"] = job.id
    db.commit()
    login(client, user.email)
    csrf = page_csrf(client, "/pain-points")
    wrong, checked = [], 0
    for scope in ("other", "own"):
        values = objects[scope] | objects["admin_only"]
        for method, path, permission in routes(app):
            url = concrete(path, values)
            # A confirmation is validated before its author: send a valid one.
            body = {"hours": "1"} if path.endswith(("/confirm", "/confirmations")) else {}
            if path.startswith("/api/"):
                headers = {"Authorization": f"Bearer {raw_token}"}
                # The bearer token is what counts (the session cookie rides along unused).
                response = client.request(method, url, headers=headers, json=body)
            else:
                response = client.request(method, url, headers={"X-CSRF-Token": csrf},
                                          data={"csrf_token": csrf} | body)
            refused = response.status_code in REFUSED or (
                # An empty body is refused as invalid before the team check: nothing stored.
                must_refuse_write(role, permission, method, path, scope)
                and response.status_code in (422, 428))
            # An API token may never confirm: confirmations are a person's own estimate.
            must_refuse = expected_refusal(role, permission, method, path, scope) or (
                path.endswith("/confirmations") and method == "POST" and path.startswith("/api/"))
            if refused != must_refuse and not (
                # own data a write already deleted or archived in an earlier case
                not must_refuse and response.status_code == 404 and method != "GET"
            ):
                wrong.append(f"{role} {scope} {method} {path}: {response.status_code}")
            checked += 1
    assert wrong == [], "\n".join(wrong)
    assert checked > 150

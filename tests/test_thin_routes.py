"""Routes parse input and pick a template (CONVENTIONS.md "Layers"): no reads, no SQL and no
permission logic in a route module. Permission logic lives in `app.auth.deps` (who may call a
route, see tests/test_routes_protected.py) and in the domains' `queries`/`service` getters
(`get_visible_or_404`, `get_editable_or_403`, `Principal.scope` through
`app.teams.queries.team_scope`).

How it counts (the figures of issue 15 are measured with this definition): every route module —
every module of `app/` that declares an `APIRouter` — is parsed with `ast`;
a *read* is a call of `session.get(...)`, `session.execute/scalar/scalars(...)` or `select(...)`;
a *permission check* is any use of `.can_edit_team`, `.can_edit_teams`, `.can_read_team`,
`.visible_team_ids`, `.org_wide`, a call `.has(Permission.…)` or a comparison of `.role`.
Each occurrence counts once. `principal.scope(...)` is the one scope API every door uses (it
answers which teams to read, and refuses a team the principal may not see): routes pass its
answer on, they do not decide it.
"""

import ast
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from app.auth.models import Role
from app.auth.permissions import Principal, TeamNotVisible
from tests import factories
from tests.api import bearer

APP = Path(__file__).resolve().parents[1] / "app"

READ_CALLS = {"get", "execute", "scalar", "scalars"}
PERMISSION_ATTRIBUTES = {"can_edit_team", "can_edit_teams", "can_read_team", "visible_team_ids",
                         "org_wide"}

# Route modules another helper of issue 15/18 is rewriting; what they still do is theirs to move.
# Each entry: module → the exact number of findings left there (so a new one still fails).
ALLOWED: dict[str, int] = {
}


def route_modules() -> list[Path]:
    """Every module that declares routes (an `APIRouter`): the pages' `routes.py` and
    `*_routes.py`, and the `/api/v1` routers; not the plumbing beside them."""
    return sorted(p for p in APP.rglob("*.py") if "APIRouter(" in p.read_text())


def _is_session(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in {"session", "db"} or (
        isinstance(node, ast.Attribute) and node.attr == "session")


def findings(source: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "select":
                found.append((node.lineno, "select("))
            elif isinstance(func, ast.Attribute) and func.attr in READ_CALLS \
                    and _is_session(func.value):
                found.append((node.lineno, f"session.{func.attr}("))
            elif isinstance(func, ast.Attribute) and func.attr == "has" and node.args and \
                    isinstance(node.args[0], ast.Attribute) and \
                    isinstance(node.args[0].value, ast.Name) and \
                    node.args[0].value.id == "Permission":
                found.append((node.lineno, ".has(Permission"))
        elif isinstance(node, ast.Attribute) and node.attr in PERMISSION_ATTRIBUTES:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "role" for s in sides):
                found.append((node.lineno, "role =="))
    return sorted(found)


def all_findings() -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in route_modules():
        rel = str(path.relative_to(APP.parent))
        hits = findings(path.read_text())
        if hits:
            out[rel] = hits
    return out


def test_the_walker_sees_what_it_should():
    hits = findings(
        "def f(session, principal):\n"
        "    session.get(A, 1)\n"
        "    session.scalars(select(A))\n"
        "    principal.can_edit_team(1)\n"
        "    principal.has(Permission.edit)\n"
        "    principal.role == Role.admin\n"
        "    principal.visible_team_ids\n")
    assert Counter(kind for _, kind in hits) == Counter({
        "session.get(": 1, "session.scalars(": 1, "select(": 1, ".can_edit_team": 1,
        ".has(Permission": 1, "role ==": 1, ".visible_team_ids": 1})
    assert route_modules(), "no route module found"


def test_routes_hold_no_reads_and_no_permission_checks():
    found = all_findings()
    unexpected = {module: hits for module, hits in found.items()
                  if len(hits) != ALLOWED.get(module, 0)}
    assert unexpected == {}, "\n".join(
        f"{module}:{line}: {kind}" for module, hits in unexpected.items() for line, kind in hits)


def test_the_allow_list_names_only_existing_findings():
    found = all_findings()
    assert {m: len(found.get(m, [])) for m in ALLOWED} == ALLOWED


# --- the one scope rule, through every door --------------------------------------------------
# docs/product.md: a viewer reads its own teams only, and every form and endpoint refuses an
# unknown team naming the field. `Principal.scope` makes another team's slug exactly as unknown
# as a made-up one, whichever door is asked (its existence is not revealed, as GET
# /api/v1/teams/{id} answers 404 for it).

API_DOORS = [
    ("/api/v1/metrics/cost", 422), ("/api/v1/metrics/velocity", 422),
    ("/api/v1/metrics/compute", 422), ("/api/v1/metrics/value", 422),
    ("/api/v1/metrics/maturity", 422), ("/api/v1/metrics/roi", 422),
    ("/api/v1/pain-points", 422), ("/api/v1/models", 422), ("/api/v1/initiatives", 422),
    ("/api/v1/maturity-assessments", 422), ("/api/v1/compute-costs", 422),
    ("/api/v1/reports/quarterly", 400),
]
PAGE_DOORS = [
    ("/pain-points", 422), ("/pain-points/export.csv", 422), ("/dashboards/cost", 422),
    ("/dashboards/velocity", 422), ("/dashboards/maturity", 422),
    ("/models", 200),  # the list answers bad filters in its results (as for any bad filter)
    ("/initiatives", 422), ("/reports/quarterly", 400),
]


def test_principal_scope_is_the_rule():
    viewer = Principal(1, "v@example.org", Role.viewer, team_ids=frozenset({1, 2}))
    leader = Principal(2, "l@example.org", Role.leader)
    bound = Principal(3, "t@example.org", Role.admin, token_team_id=2)
    assert viewer.scope() == frozenset({1, 2}) and leader.scope() is None
    assert viewer.scope(frozenset({2})) == frozenset({2}) == bound.scope({2})
    assert leader.scope({7}) == frozenset({7})
    with pytest.raises(TeamNotVisible) as refused:
        viewer.scope({2, 3})
    assert refused.value.team_ids == frozenset({3})
    with pytest.raises(TeamNotVisible):
        bound.scope({1})


@pytest.fixture
def two_teams(db):
    fraud = factories.make_team(db, name="Fraud", slug="fraud",
                                headcounts={"data-scientist": 3})
    factories.make_team(db, name="Search", slug="search", headcounts={"data-scientist": 3})
    db.commit()
    return fraud


@pytest.mark.parametrize(("path", "status"), API_DOORS, ids=[p for p, _ in API_DOORS])
def test_every_api_door_refuses_another_team_as_unknown(client, db, two_teams, path, status):
    headers = bearer(db, "viewer", teams=[two_teams])
    own = client.get(path, params={"team": "fraud"}, headers=headers)
    assert own.status_code == 200, own.text
    hidden = client.get(path, params={"team": "search"}, headers=headers)
    unknown = client.get(path, params={"team": "nope"}, headers=headers)
    assert (hidden.status_code, unknown.status_code) == (status, status), hidden.text
    assert hidden.headers["content-type"] == "application/problem+json"
    assert hidden.json()["errors"] == [{"field": "team", "message": "unknown team 'search'"}]
    assert unknown.json()["errors"] == [{"field": "team", "message": "unknown team 'nope'"}]
    # A leader reads every team: the same slug is answered.
    leader = client.get(path, params={"team": "search"}, headers=bearer(db, "leader"))
    assert leader.status_code == 200, leader.text


@pytest.mark.parametrize(("path", "status"), PAGE_DOORS, ids=[p for p, _ in PAGE_DOORS])
def test_every_page_door_refuses_another_team_as_unknown(client, db, as_role, two_teams, path,
                                                         status):
    as_role("viewer", teams=[two_teams])
    own = client.get(path, params={"team": "fraud"})
    assert own.status_code == 200
    assert "unknown team" not in BeautifulSoup(own.text, "html.parser").get_text()
    for slug in ("search", "nope"):
        response = client.get(path, params={"team": slug})
        assert response.status_code == status, (slug, response.text[:300])
        text = BeautifulSoup(response.text, "html.parser").get_text()
        assert f"unknown team '{slug}'" in text, slug

"""Routes parse input and pick a template (CONVENTIONS.md "Layers"): no reads, no SQL and no
permission logic in a route module. Permission logic lives in `app.auth.deps` (who may call a
route, see tests/test_routes_protected.py) and in the domains' `queries`/`service` getters
(`get_visible_or_404`, `get_editable_or_403`, `Principal.scope` through
`app.teams.queries.team_scope`).

How it counts (the figures of issue 15 are measured with this definition): every route module —
`app/**/routes.py`, `app/**/*_routes.py` and every module of `app/api/` — is parsed with `ast`;
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

APP = Path(__file__).resolve().parents[1] / "app"

READ_CALLS = {"get", "execute", "scalar", "scalars"}
PERMISSION_ATTRIBUTES = {"can_edit_team", "can_edit_teams", "can_read_team", "visible_team_ids",
                         "org_wide"}

# Route modules another helper of issue 15/18 is rewriting; what they still do is theirs to move.
# Each entry: module → the exact number of findings left there (so a new one still fails).
ALLOWED: dict[str, int] = {
}


def route_modules() -> list[Path]:
    found = {p for p in APP.rglob("*.py")
             if p.name == "routes.py" or p.name.endswith("_routes.py")}
    found |= set((APP / "api").glob("*.py"))
    return sorted(found)


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

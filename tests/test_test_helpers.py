"""The tests read like the code: one definition per helper, HTML asserted through the parser.

Measured on main before issue 15 (module-level functions and fixtures of every module under
tests/, not counting test functions): 417 local helpers; 49 names defined in more than one
module, 151 copies between them (`soup_of` 11, `count` 11, `at` 10, `fraud` 7, `admin` 7,
`text_of` 5, `add_model` 4 …); 44 `"…" in response.text` asserts on bodies the test does
not read as data, 8 of which must see the bytes (escaping, leaks: allow-listed below) and 36
grepped HTML.
Shared helpers live in tests/helpers.py, shared fixtures in tests/conftest.py, builders of
every entity in tests/factories.py.
"""

import ast
from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path

TESTS = Path(__file__).parent
HTTP_CALLS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}

# Names that are defined twice on purpose, each with the reason: a module overriding a
# conftest fixture, so that the fixtures built on it (db, client…) use its version.
SAME_NAME_ALLOWED: dict[str, str] = {
    "database_url": "tests/test_cli.py: the CLI's own SQLite file, as an operator's",
    "connection": "tests/reports/conftest.py: the demo organisation, loaded once per run",
    "app": "tests/test_oidc.py: the app with single sign-on and a fake provider",
}

# `"…" in response.text` asserts that must see the bytes, not the parsed page:
# "module::test::needle" → why.
ESCAPING = "escaping is a property of the bytes sent, which a parser undoes"
LEAK = "a leak check: it must appear nowhere in the body, not even inside markup"
RAW_BODY_ALLOWED: dict[str, str] = {
    "tests/pain_points/test_pages.py::test_script_in_a_title_shows_as_text::"
    "'<script>alert(1)</script>'": ESCAPING,
    "tests/pain_points/test_pages.py::test_script_in_a_title_shows_as_text::"
    "'&lt;script&gt;alert(1)&lt;/script&gt;'": ESCAPING,
    "tests/velocity/test_pages.py::test_a_script_in_a_model_name_renders_as_text::"
    "'<script>alert(1)</script>'": ESCAPING,
    "tests/velocity/test_pages.py::test_a_script_in_a_model_name_renders_as_text::"
    "'&lt;script&gt;alert(1)&lt;/script&gt;'": ESCAPING,
    "tests/test_operations.py::test_unhandled_error_is_a_friendly_500::'kaput'": LEAK,
    "tests/test_input_hygiene.py::"
    "test_an_unhandled_error_answers_like_any_response_and_keeps_the_connection::'kaput'": LEAK,
    "tests/settings/test_pages.py::test_token_secret_is_shown_once_and_works_until_revoked::"
    "secret": LEAK,
    "tests/resilience/test_idempotency.py::test_only_api_posts_are_concerned::"
    "'Idempotency-Key'": LEAK,
}


def modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "node_modules" not in p.parts)


def name_of(path: Path) -> str:
    return path.relative_to(TESTS.parent).as_posix()


def helpers_by_name() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in modules():
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and not node.name.startswith(("test_", "pytest_"))):
                found[node.name].append(name_of(path))
    return found


def test_no_helper_or_fixture_is_defined_in_two_modules():
    twice = {name: paths for name, paths in helpers_by_name().items()
             if len(paths) > 1 and name not in SAME_NAME_ALLOWED}
    assert twice == {}, "share it in tests/helpers.py, conftest.py or factories.py, or rename it"


def responses_in(function: ast.AST) -> set[str]:
    """Names bound to the result of an HTTP call (`x = client.get(...)`) or read as one."""
    names = set()
    for node in ast.walk(function):
        if (isinstance(node, ast.Attribute) and node.attr in ("status_code", "headers")
                and isinstance(node.value, ast.Name)):
            names.add(node.value.id)
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute)
                and node.value.func.attr in HTTP_CALLS):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def read_as_data(function: ast.AST, name: str) -> bool:
    """The test reads `name` as JSON or checks that its body is not HTML."""
    for node in ast.walk(function):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "json" and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name):
            return True
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            on_headers = any(isinstance(p, ast.Subscript) and isinstance(p.value, ast.Attribute)
                             and p.value.attr == "headers" and isinstance(p.value.value, ast.Name)
                             and p.value.value.id == name for p in parts)
            constants = [p.value for p in ast.walk(node)
                         if isinstance(p, ast.Constant) and isinstance(p.value, str)]
            if on_headers and any(("json" in c or "csv" in c or "text/plain" in c
                                   or "markdown" in c or "openmetrics" in c) for c in constants):
                return True
    return False


def raw_html_asserts() -> list[str]:
    found = []
    for path in modules():
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            key = f"{name_of(path)}::{function.name}"
            responses = responses_in(function)
            for node in ast.walk(function):
                if not isinstance(node, ast.Compare):
                    continue
                for op, right in zip(node.ops, node.comparators, strict=True):
                    if (isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Attribute)
                            and right.attr == "text" and isinstance(right.value, ast.Name)
                            and right.value.id in responses
                            and not read_as_data(function, right.value.id)):
                        needle = ast.unparse(node.left if right is node.comparators[0]
                                             else node.comparators[0])
                        if f"{key}::{needle}" not in RAW_BODY_ALLOWED:
                            found.append(f"{key}::{needle}")
    return found


def test_html_is_asserted_through_the_parser():
    assert raw_html_asserts() == [], "parse it with tests.helpers.soup_of"


def test_the_allow_lists_name_what_exists():
    names = helpers_by_name()
    assert [n for n in SAME_NAME_ALLOWED if len(names.get(n, ())) < 2] == []
    functions = {f"{name_of(p)}::{n.name}" for p in modules()
                 for n in ast.walk(ast.parse(p.read_text()))
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert [k for k in RAW_BODY_ALLOWED if k.rsplit("::", 1)[0] not in functions] == []


# Entities without a builder, each with the reason.
NO_BUILDER = {
    "CostQuarter": "derived: kept by app/core/derived.py from pain points",
    "CostSummaryState": "derived: the state of the cost summary",
    "RunRateRank": "derived: kept from pain points",
    "ModelMilestone": "derived: kept from lifecycle events",
    "DeploymentMonth": "derived: kept from lifecycle events",
    "ProductionPeriod": "derived: kept from lifecycle events",
    "ModelValueMonth": "derived: kept from events, KPI observations, KPIs, compute, models",
    "ModelValueState": "derived: the horizon of the monthly model values",
    "InitiativeSaving": "derived: kept from initiatives, links and pain points",
    "InitiativeRealizing": "derived: kept from initiatives, links and pain points",
    "InitiativeSavingState": "derived: the state of the initiative savings",
    "OrgSettings": "one row, seeded by the migrations: tests update it",
    "Stage": "reference data seeded by the migrations: factories.stage() looks one up",
    "TeamPersona": "a team's headcount: make_team(headcounts=...)",
    "MaturityAnswer": "part of an assessment: make_assessment(answers=...)",
    "IdempotencyKey": "written by the API middleware for a retried POST",
    "LoginAttempt": "written by signing in, which the throttle tests do",
    "UserSession": "written by signing in (tests.helpers.login)",
    "SsoLogin": "written by the OIDC flow, which tests/test_oidc.py drives",
}
BUILDERS = {"Team": "make_team", "Persona": "make_persona", "User": "make_user",
            "ApiToken": "make_token", "PainPoint": "make_pain_point",
            "Confirmation": "make_confirmation", "MLModel": "make_model",
            "LifecycleEvent": "make_event", "ComputeCost": "make_compute_cost",
            "Kpi": "make_kpi", "KpiObservation": "make_kpi_observation",
            "QualityMetric": "make_quality_metric",
            "QualityObservation": "make_quality_observation",
            "MaturityAssessment": "make_assessment", "Initiative": "make_initiative",
            "InitiativeLink": "make_link", "ImportJob": "make_import_job",
            "SsoGroupMapping": "make_sso_mapping", "AuditEntry": "make_audit_entry"}


def test_every_entity_has_a_builder():
    import app.models  # noqa: F401  (every entity's mapper)
    from app.core.orm import Base
    from tests import factories

    entities = {m.class_.__name__ for m in Base.registry.mappers}
    assert entities - NO_BUILDER.keys() == BUILDERS.keys()
    assert [b for b in BUILDERS.values() if not hasattr(factories, b)] == []


def test_the_builders_build_rows_that_hold_together(db):
    from datetime import date

    from tests import factories as f

    team = f.make_team(db, headcounts={"data-scientist": 3})
    user = f.make_user(db, teams=[team])
    assert f.make_token(db, user).startswith("nst_")
    f.make_persona(db)
    pain_point = f.make_pain_point(db, team)
    f.make_confirmation(db, pain_point, user)
    model = f.make_model(db, team, events=[("ideated", f.make_event(db, f.make_model(
        db, team)).occurred_at)])
    f.make_compute_cost(db, model)
    f.make_kpi_observation(db, f.make_kpi(db, model))
    f.make_quality_observation(db, f.make_quality_metric(db, model))
    f.make_assessment(db, team, answers={"experiment_tracking": "yes"}, assessed_on=date(2026, 2, 1))
    f.make_initiative(db, team=team, links={pain_point: D("0.25")})
    f.make_import_job(db)
    f.make_sso_mapping(db, teams=[team])
    f.make_audit_entry(db)

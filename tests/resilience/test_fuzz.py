"""Schemathesis against the app's own /openapi.json, in process, with an admin token: every
operation, a bounded number of generated requests each (valid and invalid ones), and no answer
may be a 5xx or break the documented response schema.

Bounded for CI (two cores): MAX_EXAMPLES valid and NEGATIVE_EXAMPLES invalid requests per
operation, plus MAX_EXAMPLES more with the path parameters and the team, persona and stage a body
names set to objects that exist (random ids and slugs only ever find 404 and 422), plus
HOSTILE_EXAMPLES with one parameter or body member replaced by what broke PostgreSQL before
(issue 13/14): NUL, lone surrogates, integers past 32 and 64 bits, far dates. It runs on the
configured backend (PostgreSQL in CI). Generation is derandomized, so a failure reproduces on the next run. Every
failure is collected (operation, request as curl, status, body, what broke) before the test
fails, so one run lists them all.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from app.demo.loader import load_demo
from app.initiatives.models import Initiative
from app.maturity.models import MaturityAssessment
from app.ml_models.models import MLModel
from app.pain_points.models import PainPoint
from app.teams.models import Persona, Stage, Team
from app.value.models import Kpi, QualityMetric
from tests import factories

MAX_EXAMPLES = 15
NEGATIVE_EXAMPLES = 5
HOSTILE_EXAMPLES = 10
# Values that reach the database unless something refuses them first. Surrogates travel only in
# JSON (a URL carries UTF-8 bytes, which cannot encode one).
HOSTILE_ANYWHERE = ("\x00", "a\x00b", "\x1b[31m", 2**31, -(2**31) - 1, 2**63, 10**20,
                    "2147483648", "99999999999999999999", "9999-12-31", "0001-01-01",
                    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "10000-01-01")
HOSTILE_JSON = ("a\ud800b", "\udfff", "\ud83d")
CHECKS = [not_a_server_error, response_schema_conformance]
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
    suppress_health_check=list(HealthCheck), verbosity=hypothesis.Verbosity.quiet,
)


@dataclass
class Failure:
    operation: str
    request: str
    status: int | None
    body: str
    problem: str

    def __str__(self) -> str:
        return (f"{self.operation}: {self.problem}\n  request: {self.request}\n"
                f"  answer: {self.status} {self.body[:500]}")


def existing_objects(db) -> dict[str, object]:
    """Path parameter values that name real objects of the demo organisation."""
    first = {name: db.scalar(select(model.id).order_by(model.id).limit(1)) for name, model in (
        ("pain_point_id", PainPoint), ("model_id", MLModel), ("initiative_id", Initiative),
        ("assessment_id", MaturityAssessment))}
    team = db.scalar(select(Team.slug).where(Team.is_archived.is_(False)).order_by(Team.id))
    persona = db.scalar(select(Persona.slug).order_by(Persona.id))
    kpi = db.scalar(select(Kpi.key).order_by(Kpi.id).limit(1)) or "losses_prevented"
    metric = db.scalar(select(QualityMetric.name).order_by(QualityMetric.id).limit(1)) or "auc"
    return first | {"team": team, "slug": persona, "key": kpi, "name": metric}


def real_references(db) -> dict[str, str]:
    """Slugs that bodies name objects by (`"team": "fraud"`), so that writes get past 422."""
    return {
        "team": db.scalar(select(Team.slug).where(Team.is_archived.is_(False)).order_by(Team.id)),
        "persona": db.scalar(select(Persona.slug).order_by(Persona.id)),
        "stage": db.scalar(select(Stage.slug).order_by(Stage.id)),
    }


def with_real_references(case, references: dict[str, str]):
    if isinstance(case.body, dict):
        for field, value in references.items():
            if field in case.body:
                case.body[field] = value
    return case


def _replace_one(container: dict, index: int, value) -> bool:
    if not container:
        return False
    key = sorted(container)[index % len(container)]
    container[key] = value
    return True


def with_hostile_value(case, place: int, pick: int, index: int):
    """`case` with one member of its body, query or path replaced by a hostile value."""
    places = [name for name in ("body", "query", "path_parameters")
              if isinstance(getattr(case, name, None), dict) and getattr(case, name)]
    if not places:
        return case
    where = places[place % len(places)]
    json_body = where == "body" and "json" in (getattr(case, "media_type", None) or "")
    pool = HOSTILE_ANYWHERE + (HOSTILE_JSON if json_body else ())
    if where == "path_parameters":  # a path segment is text: numbers and dates as strings
        pool = tuple(v if isinstance(v, str) else str(v) for v in HOSTILE_ANYWHERE)
    _replace_one(getattr(case, where), index, pool[pick % len(pool)])
    return case


def test_every_operation_survives_generated_requests(app, db, capsys):
    load_demo(db, today=date(2026, 11, 30), password="fuzz-demo-password")
    admin = factories.make_user(db, role="admin")
    headers = {"Authorization": f"Bearer {factories.make_token(db, admin)}"}
    db.commit()
    existing = existing_objects(db)
    references = real_references(db)

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[Failure] = []
    seen: set[tuple[str, str]] = set()
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    operations = 0

    def run(operation, strategy, examples: int) -> None:
        @hypothesis.settings(SETTINGS, max_examples=examples)
        @hypothesis.given(case=strategy)
        def generated(case) -> None:
            cases[operation.label] += 1
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # an exception escaping the app: a 500 for the client
                key = (operation.label, type(exc).__name__)
                if key not in seen:
                    seen.add(key)
                    failures.append(Failure(
                        operation.label, case.as_curl_command(headers=headers), 500,
                        "(exception raised by the app)", f"{type(exc).__name__}: {exc}"))
                return
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as exc:  # schemathesis's FailureGroup: every check that broke
                problem = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                key = (operation.label, f"{response.status_code} {problem}")
                if key not in seen:  # one example per operation and kind of failure
                    seen.add(key)
                    failures.append(Failure(
                        operation.label, case.as_curl_command(headers=headers),
                        response.status_code, response.text, str(exc).strip()))

        try:
            generated()
        except hypothesis.errors.Unsatisfiable:
            pass  # nothing to make invalid (no parameters, no body)

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        run(operation, operation.as_strategy(GenerationMode.POSITIVE), MAX_EXAMPLES)
        run(operation, operation.as_strategy(GenerationMode.NEGATIVE), NEGATIVE_EXAMPLES)
        names = {p.name for p in operation.path_parameters}
        if (names and names <= set(existing)) or len(operation.body):
            real = {name: existing[name] for name in names}
            strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real or None)
            run(operation, strategy.map(lambda case: with_real_references(case, references)),
                MAX_EXAMPLES)
        hostile = operation.as_strategy(GenerationMode.POSITIVE, path_parameters={
            name: existing[name] for name in names if name in existing} or None)
        picks = hypothesis.strategies.integers(0, 63)
        run(operation, hypothesis.strategies.tuples(hostile, picks, picks, picks).map(
            lambda drawn: with_hostile_value(*drawn)), HOSTILE_EXAMPLES)

    total = sum(cases.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} cases over {operations} operations; answers by status "
              f"{dict(sorted(statuses.items()))}; {len(failures)} failures")
    assert operations >= 40 and total >= operations * MAX_EXAMPLES // 2
    assert not failures, "\n\n".join(str(f) for f in failures)

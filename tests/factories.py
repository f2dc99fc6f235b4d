"""Plain builders of every entity for tests: `make_x(session, parent, *, field=...)`.

Each adds and flushes one row (and the rows it owns) with sensible defaults, and never
commits; keyword arguments override any column."""

import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.models import ApiToken, Role, SsoGroupMapping, User
from app.auth.service import TOKEN_PREFIX, sha256
from app.imports.models import ImportJob, ImportKind, ImportStatus
from app.initiatives.models import Initiative, InitiativeLink
from app.maturity.models import MaturityAnswer, MaturityAssessment
from app.pain_points.models import Confirmation, PainPoint
from app.teams.models import Persona, Stage, Team, TeamPersona
from app.value.models import Kpi, KpiObservation, QualityMetric, QualityObservation
from app.ml_models.models import ComputeCost, LifecycleEvent, MLModel

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def password_hash() -> str:
    """argon2 with the cheapest parameters: a hash carries its own cost, so every login of a
    test user verifies in milliseconds while the app keeps its production defaults."""
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)).hash(
        PASSWORD)


def make_team(session: Session, **overrides) -> Team:
    n = next(_seq)
    headcounts = overrides.pop("headcounts", {})
    team = Team(name=overrides.pop("name", f"Team {n}"), slug=overrides.pop("slug", f"team-{n}"),
                **overrides)
    session.add(team)
    session.flush()
    for persona_slug, count in headcounts.items():
        hourly = None
        if isinstance(count, tuple):
            count, hourly = count
        session.add(TeamPersona(team_id=team.id, persona_id=persona(session, persona_slug).id,
                                headcount=count, hourly_cost=hourly))
    session.flush()
    return team


def persona(session: Session, slug: str = "data-scientist") -> Persona:
    return session.scalars(select(Persona).where(Persona.slug == slug)).one()


def stage(session: Session, slug: str = "deployment") -> Stage:
    return session.scalars(select(Stage).where(Stage.slug == slug)).one()


def make_user(session: Session, **overrides) -> User:
    n = next(_seq)
    teams = overrides.pop("teams", [])
    role = overrides.pop("role", Role.pm)
    user = User(email=overrides.pop("email", f"user{n}@example.com"),
                name=overrides.pop("name", f"User {n}"),
                password_hash=overrides.pop("password_hash", password_hash()),
                role=Role(role), teams=list(teams), **overrides)
    session.add(user)
    session.flush()
    return user


def make_token(session: Session, user: User, **overrides) -> str:
    """Creates an API token for `user` and returns its secret."""
    n = next(_seq)
    raw = f"{TOKEN_PREFIX}test-{n}-{'x' * 20}"
    token = ApiToken(name=overrides.pop("name", f"token {n}"), token_hash=sha256(raw),
                     prefix=raw[:10], role=Role(overrides.pop("role", user.role)),
                     user_id=user.id, **overrides)
    session.add(token)
    session.flush()
    return raw


def money(value: str) -> Decimal:
    return Decimal(value)


def make_pain_point(session: Session, team: Team, **overrides):
    """A recurring pain point of `team`: 1/2/4 h a week for 10 data scientists at deployment,
    observed 2025-06-01, unless overridden (persona and stage by slug or id)."""
    if isinstance(overrides.get("persona"), str):
        overrides["persona_id"] = persona(session, overrides.pop("persona")).id
    if isinstance(overrides.get("stage"), str):
        overrides["stage_id"] = stage(session, overrides.pop("stage")).id
    values = dict(team_id=team.id, persona_id=persona(session).id, stage_id=stage(session).id,
                  title=f"Pain point {next(_seq)}", kind="recurring", hours_low=Decimal(1),
                  hours_likely=Decimal(2), hours_high=Decimal(4), people_affected=10,
                  observed_since=date(2025, 6, 1))
    pain_point = PainPoint(**(values | overrides))
    session.add(pain_point)
    session.flush()
    return pain_point


def _added(session: Session, row):
    session.add(row)
    session.flush()
    return row


def make_persona(session: Session, *, hourly_cost: Decimal = Decimal("100"), **values) -> Persona:
    n = next(_seq)
    return _added(session, Persona(**({"slug": f"persona-{n}", "name": f"Persona {n}",
                                       "hourly_cost": hourly_cost, "position": 100 + n}
                                      | values)))


def make_confirmation(session: Session, pain_point: PainPoint, user: User, *,
                      hours: Decimal = Decimal("2"), **values) -> Confirmation:
    """`user` says the pain point costs them `hours` a week too."""
    return _added(session, Confirmation(pain_point_id=pain_point.id, user_id=user.id,
                                        hours=hours, **values))


def make_model(session: Session, team: Team, *, name: str | None = None,
               events: Iterable[tuple[str, datetime]] = (), **values) -> MLModel:
    """An ML model of `team` with its lifecycle `events` (type, moment), in that order."""
    model = _added(session, MLModel(team_id=team.id, name=name or f"model-{next(_seq)}",
                                    **values))
    for kind, moment in events:
        make_event(session, model, type=kind, occurred_at=moment)
    return model


def make_event(session: Session, model: MLModel, *, type: str = "deployed",
               occurred_at: datetime = datetime(2026, 1, 5, tzinfo=UTC),
               **values) -> LifecycleEvent:
    return _added(session, LifecycleEvent(model_id=model.id, type=type,
                                          occurred_at=occurred_at, **values))


def make_compute_cost(session: Session, model: MLModel, *, month: date = date(2026, 1, 1),
                      amount: Decimal = Decimal("1000"), **values) -> ComputeCost:
    return _added(session, ComputeCost(model_id=model.id, month=month, amount=amount, **values))


def make_kpi(session: Session, model: MLModel, *, key: str = "losses",
             name: str = "Losses prevented", unit: str = "USD",
             value_per_unit: Decimal = Decimal(1), **values) -> Kpi:
    return _added(session, Kpi(model_id=model.id, key=key, name=name, unit=unit,
                               value_per_unit=value_per_unit, **values))


def make_kpi_observation(session: Session, kpi: Kpi, *, month: date = date(2026, 1, 1),
                         amount: Decimal = Decimal("100"), **values) -> KpiObservation:
    return _added(session, KpiObservation(kpi_id=kpi.id, model_id=kpi.model_id, month=month,
                                          amount=amount, **values))


def make_quality_metric(session: Session, model: MLModel, *, name: str = "auc",
                        **values) -> QualityMetric:
    return _added(session, QualityMetric(model_id=model.id, name=name, **values))


def make_quality_observation(session: Session, metric: QualityMetric, *, value: float = 0.9,
                             observed_at: datetime = datetime(2026, 1, 5, tzinfo=UTC),
                             **values) -> QualityObservation:
    return _added(session, QualityObservation(metric_id=metric.id, model_id=metric.model_id,
                                              value=value, observed_at=observed_at, **values))


def make_assessment(session: Session, team: Team, *, assessed_on: date = date(2026, 1, 5),
                    level: int = 1, score: Decimal = Decimal("1.40"),
                    rubric_version: str = "test", answers: Mapping[str, str] | None = None,
                    **values) -> MaturityAssessment:
    """A maturity assessment of `team` with `answers` (capability → answer)."""
    assessment = _added(session, MaturityAssessment(
        team_id=team.id, assessed_on=assessed_on, rubric_version=rubric_version, level=level,
        score=score, **values))
    for capability, answer in (answers or {}).items():
        session.add(MaturityAnswer(assessment_id=assessment.id, capability=capability,
                                   answer=answer))
    session.flush()
    return assessment


def make_initiative(session: Session, *, team: Team | None = None, title: str | None = None,
                    links: Mapping[PainPoint, Decimal] | None = None, **values) -> Initiative:
    """An initiative (of `team`, or organisation-wide) addressing `links`: pain point →
    expected reduction."""
    initiative = _added(session, Initiative(team_id=team.id if team else None,
                                            title=title or f"Initiative {next(_seq)}",
                                            **values))
    for pain_point, reduction in (links or {}).items():
        make_link(session, initiative, pain_point, expected_reduction=reduction)
    return initiative


def make_link(session: Session, initiative: Initiative, pain_point: PainPoint, *,
              expected_reduction: Decimal = Decimal("0.5")) -> InitiativeLink:
    return _added(session, InitiativeLink(initiative_id=initiative.id,
                                          pain_point_id=pain_point.id,
                                          expected_reduction=expected_reduction))


def make_import_job(session: Session, *, kind: str = ImportKind.pain_points,
                    status: str = ImportStatus.done, filename: str = "import.csv",
                    **values) -> ImportJob:
    return _added(session, ImportJob(kind=kind, status=status, filename=filename, **values))


def make_sso_mapping(session: Session, *, group_name: str | None = None, role: str = Role.viewer,
                     teams: Iterable[Team] = ()) -> SsoGroupMapping:
    return _added(session, SsoGroupMapping(group_name=group_name or f"group-{next(_seq)}",
                                           role=Role(role), teams=list(teams)))


def make_audit_entry(session: Session, *, action: str = "create", entity_type: str = "team",
                     entity_id: str = "1", actor: str = "system", **values) -> AuditEntry:
    return _added(session, AuditEntry(action=action, entity_type=entity_type,
                                      entity_id=entity_id, actor=actor, **values))

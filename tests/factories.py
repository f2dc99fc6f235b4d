"""Plain builders of domain objects for tests: `make_x(session, **overrides)`."""

import itertools
from decimal import Decimal
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, Role, User
from app.auth.service import TOKEN_PREFIX, sha256
from app.teams.models import Persona, Stage, Team, TeamPersona

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
    from datetime import date

    from app.pain_points.models import PainPoint

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

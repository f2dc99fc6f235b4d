"""Imports every model so that `Base.metadata` knows the whole schema (Alembic, tests)."""

from app.audit.models import AuditEntry
from app.auth.models import ApiToken, LoginAttempt, Role, User, UserSession, user_team
from app.db import Base
from app.idempotency import IdempotencyKey  # noqa: F401  (Idempotency-Key middleware's table)
from app.initiatives.models import Initiative, InitiativeLink
from app.maturity.models import MaturityAnswer, MaturityAssessment
from app.pain_points.models import Confirmation, PainPoint
from app.settings.models import OrgSettings
from app.teams.models import Persona, Stage, Team, TeamPersona
from app.velocity.models import ComputeCost, LifecycleEvent, MLModel

__all__ = [
    "ApiToken", "AuditEntry", "Base", "ComputeCost", "Confirmation", "Initiative",
    "InitiativeLink", "LifecycleEvent", "LoginAttempt", "MLModel", "MaturityAnswer",
    "MaturityAssessment", "OrgSettings", "PainPoint", "Persona", "Role", "Stage", "Team",
    "TeamPersona", "User", "UserSession", "user_team",
]

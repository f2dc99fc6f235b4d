"""Imports every model so that `Base.metadata` knows the whole schema (Alembic, tests), and the
session listeners that keep derived tables in step with the rows they are computed from."""

from app.audit.models import AuditEntry
from app.auth.models import (
    ApiToken, LoginAttempt, Role, SsoGroupMapping, SsoLogin, User, UserSession,
    sso_group_mapping_team, user_team,
)
from app.core.orm import Base
from app.api.idempotency import IdempotencyKey  # noqa: F401  (Idempotency-Key middleware's table)
from app.imports.models import ImportJob
from app.initiatives import savings  # noqa: F401  (keeps initiative_saving in step)
from app.initiatives.models import (
    Initiative, InitiativeLink, InitiativeRealizing, InitiativeSaving, InitiativeSavingState,
)
from app.maturity.models import MaturityAnswer, MaturityAssessment
from app.ml_models.models import ComputeCost, LifecycleEvent, MLModel
from app.pain_points import summary  # noqa: F401  (keeps pain_point_cost_quarter in step)
from app.pain_points.models import (
    Confirmation, CostQuarter, CostSummaryState, PainPoint, RunRateRank,
)
from app.settings.models import OrgSettings
from app.teams.models import Persona, Stage, Team, TeamPersona
from app.value import production  # noqa: F401  (keeps production_period in step)
from app.value import monthly  # noqa: F401  (keeps model_value_month in step, after it)
from app.value.models import (
    Kpi, KpiObservation, ModelValueMonth, ModelValueState, ProductionPeriod, QualityMetric,
    QualityObservation,
)
from app.velocity import milestones  # noqa: F401  (keeps model_milestone, deployment_month in step)
from app.velocity.models import DeploymentMonth, ModelMilestone

__all__ = [
    "ApiToken", "AuditEntry", "Base", "ComputeCost", "Confirmation", "CostQuarter", "ImportJob",
    "CostSummaryState", "DeploymentMonth", "Initiative", "InitiativeLink", "InitiativeRealizing",
    "InitiativeSaving", "InitiativeSavingState", "Kpi", "KpiObservation",
    "LifecycleEvent", "LoginAttempt", "MLModel", "MaturityAnswer", "MaturityAssessment",
    "ModelMilestone", "ModelValueMonth", "ModelValueState", "OrgSettings", "PainPoint",
    "Persona", "ProductionPeriod", "QualityMetric",
    "QualityObservation",
    "Role", "RunRateRank", "SsoGroupMapping", "SsoLogin", "Stage", "Team", "TeamPersona", "User",
    "UserSession", "sso_group_mapping_team", "user_team",
]

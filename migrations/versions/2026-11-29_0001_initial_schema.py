"""Initial schema: the whole domain of docs/product.md, with personas, stages and org settings seeded.

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 10:02:39.380611
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('admin', 'pm', 'leader', 'viewer', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('email', name=op.f('uq_app_user_email'))
    )
    op.create_table('lifecycle_stage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lifecycle_stage')),
    sa.UniqueConstraint('name', name=op.f('uq_lifecycle_stage_name')),
    sa.UniqueConstraint('position', name=op.f('uq_lifecycle_stage_position')),
    sa.UniqueConstraint('slug', name=op.f('uq_lifecycle_stage_slug'))
    )
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt'))
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempt_email_attempted_at', ['email', 'attempted_at'], unique=False)
        batch_op.create_index('ix_login_attempt_ip_attempted_at', ['ip', 'attempted_at'], unique=False)

    op.create_table('org_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('fiscal_year_start_month', sa.Integer(), nullable=False),
    sa.Column('working_weeks_per_year', sa.Numeric(precision=4, scale=1), nullable=False),
    sa.Column('working_hours_per_week', sa.Numeric(precision=4, scale=1), nullable=False),
    sa.CheckConstraint('fiscal_year_start_month BETWEEN 1 AND 12', name=op.f('ck_org_settings_fiscal_month')),
    sa.CheckConstraint('id = 1', name=op.f('ck_org_settings_single_row')),
    sa.CheckConstraint('working_hours_per_week > 0 AND working_hours_per_week <= 168', name=op.f('ck_org_settings_hours')),
    sa.CheckConstraint('working_weeks_per_year > 0 AND working_weeks_per_year <= 52', name=op.f('ck_org_settings_weeks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_settings'))
    )
    op.create_table('persona',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('hourly_cost', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('hourly_cost >= 0', name=op.f('ck_persona_hourly_cost_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persona')),
    sa.UniqueConstraint('name', name=op.f('uq_persona_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_persona_slug'))
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('is_archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("slug <> ''", name=op.f('ck_team_slug_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('name', name=op.f('uq_team_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_team_slug'))
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('role', sa.Enum('admin', 'pm', 'leader', 'viewer', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_api_token_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity_type', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_audit_log_actor_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('initiative',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'in_progress', 'delivered', 'cancelled', name='initiative_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('one_time_cost', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('yearly_run_cost', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("title <> ''", name=op.f('ck_initiative_title_not_empty')),
    sa.CheckConstraint('delivered_on IS NULL OR started_on IS NULL OR delivered_on >= started_on', name=op.f('ck_initiative_delivered_after_started')),
    sa.CheckConstraint('one_time_cost >= 0 AND yearly_run_cost >= 0', name=op.f('ck_initiative_costs_non_negative')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_initiative_team_id_team'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_initiative'))
    )
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiative_team_id'), ['team_id'], unique=False)

    op.create_table('maturity_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('rubric_version', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('assessor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('level >= 0 AND score >= 0', name=op.f('ck_maturity_assessment_non_negative')),
    sa.ForeignKeyConstraint(['assessor_id'], ['app_user.id'], name=op.f('fk_maturity_assessment_assessor_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_maturity_assessment_team_id_team'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maturity_assessment'))
    )
    with op.batch_alter_table('maturity_assessment', schema=None) as batch_op:
        batch_op.create_index('ix_maturity_assessment_team_assessed_on', ['team_id', 'assessed_on'], unique=False)

    op.create_table('ml_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('use_case', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('classical', 'llm', name='model_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('business_value_per_month', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("name <> ''", name=op.f('ck_ml_model_name_not_empty')),
    sa.CheckConstraint('business_value_per_month IS NULL OR business_value_per_month >= 0', name=op.f('ck_ml_model_value_non_negative')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_ml_model_team_id_team'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_model')),
    sa.UniqueConstraint('team_id', 'name', name=op.f('uq_ml_model_team_id_name'))
    )
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_model_team_id'), ['team_id'], unique=False)

    op.create_table('pain_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('persona_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('recurring', 'one_time', name='pain_point_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('hours_low', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('hours_likely', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('hours_high', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('people_affected', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'in_progress', 'resolved', 'wont_fix', name='pain_point_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('observed_since', sa.Date(), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'resolved' AND resolved_on IS NOT NULL) OR (status <> 'resolved' AND resolved_on IS NULL)", name=op.f('ck_pain_point_resolved_on_iff_resolved')),
    sa.CheckConstraint("hours_high <= 2000 AND (kind = 'one_time' OR hours_high <= 168)", name=op.f('ck_pain_point_hours_bounded')),
    sa.CheckConstraint("title <> ''", name=op.f('ck_pain_point_title_not_empty')),
    sa.CheckConstraint('hours_low >= 0 AND hours_low <= hours_likely AND hours_likely <= hours_high', name=op.f('ck_pain_point_hours_ordered')),
    sa.CheckConstraint('people_affected >= 1 AND people_affected <= 100000', name=op.f('ck_pain_point_people_affected_range')),
    sa.CheckConstraint('resolved_on IS NULL OR resolved_on >= observed_since', name=op.f('ck_pain_point_resolved_after_observed')),
    sa.ForeignKeyConstraint(['persona_id'], ['persona.id'], name=op.f('fk_pain_point_persona_id_persona'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reporter_id'], ['app_user.id'], name=op.f('fk_pain_point_reporter_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stage_id'], ['lifecycle_stage.id'], name=op.f('fk_pain_point_stage_id_lifecycle_stage'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_pain_point_team_id_team'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pain_point'))
    )
    with op.batch_alter_table('pain_point', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pain_point_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_observed_since'), ['observed_since'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_persona_id'), ['persona_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_stage_id'), ['stage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_team_id'), ['team_id'], unique=False)

    op.create_table('team_persona',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('persona_id', sa.Integer(), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('hourly_cost', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.CheckConstraint('headcount >= 0 AND headcount <= 100000', name=op.f('ck_team_persona_headcount_range')),
    sa.CheckConstraint('hourly_cost IS NULL OR hourly_cost >= 0', name=op.f('ck_team_persona_hourly_cost_non_negative')),
    sa.ForeignKeyConstraint(['persona_id'], ['persona.id'], name=op.f('fk_team_persona_persona_id_persona'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_persona_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'persona_id', name=op.f('pk_team_persona'))
    )
    with op.batch_alter_table('team_persona', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_persona_persona_id'), ['persona_id'], unique=False)

    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_session_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_session_token_hash'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)

    op.create_table('user_team',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_user_team_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_team_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'team_id', name=op.f('pk_user_team'))
    )
    with op.batch_alter_table('user_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_team_team_id'), ['team_id'], unique=False)

    op.create_table('compute_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('gpu_hours', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint('gpu_hours >= 0 AND amount >= 0', name=op.f('ck_compute_cost_non_negative')),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], name=op.f('fk_compute_cost_model_id_ml_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_cost')),
    sa.UniqueConstraint('model_id', 'month', name=op.f('uq_compute_cost_model_id_month'))
    )
    with op.batch_alter_table('compute_cost', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compute_cost_month'), ['month'], unique=False)

    op.create_table('initiative_pain_point',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('pain_point_id', sa.Integer(), nullable=False),
    sa.Column('expected_reduction', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.CheckConstraint('expected_reduction >= 0 AND expected_reduction <= 100', name=op.f('ck_initiative_pain_point_reduction_percent')),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], name=op.f('fk_initiative_pain_point_initiative_id_initiative'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pain_point_id'], ['pain_point.id'], name=op.f('fk_initiative_pain_point_pain_point_id_pain_point'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'pain_point_id', name=op.f('pk_initiative_pain_point'))
    )
    with op.batch_alter_table('initiative_pain_point', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiative_pain_point_pain_point_id'), ['pain_point_id'], unique=False)

    op.create_table('lifecycle_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('ideated', 'data_ready', 'experiment_started', 'validated', 'registered', 'deployed', 'rolled_back', 'retired', name='event_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=True),
    sa.Column('source', sa.Enum('manual', 'api', 'mlflow', 'csv', name='event_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], name=op.f('fk_lifecycle_event_model_id_ml_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lifecycle_event')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_lifecycle_event_source_external_id'))
    )
    with op.batch_alter_table('lifecycle_event', schema=None) as batch_op:
        batch_op.create_index('ix_lifecycle_event_model_type_occurred', ['model_id', 'type', 'occurred_at'], unique=False)
        batch_op.create_index('ix_lifecycle_event_type_occurred', ['type', 'occurred_at'], unique=False)

    op.create_table('maturity_answer',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('capability', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.Enum('no', 'partial', 'yes', name='maturity_answer_value', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['maturity_assessment.id'], name=op.f('fk_maturity_answer_assessment_id_maturity_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', 'capability', name=op.f('pk_maturity_answer'))
    )
    op.create_table('pain_point_confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pain_point_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('hours >= 0 AND hours <= 2000', name=op.f('ck_pain_point_confirmation_hours_range')),
    sa.ForeignKeyConstraint(['pain_point_id'], ['pain_point.id'], name=op.f('fk_pain_point_confirmation_pain_point_id_pain_point'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_pain_point_confirmation_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pain_point_confirmation')),
    sa.UniqueConstraint('pain_point_id', 'user_id', name=op.f('uq_pain_point_confirmation_pain_point_id_user_id'))
    )
    with op.batch_alter_table('pain_point_confirmation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pain_point_confirmation_user_id'), ['user_id'], unique=False)

    _seed_reference_data()


# Reference data every installation starts with (docs/product.md: seeded, editable). Table stubs,
# never ORM models: this migration must keep working whatever the models become.
PERSONAS = [
    ("data-scientist", "Data scientist", "110.00"),
    ("ml-engineer", "ML engineer", "120.00"),
    ("data-engineer", "Data engineer", "105.00"),
    ("bi-engineer", "BI/analytics engineer", "90.00"),
    ("platform-engineer", "DevOps/platform engineer", "115.00"),
    ("product-manager", "Product manager", "100.00"),
]
STAGES = [
    ("data-acquisition", "Data acquisition & exploration"),
    ("data-preparation", "Data preparation"),
    ("experimentation", "Experimentation & training"),
    ("evaluation", "Evaluation & validation"),
    ("packaging", "Packaging & versioning"),
    ("deployment", "Deployment"),
    ("serving", "Serving"),
    ("monitoring", "Monitoring & retraining"),
    ("governance", "Governance & compliance"),
]


def _seed_reference_data() -> None:
    persona = sa.table(
        "persona", sa.column("slug"), sa.column("name"), sa.column("hourly_cost", sa.Numeric(14, 2)),
        sa.column("position"),
    )
    stage = sa.table("lifecycle_stage", sa.column("slug"), sa.column("name"), sa.column("position"))
    org = sa.table(
        "org_settings", sa.column("id"), sa.column("name"), sa.column("currency"),
        sa.column("fiscal_year_start_month"), sa.column("working_weeks_per_year", sa.Numeric(4, 1)),
        sa.column("working_hours_per_week", sa.Numeric(4, 1)),
    )
    op.bulk_insert(persona, [
        {"slug": slug, "name": name, "hourly_cost": Decimal(cost), "position": i}
        for i, (slug, name, cost) in enumerate(PERSONAS, start=1)
    ])
    op.bulk_insert(stage, [
        {"slug": slug, "name": name, "position": i} for i, (slug, name) in enumerate(STAGES, start=1)
    ])
    op.bulk_insert(org, [{
        "id": 1, "name": "Northstar", "currency": "USD", "fiscal_year_start_month": 1,
        "working_weeks_per_year": Decimal("46"), "working_hours_per_week": Decimal("40"),
    }])



def downgrade() -> None:
    with op.batch_alter_table('pain_point_confirmation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pain_point_confirmation_user_id'))

    op.drop_table('pain_point_confirmation')
    op.drop_table('maturity_answer')
    with op.batch_alter_table('lifecycle_event', schema=None) as batch_op:
        batch_op.drop_index('ix_lifecycle_event_type_occurred')
        batch_op.drop_index('ix_lifecycle_event_model_type_occurred')

    op.drop_table('lifecycle_event')
    with op.batch_alter_table('initiative_pain_point', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiative_pain_point_pain_point_id'))

    op.drop_table('initiative_pain_point')
    with op.batch_alter_table('compute_cost', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compute_cost_month'))

    op.drop_table('compute_cost')
    with op.batch_alter_table('user_team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_team_team_id'))

    op.drop_table('user_team')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))

    op.drop_table('user_session')
    with op.batch_alter_table('team_persona', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_persona_persona_id'))

    op.drop_table('team_persona')
    with op.batch_alter_table('pain_point', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pain_point_team_id'))
        batch_op.drop_index(batch_op.f('ix_pain_point_status'))
        batch_op.drop_index(batch_op.f('ix_pain_point_stage_id'))
        batch_op.drop_index(batch_op.f('ix_pain_point_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_pain_point_persona_id'))
        batch_op.drop_index(batch_op.f('ix_pain_point_observed_since'))
        batch_op.drop_index(batch_op.f('ix_pain_point_deleted_at'))

    op.drop_table('pain_point')
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_model_team_id'))

    op.drop_table('ml_model')
    with op.batch_alter_table('maturity_assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_maturity_assessment_team_assessed_on')

    op.drop_table('maturity_assessment')
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiative_team_id'))

    op.drop_table('initiative')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_token_team_id'))

    op.drop_table('api_token')
    op.drop_table('team')
    op.drop_table('persona')
    op.drop_table('org_settings')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_ip_attempted_at')
        batch_op.drop_index('ix_login_attempt_email_attempted_at')

    op.drop_table('login_attempt')
    op.drop_table('lifecycle_stage')
    op.drop_table('app_user')

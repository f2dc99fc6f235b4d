"""Model value: the annual value as a three-point estimate (replacing business_value_per_month,
moved as low = likely = high = 12 × it), business KPIs and their monthly observations, quality
metrics and their observations, and the org's target lead time and staleness threshold.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-06 23:57:55.364672
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kpi',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('unit', sa.String(length=60), nullable=False),
    sa.Column('value_per_unit', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("key <> '' AND name <> ''", name=op.f('ck_kpi_not_empty')),
    sa.CheckConstraint('value_per_unit > 0', name=op.f('ck_kpi_value_per_unit_positive')),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], name=op.f('fk_kpi_model_id_ml_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi')),
    sa.UniqueConstraint('model_id', 'key', name=op.f('uq_kpi_model_id_key'))
    )
    with op.batch_alter_table('kpi', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_model_id'), ['model_id'], unique=False)

    op.create_table('quality_metric',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('higher_is_better', sa.Boolean(), nullable=False),
    sa.Column('tolerance', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.CheckConstraint("name <> ''", name=op.f('ck_quality_metric_name_not_empty')),
    sa.CheckConstraint('tolerance >= 0 AND tolerance <= 1', name=op.f('ck_quality_metric_tolerance_range')),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], name=op.f('fk_quality_metric_model_id_ml_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_metric')),
    sa.UniqueConstraint('model_id', 'name', name=op.f('uq_quality_metric_model_id_name'))
    )
    with op.batch_alter_table('quality_metric', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_metric_model_id'), ['model_id'], unique=False)

    op.create_table('kpi_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kpi_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('source', sa.Enum('manual', 'api', 'mlflow', 'csv', name='kpi_observation_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kpi_id'], ['kpi.id'], name=op.f('fk_kpi_observation_kpi_id_kpi'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], name=op.f('fk_kpi_observation_model_id_ml_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_observation')),
    sa.UniqueConstraint('kpi_id', 'month', name=op.f('uq_kpi_observation_kpi_id_month')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_kpi_observation_source_external_id'))
    )
    with op.batch_alter_table('kpi_observation', schema=None) as batch_op:
        batch_op.create_index('ix_kpi_observation_model_month', ['model_id', 'month'], unique=False)
        batch_op.create_index('ix_kpi_observation_month', ['month'], unique=False)

    op.create_table('quality_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metric_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=True),
    sa.Column('source', sa.Enum('manual', 'api', 'mlflow', 'csv', name='quality_observation_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metric_id'], ['quality_metric.id'], name=op.f('fk_quality_observation_metric_id_quality_metric'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], name=op.f('fk_quality_observation_model_id_ml_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_observation')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_quality_observation_source_external_id'))
    )
    with op.batch_alter_table('quality_observation', schema=None) as batch_op:
        batch_op.create_index('ix_quality_observation_metric_observed', ['metric_id', 'observed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_observation_model_id'), ['model_id'], unique=False)

    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.add_column(sa.Column('annual_value_low', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('annual_value_likely', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('annual_value_high', sa.Numeric(precision=14, scale=2), nullable=True))
    # A monthly estimate becomes a yearly one with no spread: the old figure carried none.
    ml_model = sa.table('ml_model', sa.column('business_value_per_month', sa.Numeric(14, 2)),
                        sa.column('annual_value_low', sa.Numeric(14, 2)),
                        sa.column('annual_value_likely', sa.Numeric(14, 2)),
                        sa.column('annual_value_high', sa.Numeric(14, 2)))
    yearly = ml_model.c.business_value_per_month * 12
    op.execute(ml_model.update().where(ml_model.c.business_value_per_month.is_not(None))
               .values(annual_value_low=yearly, annual_value_likely=yearly,
                       annual_value_high=yearly))
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ml_model_value_non_negative'), type_='check')
        batch_op.drop_column('business_value_per_month')
        batch_op.create_check_constraint(
            'annual_value_ordered',
            "(annual_value_low IS NULL AND annual_value_likely IS NULL "
            "AND annual_value_high IS NULL) OR (annual_value_low >= 0 "
            "AND annual_value_low <= annual_value_likely "
            "AND annual_value_likely <= annual_value_high)")

    with op.batch_alter_table('org_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_lead_time_days', sa.Integer(), nullable=False,
                                      server_default='30'))
        batch_op.add_column(sa.Column('staleness_days', sa.Integer(), nullable=False,
                                      server_default='180'))
        batch_op.create_check_constraint(
            'target_lead_time', 'target_lead_time_days >= 0 AND target_lead_time_days <= 3650')
        batch_op.create_check_constraint('staleness', 'staleness_days >= 1 AND staleness_days <= 3650')
    # The defaults filled the one row; the model supplies them from now on.
    with op.batch_alter_table('org_settings', schema=None) as batch_op:
        batch_op.alter_column('target_lead_time_days', server_default=None)
        batch_op.alter_column('staleness_days', server_default=None)



def downgrade() -> None:
    with op.batch_alter_table('org_settings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_org_settings_staleness'), type_='check')
        batch_op.drop_constraint(op.f('ck_org_settings_target_lead_time'), type_='check')
        batch_op.drop_column('staleness_days')
        batch_op.drop_column('target_lead_time_days')

    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ml_model_annual_value_ordered'), type_='check')
        batch_op.add_column(sa.Column('business_value_per_month', sa.Numeric(precision=14, scale=2), nullable=True))
    # Back to one monthly figure: the PERT mean of the estimate, ÷ 12 (the spread is lost).
    ml_model = sa.table('ml_model', sa.column('business_value_per_month', sa.Numeric(14, 2)),
                        sa.column('annual_value_low', sa.Numeric(14, 2)),
                        sa.column('annual_value_likely', sa.Numeric(14, 2)),
                        sa.column('annual_value_high', sa.Numeric(14, 2)))
    pert = (ml_model.c.annual_value_low + ml_model.c.annual_value_likely * 4
            + ml_model.c.annual_value_high) / 72
    op.execute(ml_model.update().where(ml_model.c.annual_value_likely.is_not(None))
               .values(business_value_per_month=sa.func.round(pert, 2)))
    with op.batch_alter_table('ml_model', schema=None) as batch_op:
        batch_op.drop_column('annual_value_high')
        batch_op.drop_column('annual_value_likely')
        batch_op.drop_column('annual_value_low')
        batch_op.create_check_constraint(
            'value_non_negative', 'business_value_per_month IS NULL OR business_value_per_month >= 0')

    with op.batch_alter_table('quality_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_observation_model_id'))
        batch_op.drop_index('ix_quality_observation_metric_observed')

    op.drop_table('quality_observation')
    with op.batch_alter_table('kpi_observation', schema=None) as batch_op:
        batch_op.drop_index('ix_kpi_observation_month')
        batch_op.drop_index('ix_kpi_observation_model_month')

    op.drop_table('kpi_observation')
    with op.batch_alter_table('quality_metric', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_metric_model_id'))

    op.drop_table('quality_metric')
    with op.batch_alter_table('kpi', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kpi_model_id'))

    op.drop_table('kpi')

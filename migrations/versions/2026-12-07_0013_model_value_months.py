"""Each model's value and compute cost per calendar month, up to a horizon (derived from
lifecycle_event through production_period, kpi_observation, kpi, compute_cost and ml_model,
kept in step by app/value/monthly.py). Created empty: `northstar migrate` rebuilds every
derived table after the migrations (app/ops/migrate.py, `rebuild_derived`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('model_value_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('horizon', sa.Date(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_model_value_state_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_value_state'))
    )
    op.create_table('model_value_month',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('low', sa.Numeric(), nullable=False),
    sa.Column('value', sa.Numeric(), nullable=False),
    sa.Column('high', sa.Numeric(), nullable=False),
    sa.Column('measured', sa.Numeric(), nullable=False),
    sa.Column('estimated', sa.Numeric(), nullable=False),
    sa.Column('compute', sa.Numeric(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'],
                            name=op.f('fk_model_value_month_model_id_ml_model'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'month', name=op.f('pk_model_value_month'))
    )
    with op.batch_alter_table('model_value_month', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_value_month_month'), ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('model_value_month', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_value_month_month'))
    op.drop_table('model_value_month')
    op.drop_table('model_value_state')

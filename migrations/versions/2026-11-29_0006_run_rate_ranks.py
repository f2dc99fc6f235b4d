"""Each live recurring pain point's run-rate, indexed by size (derived from pain_point, kept in
step by app/pain_points/summary.py). Empty after the upgrade: `northstar migrate` builds it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 13:18:59.110316
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pain_point_run_rate',
    sa.Column('pain_point_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('persona_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('observed_since', sa.Date(), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('run_rate', sa.Numeric(), nullable=False),
    sa.ForeignKeyConstraint(['pain_point_id'], ['pain_point.id'], name=op.f('fk_pain_point_run_rate_pain_point_id_pain_point'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pain_point_id', name=op.f('pk_pain_point_run_rate'))
    )
    with op.batch_alter_table('pain_point_run_rate', schema=None) as batch_op:
        batch_op.create_index('ix_pain_point_run_rate_order', ['run_rate', 'pain_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_run_rate_team_id'), ['team_id'], unique=False)
    # The summary's state promises rows for every pain point: until `northstar migrate` (or
    # the first write) rebuilds them with this table, every read is live.
    op.execute("DELETE FROM pain_point_cost_summary")

def downgrade() -> None:
    with op.batch_alter_table('pain_point_run_rate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pain_point_run_rate_team_id'))
        batch_op.drop_index('ix_pain_point_run_rate_order')

    op.drop_table('pain_point_run_rate')

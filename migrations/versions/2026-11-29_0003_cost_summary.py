"""Quarter totals of pain-point cost (derived data, kept in step by app/pain_points/summary.py).

Empty after the upgrade: `northstar migrate` builds them; until then every read is live.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:53:08.547954
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pain_point_cost_summary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year_start_month', sa.Integer(), nullable=False),
    sa.Column('working_weeks_per_year', sa.Numeric(precision=4, scale=1), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('anchor', sa.Date(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_pain_point_cost_summary_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pain_point_cost_summary'))
    )
    op.create_table('pain_point_cost_quarter',
    sa.Column('quarter_first', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('persona_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('quarter_last', sa.Date(), nullable=False),
    sa.Column('cost', sa.Numeric(), nullable=False),
    sa.Column('cost_low', sa.Numeric(), nullable=False),
    sa.Column('cost_high', sa.Numeric(), nullable=False),
    sa.Column('cost_resolved', sa.Numeric(), nullable=False),
    sa.Column('run_rate', sa.Numeric(), nullable=False),
    sa.Column('run_rate_low', sa.Numeric(), nullable=False),
    sa.Column('run_rate_high', sa.Numeric(), nullable=False),
    sa.Column('hours_per_week', sa.Numeric(), nullable=False),
    sa.Column('pain_points', sa.Integer(), nullable=False),
    sa.Column('active_pain_points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['persona_id'], ['persona.id'], name=op.f('fk_pain_point_cost_quarter_persona_id_persona'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['lifecycle_stage.id'], name=op.f('fk_pain_point_cost_quarter_stage_id_lifecycle_stage'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_pain_point_cost_quarter_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('quarter_first', 'team_id', 'persona_id', 'stage_id', name=op.f('pk_pain_point_cost_quarter'))
    )
    with op.batch_alter_table('pain_point_cost_quarter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pain_point_cost_quarter_persona_id'), ['persona_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_point_cost_quarter_team_id'), ['team_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pain_point_cost_quarter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pain_point_cost_quarter_team_id'))
        batch_op.drop_index(batch_op.f('ix_pain_point_cost_quarter_persona_id'))

    op.drop_table('pain_point_cost_quarter')
    op.drop_table('pain_point_cost_summary')

"""Each initiative's expected savings per team of its links and the rate of the links that
realize savings (derived from initiative, initiative_pain_point and pain_point, kept in step
by app/initiatives/savings.py). Empty after the upgrade: `northstar migrate` builds them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('initiative_saving_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('working_weeks_per_year', sa.Numeric(precision=4, scale=1), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_initiative_saving_state_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_initiative_saving_state'))
    )
    op.create_table('initiative_saving',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('expected', sa.Numeric(), nullable=False),
    sa.Column('expected_low', sa.Numeric(), nullable=False),
    sa.Column('expected_high', sa.Numeric(), nullable=False),
    sa.Column('linked', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], name=op.f('fk_initiative_saving_initiative_id_initiative'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'team_id', name=op.f('pk_initiative_saving'))
    )
    with op.batch_alter_table('initiative_saving', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiative_saving_team_id'), ['team_id'], unique=False)
    op.create_table('initiative_realizing',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=False),
    sa.Column('rate', sa.Numeric(), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiative.id'], name=op.f('fk_initiative_realizing_initiative_id_initiative'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'team_id', 'resolved_on', name=op.f('pk_initiative_realizing'))
    )


def downgrade() -> None:
    op.drop_table('initiative_realizing')
    with op.batch_alter_table('initiative_saving', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiative_saving_team_id'))
    op.drop_table('initiative_saving')
    op.drop_table('initiative_saving_state')

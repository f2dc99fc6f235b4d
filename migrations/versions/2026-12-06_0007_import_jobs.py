"""Imports run in the background: one row per job with its progress and outcome, so that any
replica answers the page that polls it; and an index on each pain point's (team, persona, stage)
for the derived tables' refresh of one scope.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 00:15:14.987939
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.orm

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('pain_points', 'events', name='import_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('running', 'done', 'failed', name='import_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', app.core.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.core.orm.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_import_job_actor_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_job_actor_id'), ['actor_id'], unique=False)
    # The derived tables' refresh of one (team, persona, stage) scope (app/pain_points/summary.py).
    with op.batch_alter_table('pain_point', schema=None) as batch_op:
        batch_op.create_index('ix_pain_point_scope', ['team_id', 'persona_id', 'stage_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pain_point', schema=None) as batch_op:
        batch_op.drop_index('ix_pain_point_scope')
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_actor_id'))
    op.drop_table('import_job')

"""Each model's first occurrence of every milestone (derived from lifecycle_event, kept in step by
app/velocity/milestones.py), filled from the events already stored.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:01:00.742652
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MILESTONES = ("ideated", "data_ready", "experiment_started", "validated", "registered",
              "deployed")
COLUMNS = ["model_id", *MILESTONES, "earliest"]


def upgrade() -> None:
    op.create_table('model_milestone',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('ideated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data_ready', sa.DateTime(timezone=True), nullable=True),
    sa.Column('experiment_started', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deployed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('earliest', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'], name=op.f('fk_model_milestone_model_id_ml_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', name=op.f('pk_model_milestone'))
    )
    with op.batch_alter_table('model_milestone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_milestone_deployed'), ['deployed'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_milestone_ideated'), ['ideated'], unique=False)

    # Table stubs, not the ORM models: this migration must keep working whatever they become.
    event = sa.table("lifecycle_event", sa.column("model_id"), sa.column("type"),
                     sa.column("occurred_at"))
    milestone = sa.table("model_milestone", *(sa.column(name) for name in COLUMNS))
    op.execute(milestone.insert().from_select(COLUMNS, sa.select(
        event.c.model_id,
        *[sa.func.min(sa.case((event.c.type == name, event.c.occurred_at)))
          for name in MILESTONES],
        sa.func.min(event.c.occurred_at),
    ).group_by(event.c.model_id)))



def downgrade() -> None:
    with op.batch_alter_table('model_milestone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_milestone_ideated'))
        batch_op.drop_index(batch_op.f('ix_model_milestone_deployed'))

    op.drop_table('model_milestone')

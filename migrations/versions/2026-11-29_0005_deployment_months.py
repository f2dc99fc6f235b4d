"""Deployments and rollbacks per team and calendar month (derived from lifecycle_event, kept in
step by app/velocity/milestones.py), filled from the events already stored.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 13:11:55.179715
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deployment_month',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('deployments', sa.Integer(), nullable=False),
    sa.Column('rollbacks', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_deployment_month_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'month', name=op.f('pk_deployment_month'))
    )
    with op.batch_alter_table('deployment_month', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_month_month'), ['month'], unique=False)

    # The month index as app.core.sql.month_index computes it (UTC), per dialect.
    if op.get_bind().dialect.name == "postgresql":
        utc = "(e.occurred_at AT TIME ZONE 'UTC')"
        month = f"CAST(EXTRACT(YEAR FROM {utc}) * 12 + EXTRACT(MONTH FROM {utc}) - 1 AS INTEGER)"
    else:
        month = ("(CAST(strftime('%Y', e.occurred_at) AS INTEGER) * 12 "
                 "+ CAST(strftime('%m', e.occurred_at) AS INTEGER) - 1)")
    op.execute(
        "INSERT INTO deployment_month (team_id, month, deployments, rollbacks) "
        f"SELECT m.team_id, {month}, count(CASE WHEN e.type = 'deployed' THEN 1 END), "
        "count(CASE WHEN e.type = 'rolled_back' THEN 1 END) "
        "FROM lifecycle_event e JOIN ml_model m ON m.id = e.model_id "
        "WHERE e.type IN ('deployed', 'rolled_back') GROUP BY 1, 2")



def downgrade() -> None:
    with op.batch_alter_table('deployment_month', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_month_month'))

    op.drop_table('deployment_month')

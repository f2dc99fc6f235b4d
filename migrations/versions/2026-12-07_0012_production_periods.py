"""Each model's stretches in production (derived from lifecycle_event, kept in step by
app/value/production.py). Created empty: `northstar migrate` rebuilds every derived table
after the migrations (app/migrate.py, `rebuild_derived`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('production_period',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('start_day', sa.Integer(), nullable=False),
    sa.Column('end_day', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['ml_model.id'],
                            name=op.f('fk_production_period_model_id_ml_model'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'start_day', name=op.f('pk_production_period'))
    )


def downgrade() -> None:
    op.drop_table('production_period')

"""A version column (optimistic locking) on initiatives, models, teams, personas and the org
settings, as pain points have had from the start. Existing rows start at version 1.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("initiative", "ml_model", "team", "persona", "org_settings")


def upgrade() -> None:
    for table in TABLES:
        # The server default fills the rows already there; the app sets the version itself
        # (SQLAlchemy's version_id_col), so the default goes again, as in the models.
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                       server_default=sa.text('1')))
        with op.batch_alter_table(table) as batch:
            batch.alter_column('version', server_default=None)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('version')

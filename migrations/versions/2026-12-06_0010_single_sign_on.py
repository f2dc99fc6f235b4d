"""Single sign-on: users linked to an identity provider by (issuer, sub), break-glass admins,
SSO sessions, group-to-role/teams mappings and pending sign-ins.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-06 23:59:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get false; the default is then dropped, as the models set it in Python.
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_issuer', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('oidc_subject', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('break_glass', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_oidc_issuer_oidc_subject'),
                                          ['oidc_issuer', 'oidc_subject'])
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.alter_column('break_glass', server_default=None)

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via_sso', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.alter_column('via_sso', server_default=None)

    op.create_table('sso_group_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_name', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('admin', 'pm', 'leader', 'viewer', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_group_mapping')),
    sa.UniqueConstraint('group_name', name=op.f('uq_sso_group_mapping_group_name'))
    )
    op.create_table('sso_group_mapping_team',
    sa.Column('mapping_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['mapping_id'], ['sso_group_mapping.id'], name=op.f('fk_sso_group_mapping_team_mapping_id_sso_group_mapping'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_sso_group_mapping_team_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mapping_id', 'team_id', name=op.f('pk_sso_group_mapping_team'))
    )
    with op.batch_alter_table('sso_group_mapping_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_group_mapping_team_team_id'), ['team_id'], unique=False)

    op.create_table('sso_login',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=128), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next_path', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_login')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_sso_login_state_hash'))
    )
    with op.batch_alter_table('sso_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_login_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sso_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_login_created_at'))
    op.drop_table('sso_login')
    with op.batch_alter_table('sso_group_mapping_team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_group_mapping_team_team_id'))
    op.drop_table('sso_group_mapping_team')
    op.drop_table('sso_group_mapping')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('via_sso')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_user_oidc_issuer_oidc_subject'), type_='unique')
        batch_op.drop_column('break_glass')
        batch_op.drop_column('oidc_subject')
        batch_op.drop_column('oidc_issuer')

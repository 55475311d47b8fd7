"""security: two-factor sign-in (TOTP and recovery codes); the network setting that requires it
for network admins, coordinators and treasurers (issue 15)

Revision ID: c6d7e8f9a0b1
Revises: b18a2c3d4e5f
Create Date: 2026-12-06 18:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6d7e8f9a0b1'
down_revision = 'b18a2c3d4e5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'two_factors',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_step', sa.BigInteger(), nullable=False),
        sa.Column('recovery_code_hashes', sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_factors_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_two_factors')),
    )
    op.add_column('network_settings', sa.Column('staff_need_two_factor', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.drop_column('network_settings', 'staff_need_two_factor')
    op.drop_table('two_factors')

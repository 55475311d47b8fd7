"""notices: per-person choice per kind of notice, notices waiting for the daily digest; a
group's country (regional formats, likely time zones); public ads

``notice_preferences``: (user, kind) -> delivery (immediate, digest, off); no row means
immediate. ``digest_notices``: a notice already worded in the reader's language, waiting for
the daily digest job, which sends and deletes it. Both are network-wide (a person's choice
holds in all their groups). ``groups.country``: ISO 3166-1 alpha-2, or null;
``groups.ads_public``: visitors see the group's offers and wants on its home page (issue 17).

Revision ID: 4d5e6f7a8b9c
Revises: 3c4d5e6f7a8b
Create Date: 2026-12-06 18:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4d5e6f7a8b9c'
down_revision = '3c4d5e6f7a8b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notice_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('delivery', sa.String(length=16), nullable=False),
        sa.CheckConstraint("delivery IN ('immediate', 'digest', 'off')",
                           name=op.f('ck_notice_preferences_delivery_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_notice_preferences_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notice_preferences')),
    )
    op.create_table(
        'digest_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('group_name', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('link', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_digest_notices_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_notices')),
    )
    op.create_index(op.f('ix_digest_notices_user_id'), 'digest_notices', ['user_id'],
                    unique=False)
    op.add_column('groups', sa.Column('country', sa.String(length=2), nullable=True))
    op.add_column('groups', sa.Column('ads_public', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    op.drop_column('groups', 'ads_public')
    op.drop_column('groups', 'country')
    op.drop_index(op.f('ix_digest_notices_user_id'), table_name='digest_notices')
    op.drop_table('digest_notices')
    op.drop_table('notice_preferences')

"""marketplace: possible trades are stored (``ad_matches``)

The dashboard ran the fuzzy matching queries on every view (39 % of its CPU). The pairs of a
want and an offer are now computed when an ad is posted, edited, paused, renewed or expires
(and by the hourly marketplace job) and read with one indexed query. The table starts empty;
the first run of the hourly job fills it for every group.

Revision ID: f4a1b2c3d4e5
Revises: e1d9f0a2b3c4
Create Date: 2026-12-06 19:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f4a1b2c3d4e5'
down_revision = 'e1d9f0a2b3c4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ad_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('want_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('want_author_id', sa.Integer(), nullable=False),
    sa.Column('offer_author_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('want_author_id <> offer_author_id', name=op.f('ck_ad_matches_not_self')),
    sa.ForeignKeyConstraint(['group_id', 'want_id'], ['ads.group_id', 'ads.id'], name=op.f('fk_ad_matches_group_id_want_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'offer_id'], ['ads.group_id', 'ads.id'], name=op.f('fk_ad_matches_group_id_offer_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'want_author_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_ad_matches_group_id_want_author_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'offer_author_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_ad_matches_group_id_offer_author_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_ad_matches_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ad_matches')),
    sa.UniqueConstraint('group_id', 'want_id', 'offer_id', name=op.f('uq_ad_matches_group_id_want_id_offer_id'))
    )
    op.create_index(op.f('ix_ad_matches_group_id'), 'ad_matches', ['group_id'], unique=False)
    op.create_index('ix_ad_matches_group_id_offer_id', 'ad_matches', ['group_id', 'offer_id'], unique=False)
    op.create_index('ix_ad_matches_group_id_want_author_id', 'ad_matches', ['group_id', 'want_author_id'], unique=False)
    op.create_index('ix_ad_matches_group_id_offer_author_id', 'ad_matches', ['group_id', 'offer_author_id'], unique=False)


def downgrade():
    op.drop_table('ad_matches')

"""network marketplace: ads published to the network, messages between groups, digest opt-in

* ``ads.network_published`` (with a partial index): the member published the ad to the network
  marketplace on the apex (shown while the group trades with the network);
* ``users.digest_includes_network``: the digest also lists matches from other groups;
* ``network_conversations`` / ``network_messages``: network-level threads between members of
  two groups (see timebank/models/network_marketplace.py).

Revision ID: c27a1d5e9b3f
Revises: c6d7e8f9a0b1
Create Date: 2026-12-06 19:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c27a1d5e9b3f'
down_revision = 'c6d7e8f9a0b1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('ads', sa.Column('network_published', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
    op.create_index('ix_ads_network_published', 'ads', ['group_id', 'created_at'],
                    postgresql_where=sa.text('network_published'))
    op.add_column('users', sa.Column('digest_includes_network', sa.Boolean(),
                                     server_default=sa.false(), nullable=False))
    op.create_table(
        'network_conversations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('low_group_id', sa.Integer(), nullable=False),
        sa.Column('low_id', sa.Integer(), nullable=False),
        sa.Column('high_group_id', sa.Integer(), nullable=False),
        sa.Column('high_id', sa.Integer(), nullable=False),
        sa.Column('ad_group_id', sa.Integer(), nullable=True),
        sa.Column('ad_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('low_id < high_id', name=op.f('ck_network_conversations_ordered_pair')),
        sa.CheckConstraint('low_group_id <> high_group_id',
                           name=op.f('ck_network_conversations_two_groups')),
        sa.CheckConstraint('(ad_id IS NULL) = (ad_group_id IS NULL)',
                           name=op.f('ck_network_conversations_ad_complete')),
        sa.ForeignKeyConstraint(
            ['low_group_id', 'low_id'], ['memberships.group_id', 'memberships.id'],
            name=op.f('fk_network_conversations_low_group_id_low_id_memberships'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['high_group_id', 'high_id'], ['memberships.group_id', 'memberships.id'],
            name=op.f('fk_network_conversations_high_group_id_high_id_memberships'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['ad_group_id', 'ad_id'], ['ads.group_id', 'ads.id'],
            name=op.f('fk_network_conversations_ad_group_id_ad_id_ads'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_conversations')),
        sa.UniqueConstraint('low_id', 'high_id',
                            name=op.f('uq_network_conversations_low_id_high_id')),
    )
    op.create_index('ix_network_conversations_high_id', 'network_conversations', ['high_id'])
    op.create_table(
        'network_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('sender_id', sa.Integer(), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('sender_id <> recipient_id',
                           name=op.f('ck_network_messages_distinct_parties')),
        sa.CheckConstraint('char_length(body) BETWEEN 1 AND 5000',
                           name=op.f('ck_network_messages_body_length')),
        sa.ForeignKeyConstraint(
            ['conversation_id'], ['network_conversations.id'],
            name=op.f('fk_network_messages_conversation_id_network_conversations'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sender_id'], ['memberships.id'],
                                name=op.f('fk_network_messages_sender_id_memberships'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recipient_id'], ['memberships.id'],
                                name=op.f('fk_network_messages_recipient_id_memberships'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_messages')),
    )
    op.create_index('ix_network_messages_conversation_id_id', 'network_messages',
                    ['conversation_id', 'id'])
    op.create_index('ix_network_messages_recipient_id_unread', 'network_messages',
                    ['recipient_id'], postgresql_where=sa.text('read_at IS NULL'))


def downgrade():
    op.drop_table('network_messages')
    op.drop_table('network_conversations')
    op.drop_column('users', 'digest_includes_network')
    op.drop_index('ix_ads_network_published', table_name='ads')
    op.drop_column('ads', 'network_published')

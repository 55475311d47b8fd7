"""api: tokens for the apex (bound to a person, not a membership), the group actor's key pair,
the group's fediverse followers (issue 19)

``apex_tokens``: network-wide like ``users``; a network admin uses the apex's API without a
membership. ``federation_settings`` gains the RSA key pair (PEM) that signs what the group
sends; ``federation_followers`` holds the actors whose ``Follow`` was verified and accepted.

Revision ID: cd5e6f7a8b9c
Revises: bc4d5e6f7a8b
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'cd5e6f7a8b9c'
down_revision = 'bc4d5e6f7a8b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'apex_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('scopes', postgresql.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scopes <@ ARRAY['read', 'write']::varchar[] AND cardinality(scopes) > 0",
                           name=op.f('ck_apex_tokens_scopes_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_apex_tokens_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_apex_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_apex_tokens_token_hash')),
    )
    op.create_index(op.f('ix_apex_tokens_user_id'), 'apex_tokens', ['user_id'])
    op.add_column('federation_settings', sa.Column('public_key_pem', sa.Text(), nullable=True))
    op.add_column('federation_settings', sa.Column('private_key_pem', sa.Text(), nullable=True))
    op.create_table(
        'federation_followers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_url', sa.String(length=500), nullable=False),
        sa.Column('inbox_url', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'],
                                name=op.f('fk_federation_followers_group_id_groups'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_followers')),
        sa.UniqueConstraint('group_id', 'actor_url',
                            name=op.f('uq_federation_followers_group_id_actor_url')),
    )
    op.create_index(op.f('ix_federation_followers_group_id'), 'federation_followers',
                    ['group_id'])


def downgrade():
    op.drop_table('federation_followers')
    op.drop_column('federation_settings', 'private_key_pem')
    op.drop_column('federation_settings', 'public_key_pem')
    op.drop_table('apex_tokens')

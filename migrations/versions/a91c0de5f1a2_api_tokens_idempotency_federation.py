"""api: personal access tokens, remembered answers to idempotent writes, a group's choice to
publish its offers over ActivityPub (issue 19)

``access_tokens``: bound to one membership (tenant key), SHA-256 of the secret only, scopes
read/write, expiry, revocation. ``api_idempotency``: (group, membership, key) -> the request's
hash and the first answer. ``federation_settings``: one row per group that chose to publish.

Revision ID: a91c0de5f1a2
Revises: 5e6f7a8b9c0d
Create Date: 2026-12-07 10:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'a91c0de5f1a2'
down_revision = '5e6f7a8b9c0d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'access_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('scopes', postgresql.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("scopes <@ ARRAY['read', 'write']::varchar[] AND cardinality(scopes) > 0",
                           name=op.f('ck_access_tokens_scopes_known')),
        sa.ForeignKeyConstraint(['group_id', 'membership_id'],
                                ['memberships.group_id', 'memberships.id'],
                                name=op.f('fk_access_tokens_group_id_membership_id_memberships'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'],
                                name=op.f('fk_access_tokens_group_id_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_access_tokens_token_hash')),
    )
    op.create_index(op.f('ix_access_tokens_group_id'), 'access_tokens', ['group_id'])
    op.create_index(op.f('ix_access_tokens_membership_id'), 'access_tokens', ['membership_id'])
    op.create_table(
        'api_idempotency',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.SmallInteger(), nullable=True),
        sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('location', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id', 'membership_id'],
                                ['memberships.group_id', 'memberships.id'],
                                name=op.f('fk_api_idempotency_group_id_membership_id_memberships'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'],
                                name=op.f('fk_api_idempotency_group_id_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency')),
        sa.UniqueConstraint('group_id', 'membership_id', 'key',
                            name=op.f('uq_api_idempotency_group_id_membership_id_key')),
    )
    op.create_index(op.f('ix_api_idempotency_group_id'), 'api_idempotency', ['group_id'])
    op.create_table(
        'federation_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('publishes_offers', sa.Boolean(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'],
                                name=op.f('fk_federation_settings_group_id_groups'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_settings')),
        sa.UniqueConstraint('group_id', name=op.f('uq_federation_settings_group_id')),
    )
    op.create_index(op.f('ix_federation_settings_group_id'), 'federation_settings', ['group_id'])


def downgrade():
    op.drop_table('federation_settings')
    op.drop_table('api_idempotency')
    op.drop_table('access_tokens')

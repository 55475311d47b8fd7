"""audit trail paged by key on (group_id, id); the console's group sorts on indexes

The trail was paged with OFFSET over (created_at, id): a deep page read and dropped every
event above it. It is now paged by event id, newest first (``timebank.paging``), on an index
(group_id, id); the index on (group_id, created_at) served only that order (the date filter
compares local calendar days, which no index on created_at answers), so it goes.

The network console sorts groups by name, status or creation (its default) with the id as
tie-breaker: each gets an index on (column, id), so a page is a scan of 50 index entries
instead of a sort of every group (figures already had theirs, migration f4b2c3d4e5f6).

Revision ID: bc4d5e6f7a8b
Revises: 7a1b2c3d4e5f
Create Date: 2026-12-06 21:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'bc4d5e6f7a8b'
down_revision = '7a1b2c3d4e5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_group_id_id', 'audit_events', ['group_id', 'id'])
    op.drop_index('ix_audit_events_group_id_created_at', table_name='audit_events')
    op.create_index('ix_groups_lower_name_id', 'groups', [sa.text('lower(name)'), 'id'])
    op.create_index('ix_groups_status_id', 'groups', ['status', 'id'])
    op.create_index('ix_groups_created_at_id', 'groups', ['created_at', 'id'])


def downgrade():
    op.drop_index('ix_groups_created_at_id', table_name='groups')
    op.drop_index('ix_groups_status_id', table_name='groups')
    op.drop_index('ix_groups_lower_name_id', table_name='groups')
    op.create_index('ix_audit_events_group_id_created_at', 'audit_events',
                    ['group_id', 'created_at'])
    op.drop_index('ix_audit_events_group_id_id', table_name='audit_events')

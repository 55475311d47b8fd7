"""audit trail: paged by key on (group_id, id)

The trail was paged with OFFSET over (created_at, id): a deep page read and dropped every
event above it. It is now paged by event id, newest first (``timebank.paging``), on an index
(group_id, id); the index on (group_id, created_at) served only that order (the date filter
compares local calendar days, which no index on created_at answers), so it goes.

Revision ID: bc4d5e6f7a8b
Revises: f4b2c3d4e5f6
Create Date: 2026-12-06 21:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'bc4d5e6f7a8b'
down_revision = 'f4b2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_group_id_id', 'audit_events', ['group_id', 'id'])
    op.drop_index('ix_audit_events_group_id_created_at', table_name='audit_events')


def downgrade():
    op.create_index('ix_audit_events_group_id_created_at', 'audit_events',
                    ['group_id', 'created_at'])
    op.drop_index('ix_audit_events_group_id_id', table_name='audit_events')

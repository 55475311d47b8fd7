"""the audit trail's "Who" menu reads an index: ``ix_audit_events_group_id_actor_id``

The trail is paged by key, but its "Who" menu (the members who appear in it) read every event
of the group on each view, and so did its filter by person: a coordinator's every on-behalf
payment, reversal or bulk entry is an event (issue 14, session 14). Now one index probe per
member.

Revision ID: b1c2d3e4f5a6
Revises: a0b1c2d3e4f5
Create Date: 2026-12-07 21:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b1c2d3e4f5a6'
down_revision = 'a0b1c2d3e4f5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_group_id_actor_id', 'audit_events',
                    ['group_id', 'actor_id'])


def downgrade():
    op.drop_index('ix_audit_events_group_id_actor_id', table_name='audit_events')

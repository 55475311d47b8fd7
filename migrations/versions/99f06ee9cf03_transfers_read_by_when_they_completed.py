"""transfers read by when they completed: ``ix_transfers_group_id_completed_at``

The coordinator's dashboard ("exchanged this month / last month"), the activity report and a
currency's issuance page select transfers by ``completed_at``. With no index on it, each view
read the group's whole history: 64 ms of the dashboard's 70 ms of statements for a group with
233,000 transfers, 205,000 rows read to count 28,000 (bench/RESULTS.md, issue 14, session 14).

Revision ID: 99f06ee9cf03
Revises: 9db948986fbb
Create Date: 2026-12-07 21:33:04.117402

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '99f06ee9cf03'
down_revision = '9db948986fbb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_transfers_group_id_completed_at', 'transfers',
                    ['group_id', 'completed_at'])


def downgrade():
    op.drop_index('ix_transfers_group_id_completed_at', table_name='transfers')

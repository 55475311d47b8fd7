"""a member's average rating reads only rated transfers (partial index)

The dashboard and the member's profile show the average rating of the work a member was paid
for. Without this index PostgreSQL read every transfer the member was ever paid by to find
the few that carry a rating: 15.6 ms for an account with 100,000 incoming transfers against
0.7 ms for a small one (bench/RESULTS.md, issue 14). The partial index holds only rated
transfers, so the average costs what the member's ratings cost, however long the history.

Revision ID: de6f7a8b9c0d
Revises: ab3c4d5e6f7a
Create Date: 2026-12-07 00:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'de6f7a8b9c0d'
down_revision = 'ab3c4d5e6f7a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_transfers_rated_payee', 'transfers', ['payee_account_id'],
                    postgresql_where=sa.text('rating IS NOT NULL'))


def downgrade():
    op.drop_index('ix_transfers_rated_payee', table_name='transfers')

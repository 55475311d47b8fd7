"""an issued currency's issuances, indexed: ``ix_transfers_issuance``

The public issuance page (``/currencies/<code>/issuance``, open to visitors) sums a currency's
completed issuances and lists the latest 200; both read every transfer of the currency, as
there was no index on the kind. Issuances are few among the currency's transfers: a partial
index holds them alone, and payments never write to it (issue 14, session 14).

Revision ID: a0b1c2d3e4f5
Revises: 99f06ee9cf03
Create Date: 2026-12-07 21:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a0b1c2d3e4f5'
down_revision = '99f06ee9cf03'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_transfers_issuance', 'transfers', ['group_id', 'currency_id', 'completed_at'],
                    postgresql_where=sa.text("kind = 'issuance' AND state = 'completed'"))


def downgrade():
    op.drop_index('ix_transfers_issuance', table_name='transfers')

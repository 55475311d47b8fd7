"""levies on transfers: a per-currency levy paid to the community pot with each transfer

* ``currencies.levy_basis_points`` / ``levy_fixed`` / ``levy_minimum`` / ``levy_maximum`` /
  ``levy_charged_to`` (check ``levy_valid``);
* ``transfer_kind`` gains ``levy``; ``transfers.levied_on_id`` links a levy to the transfer it
  was charged on (key within the group, check ``levy_links_transfer``, partial index);
* the ledger functions that compute, check, write and reverse levies
  (timebank/ledger/sql/ledger_levy*.sql, ledger_post_levies.sql) and the ones that call them
  (ledger_transfer, ledger_accept, ledger_bulk, ledger_reverse; ledger_write_legs writes no
  notice for a levy).

Revision ID: 8b2c3d4e5f6a
Revises: cd5e6f7a8b9c
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op

from timebank.ledger.sql import function

# revision identifiers, used by Alembic.
revision = '8b2c3d4e5f6a'
down_revision = 'cd5e6f7a8b9c'
branch_labels = None
depends_on = None

NEW_FUNCTIONS = ("ledger_levy", "ledger_levies", "ledger_levy_refusal", "ledger_post_levies")
CHANGED_FUNCTIONS = ("ledger_write_legs", "ledger_transfer", "ledger_accept", "ledger_bulk",
                     "ledger_reverse")


def upgrade():
    # A new enum value must be committed before a constraint may use it.
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE transfer_kind ADD VALUE IF NOT EXISTS 'levy'")
    op.add_column('currencies', sa.Column('levy_basis_points', sa.Integer(),
                                          server_default='0', nullable=False))
    op.add_column('currencies', sa.Column('levy_fixed', sa.BigInteger(), server_default='0',
                                          nullable=False))
    op.add_column('currencies', sa.Column('levy_minimum', sa.BigInteger(), nullable=True))
    op.add_column('currencies', sa.Column('levy_maximum', sa.BigInteger(), nullable=True))
    op.add_column('currencies', sa.Column('levy_charged_to', sa.String(length=8),
                                          server_default='payer', nullable=False))
    op.create_check_constraint(
        op.f('ck_currencies_levy_valid'), 'currencies',
        "levy_basis_points BETWEEN 0 AND 10000 AND levy_fixed >= 0"
        " AND coalesce(levy_minimum, 0) >= 0"
        " AND (levy_maximum IS NULL OR levy_maximum >= coalesce(levy_minimum, 0))"
        " AND levy_charged_to IN ('payer', 'payee', 'both')")
    op.add_column('transfers', sa.Column('levied_on_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_transfers_group_id_levied_on_id_transfers'), 'transfers',
                          'transfers', ['group_id', 'levied_on_id'], ['group_id', 'id'])
    op.create_check_constraint(
        op.f('ck_transfers_levy_links_transfer'), 'transfers',
        "(kind = 'levy') = (levied_on_id IS NOT NULL)"
        " AND (kind <> 'levy' OR state = 'completed')")
    op.create_index('ix_transfers_levied_on_id', 'transfers', ['levied_on_id'],
                    postgresql_where=sa.text('levied_on_id IS NOT NULL'))
    op.execute("SET LOCAL check_function_bodies = off")
    for name in NEW_FUNCTIONS + CHANGED_FUNCTIONS:
        op.replace_entity(function(name))


def downgrade():
    # The changed functions go back with the previous revision's files only by reinstalling
    # them from that commit; here the new ones are dropped with the columns they read.
    for name in reversed(NEW_FUNCTIONS):
        op.execute(f"DROP FUNCTION {name}")
    op.drop_index('ix_transfers_levied_on_id', table_name='transfers')
    op.drop_constraint(op.f('ck_transfers_levy_links_transfer'), 'transfers', type_='check')
    op.drop_constraint(op.f('fk_transfers_group_id_levied_on_id_transfers'), 'transfers',
                       type_='foreignkey')
    op.drop_column('transfers', 'levied_on_id')
    op.drop_constraint(op.f('ck_currencies_levy_valid'), 'currencies', type_='check')
    for column in ('levy_charged_to', 'levy_maximum', 'levy_minimum', 'levy_fixed',
                   'levy_basis_points'):
        op.drop_column('currencies', column)

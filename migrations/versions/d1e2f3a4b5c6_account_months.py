"""ledger: each account's monthly totals kept with its entries (``account_months``)

The statement's "Month by month" summed the account's entries of the last twelve months on
every view, at most the latest 10,000 of them (a busy account's earlier months were left to the
CSV). The ledger now keeps one row per account and month: ``ledger_write_legs`` adds each entry
to its month (the first day of the month in the group's time zone) in the statement that
writes it, under the accounts' locks the caller already holds; the page reads at most twelve
rows by key, however long the history. ``ledger_rebuild_months`` rebuilds a group's rows when
its time zone changes. ``flask ledger verify`` checks the rows equal the entries' sums.

Upgrade: the table (keyed by group, account and month; fenced by row-level security), both
functions, and the rows of every existing entry, in each group's time zone, written by
``ledger_rebuild_months`` group by group.
Downgrade: ``ledger_write_legs`` as its file was before this revision, then the new function
and the table are dropped.

Earlier migrations install ``ledger_write_legs`` from its file as it is when they run, so on a
new database it names ``account_months`` before this revision creates it: harmless, since no
migration writes a transfer (PL/pgSQL resolves the table when the function first runs).

Revision ID: d1e2f3a4b5c6
Revises: de6f7a8b9c0d
Create Date: 2026-12-08 09:00:00

"""
import sqlalchemy as sa
from alembic import op

from timebank.ledger.sql import function
from timebank.tenants.rls import fence_table, unfence_table

# revision identifiers, used by Alembic.
revision = 'd1e2f3a4b5c6'
down_revision = 'de6f7a8b9c0d'
branch_labels = None
depends_on = None

PREVIOUS_WRITE_LEGS = r"""
CREATE OR REPLACE FUNCTION public.ledger_write_legs(
    p_group_id integer, p_transfer_id integer, p_payer_account_id integer,
    p_payee_account_id integer, p_amount bigint, p_at timestamptz, p_event text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    WITH balances AS (
        UPDATE accounts a
           SET balance = a.balance
                         + CASE WHEN a.id = p_payer_account_id THEN -p_amount ELSE p_amount END
         WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id)
        RETURNING a.id, a.balance
    ), notice AS (
        INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
        SELECT p_group_id, p_transfer_id, p_event, now() WHERE p_event IS NOT NULL
    )
    INSERT INTO entries (group_id, transfer_id, account_id, amount, balance_after, created_at)
    SELECT p_group_id, p_transfer_id, b.id,
           CASE WHEN b.id = p_payer_account_id THEN -p_amount ELSE p_amount END, b.balance, p_at
      FROM balances b
     ORDER BY b.id = p_payee_account_id;
END
$$;
"""


def upgrade():
    op.create_table(
        'account_months',
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('incoming', sa.BigInteger(), nullable=False),
        sa.Column('outgoing', sa.BigInteger(), nullable=False),
        sa.Column('entry_count', sa.Integer(), nullable=False),
        sa.CheckConstraint('incoming >= 0 AND outgoing >= 0 AND entry_count > 0',
                           name=op.f('ck_account_months_totals_positive')),
        sa.ForeignKeyConstraint(['group_id', 'account_id'], ['accounts.group_id', 'accounts.id'],
                                name=op.f('fk_account_months_group_id_account_id_accounts')),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'],
                                name=op.f('fk_account_months_group_id_groups'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('group_id', 'account_id', 'month',
                                name=op.f('pk_account_months')),
        postgresql_with={'fillfactor': 80},
    )
    fence_table('account_months')
    op.execute("SET LOCAL check_function_bodies = off")
    op.replace_entity(function("ledger_write_legs"))
    op.replace_entity(function("ledger_rebuild_months"))
    # The rows of every existing entry, by the function that rebuilds them after a change of
    # time zone (one group at a time, its accounts locked in the ledger's order).
    op.execute("SELECT ledger_rebuild_months(id) FROM groups ORDER BY id")


def downgrade():
    op.execute(PREVIOUS_WRITE_LEGS)
    op.execute("DROP FUNCTION ledger_rebuild_months")
    unfence_table('account_months')
    op.drop_table('account_months')

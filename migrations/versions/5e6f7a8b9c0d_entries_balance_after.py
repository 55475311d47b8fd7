"""ledger: each entry stores its account's balance after it (``entries.balance_after``)

A statement's running balance, the balance chart and the CSV used to re-sum every entry of the
account on each view (a window over the whole history): 0.8 s for an account with 200,000
transfers. The balance after each entry never changes (completed transfers are never edited;
corrections are reversals), so ``ledger_write_legs`` now writes it from the cached balance it
updates under the accounts' locks, and pages read it directly, paged by entry id.

``balance_after`` is nullable only so that a forged entry (tests of the legs triggers) is
refused by the rule it breaks rather than by NOT NULL; ``flask ledger verify`` reports an entry
without it, or whose value is not the running sum of its account's entries by id.

``ix_entries_account_id_created_at`` serves the date filters and the chart's points (the last
entry before each day, week or month boundary).

Revision ID: 5e6f7a8b9c0d
Revises: 4d5e6f7a8b9c
Create Date: 2026-12-07 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from timebank.ledger.sql import function

# revision identifiers, used by Alembic.
revision = '5e6f7a8b9c0d'
down_revision = '4d5e6f7a8b9c'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('entries', sa.Column('balance_after', sa.BigInteger(), nullable=True))
    op.execute("""
        UPDATE entries e SET balance_after = r.running
          FROM (SELECT id, SUM(amount) OVER (PARTITION BY account_id ORDER BY id) AS running
                  FROM entries) r
         WHERE r.id = e.id""")
    op.create_index('ix_entries_account_id_created_at', 'entries', ['account_id', 'created_at'])
    op.execute("SET LOCAL check_function_bodies = off")
    op.replace_entity(function("ledger_write_legs"))


def downgrade():
    op.execute("""
        CREATE OR REPLACE FUNCTION public.ledger_write_legs(
            p_group_id integer, p_transfer_id integer, p_payer_account_id integer,
            p_payee_account_id integer, p_amount bigint, p_at timestamptz, p_event text)
        RETURNS void LANGUAGE sql AS $$
            WITH lines AS (
                INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)
                VALUES (p_group_id, p_transfer_id, p_payer_account_id, -p_amount, p_at),
                       (p_group_id, p_transfer_id, p_payee_account_id, p_amount, p_at)
            ), notice AS (
                INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
                VALUES (p_group_id, p_transfer_id, p_event, now())
            )
            UPDATE accounts a
               SET balance = a.balance
                             + CASE WHEN a.id = p_payer_account_id THEN -p_amount
                                    ELSE p_amount END
             WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id);
        $$""")
    op.drop_index('ix_entries_account_id_created_at', table_name='entries')
    op.drop_column('entries', 'balance_after')

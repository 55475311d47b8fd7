"""ledger: ledger_transfer(), the one-round-trip write of a new transfer; transfer_notices

``transfer_notices`` is the ledger's outbox: a row per transfer event whose emails are still to
be sent, written in the event's own transaction and deleted by the delivery job.

Lighter writes: the idempotency-key and batch-key indexes of ``transfers`` become partial (most
transfers have neither), and ``accounts`` gets ``fillfactor = 80`` so balance updates stay HOT.

The hot path of the ledger (a payment, a request, an on-behalf entry, an import or kudos
transfer) used to be nine statements from the ORM. ``ledger_transfer`` does the same work in one
call, in the caller's transaction: check the parties, lock both accounts in ascending id order
(``FOR NO KEY UPDATE``), honour the idempotency key, check the payer's floor and the payee's
ceiling with pending amounts counted, then write the transfer (pending, or completed with its two
entries and both cached balances moved).

It refuses by returning a row, not by raising, so the caller's transaction stays usable (a form
is re-shown in the same request). Python (``timebank.ledger.transfers.post_transfer``) turns a
refusal into the matching ``LedgerError``. The rules are those of ``timebank/ledger/limits.py``
and ``transfers.py``; the table-driven tests in ``tests/test_ledger_rules.py`` run through both.

Returns one row: ``transfer_id`` (the new or idempotent twin; null on refusal), ``created``, ``refusal``
(null, ``same_account``, ``inactive_party``, ``inactive_currency``, ``currency_mismatch``,
``key_reused``, ``credit_limit``, ``ceiling``), ``available`` (subunits that could still move,
for the two limit refusals), ``refused_account_id`` and the two account ids.

Revision ID: b8c9d0e1f2a3
Revises: d4e5f6a7b8c9
Create Date: 2026-11-22 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8c9d0e1f2a3'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None


LEDGER_TRANSFER = r"""
CREATE OR REPLACE FUNCTION ledger_transfer(
    p_group_id integer,
    p_payer_member_id integer,      -- members, with p_currency_id; or null and accounts below
    p_payee_member_id integer,
    p_currency_id integer,
    p_payer_account_id integer,
    p_payee_account_id integer,
    p_amount bigint,                -- subunits, > 0 (checked by the caller and a CHECK)
    p_description text,             -- already trimmed by the caller
    p_kind transfer_kind,
    p_state transfer_state,         -- 'pending' or 'completed'
    p_starter_id integer,
    p_idempotency_key text,
    p_at timestamptz)
RETURNS TABLE (transfer_id integer, created boolean, refusal text, available bigint,
               refused_account_id integer, payer_account_id integer,
               payee_account_id integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    payer accounts%ROWTYPE;
    payee accounts%ROWTYPE;
    locked accounts%ROWTYPE;
    twin transfers%ROWTYPE;
    cur_kind currency_kind;
    cur_min bigint;
    cur_max bigint;
    cur_active boolean;
    active_parties integer;
    floor_ bigint;
    ceiling_ bigint;
    held bigint;
    new_id integer;
BEGIN
    created := false;
    IF p_payer_member_id IS NOT NULL THEN
        -- A payment between members: the parties and the currency are checked first.
        IF p_payer_member_id = p_payee_member_id THEN
            refusal := 'same_account'; RETURN NEXT; RETURN;
        END IF;
        SELECT (SELECT count(*) FROM memberships m
                 WHERE m.group_id = p_group_id AND m.status = 'active'
                   AND m.id IN (p_payer_member_id, p_payee_member_id)),
               c.kind, c.default_min_balance, c.default_max_balance, c.is_active
          INTO active_parties, cur_kind, cur_min, cur_max, cur_active
          FROM (SELECT 1) AS one
          LEFT JOIN currencies c ON c.group_id = p_group_id AND c.id = p_currency_id;
        IF active_parties < 2 THEN
            refusal := 'inactive_party'; RETURN NEXT; RETURN;
        END IF;
        IF NOT coalesce(cur_active, false) THEN
            refusal := 'inactive_currency'; RETURN NEXT; RETURN;
        END IF;
        SELECT min(a.id) FILTER (WHERE a.membership_id = p_payer_member_id),
               min(a.id) FILTER (WHERE a.membership_id = p_payee_member_id)
          INTO p_payer_account_id, p_payee_account_id
          FROM accounts a
         WHERE a.group_id = p_group_id AND a.currency_id = p_currency_id
           AND a.membership_id IN (p_payer_member_id, p_payee_member_id);
    END IF;

    -- The lock: both rows in ascending id order, read fresh in the same statement.
    FOR locked IN
        SELECT * FROM accounts a
         WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id)
         ORDER BY a.id FOR NO KEY UPDATE
    LOOP
        IF locked.id = p_payer_account_id THEN
            payer := locked;
        END IF;
        IF locked.id = p_payee_account_id THEN
            payee := locked;
        END IF;
    END LOOP;
    payer_account_id := payer.id;
    payee_account_id := payee.id;
    IF payer.id IS NULL OR payee.id IS NULL OR payer.currency_id <> payee.currency_id THEN
        refusal := 'currency_mismatch'; RETURN NEXT; RETURN;
    END IF;
    IF payer.id = payee.id THEN
        refusal := 'same_account'; RETURN NEXT; RETURN;
    END IF;
    IF p_payer_member_id IS NULL THEN
        SELECT c.kind, c.default_min_balance, c.default_max_balance
          INTO cur_kind, cur_min, cur_max
          FROM currencies c WHERE c.id = payer.currency_id;
    END IF;

    -- Idempotency, under the locks: a concurrent twin has waited and now finds the first.
    IF p_idempotency_key IS NOT NULL THEN
        SELECT * INTO twin FROM transfers t
         WHERE t.group_id = p_group_id AND t.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            IF twin.starter_id IS DISTINCT FROM p_starter_id THEN
                refusal := 'key_reused';
            ELSE
                transfer_id := twin.id;
                payer_account_id := twin.payer_account_id;
                payee_account_id := twin.payee_account_id;
            END IF;
            RETURN NEXT; RETURN;
        END IF;
    END IF;

    -- Limits, pending amounts counted (timebank/ledger/limits.py): the payer's floor, then the
    -- payee's ceiling; the other side may always move back toward its range. An issued
    -- currency floors every account but the issuer at zero.
    IF payer.is_issuer THEN
        floor_ := payer.min_balance;
    ELSIF cur_kind = 'issued' THEN
        floor_ := greatest(0, coalesce(payer.min_balance, cur_min, 0));
    ELSE
        floor_ := coalesce(payer.min_balance, cur_min);
    END IF;
    IF floor_ IS NOT NULL THEN
        SELECT coalesce(sum(t.amount), 0) INTO held FROM transfers t
         WHERE t.state = 'pending' AND t.payer_account_id = payer.id;
        IF payer.balance - held - p_amount < floor_ THEN
            refusal := 'credit_limit';
            available := greatest(0, payer.balance - held - floor_);
            refused_account_id := payer.id;
            RETURN NEXT; RETURN;
        END IF;
    END IF;
    ceiling_ := coalesce(payee.max_balance, cur_max);
    IF ceiling_ IS NOT NULL THEN
        SELECT coalesce(sum(t.amount), 0) INTO held FROM transfers t
         WHERE t.state = 'pending' AND t.payee_account_id = payee.id;
        IF payee.balance + held + p_amount > ceiling_ THEN
            refusal := 'ceiling';
            available := greatest(0, ceiling_ - payee.balance - held);
            refused_account_id := payee.id;
            RETURN NEXT; RETURN;
        END IF;
    END IF;

    INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id, amount,
                           description, state, kind, starter_id, completer_id,
                           idempotency_key, created_at, completed_at)
    VALUES (p_group_id, payer.currency_id, payer.id, payee.id, p_amount, p_description,
            p_state, p_kind, p_starter_id,
            CASE WHEN p_state = 'completed' THEN p_starter_id END,
            p_idempotency_key, p_at, CASE WHEN p_state = 'completed' THEN p_at END)
    RETURNING id INTO new_id;
    IF p_state = 'completed' THEN
        -- Entries, balances and the mail notice in one statement.
        WITH lines AS (
            INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)
            VALUES (p_group_id, new_id, payer.id, -p_amount, p_at),
                   (p_group_id, new_id, payee.id, p_amount, p_at)
        ), notice AS (
            INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
            VALUES (p_group_id, new_id, 'completed', now())
        )
        UPDATE accounts a SET balance = a.balance
               + CASE WHEN a.id = payer.id THEN -p_amount ELSE p_amount END
         WHERE a.id IN (payer.id, payee.id);
    ELSE
        INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
        VALUES (p_group_id, new_id, 'started', now());
    END IF;
    transfer_id := new_id;
    created := true;
    RETURN NEXT;
END
$$;
"""


def upgrade():
    op.create_table(
        'transfer_notices',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('transfer_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'],
                                name=op.f('fk_transfer_notices_group_id_groups'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id', 'transfer_id'],
                                ['transfers.group_id', 'transfers.id'],
                                name=op.f('fk_transfer_notices_group_id_transfer_id_transfers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_notices')),
    )
    op.create_index(op.f('ix_transfer_notices_group_id'), 'transfer_notices', ['group_id'],
                    unique=False)
    op.drop_constraint('uq_transfers_group_id_idempotency_key', 'transfers', type_='unique')
    op.create_index('uq_transfers_group_id_idempotency_key', 'transfers',
                    ['group_id', 'idempotency_key'], unique=True,
                    postgresql_where=sa.text('idempotency_key IS NOT NULL'))
    op.drop_index('ix_transfers_batch_key', table_name='transfers')
    op.create_index('ix_transfers_batch_key', 'transfers', ['batch_key'],
                    postgresql_where=sa.text('batch_key IS NOT NULL'))
    op.execute("ALTER TABLE accounts SET (fillfactor = 80)")
    op.execute(LEDGER_TRANSFER)


def downgrade():
    op.execute(
        "DROP FUNCTION IF EXISTS ledger_transfer(integer, integer, integer, integer, integer,"
        " integer, bigint, text, transfer_kind, transfer_state, integer, text, timestamptz)"
    )
    op.execute("ALTER TABLE accounts RESET (fillfactor)")
    op.drop_index('ix_transfers_batch_key', table_name='transfers')
    op.create_index('ix_transfers_batch_key', 'transfers', ['batch_key'])
    op.drop_index('uq_transfers_group_id_idempotency_key', table_name='transfers')
    op.create_unique_constraint('uq_transfers_group_id_idempotency_key', 'transfers',
                                ['group_id', 'idempotency_key'])
    op.drop_index(op.f('ix_transfer_notices_group_id'), table_name='transfer_notices')
    op.drop_table('transfer_notices')

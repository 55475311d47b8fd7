"""ledger: entries are the two legs of their transfer; the currency read with the lock

Until now one deferred constraint trigger (``ledger_check_transfer_balanced``) fired three times
per transfer at commit (once for the transfer, once per entry), each time reading the transfer
and summing its entries. The same guarantee is now built from cheaper, stronger parts:

* ``ledger_entries_are_legs`` (BEFORE INSERT on ``entries``, immediate): an entry may only be
  written for a *completed* transfer, and only as one of its two legs: the payer's account
  with ``-amount`` or the payee's account with ``+amount``. (Before, the database accepted any
  accounts and amounts as long as they summed to zero.)
* ``uq_entries_transfer_id_credit``, unique ``(transfer_id, amount > 0)``: at most one debit
  leg and one credit leg per transfer. It replaces ``ix_entries_transfer_id`` (same lookups).
* ``ledger_transfers_balanced`` (deferred constraint trigger, fires once, for completed
  transfers only): a completed transfer has exactly two entries at commit.

Together: a completed transfer has one leg of each side, of its own amount, so its entries sum
to zero; a pending or cancelled transfer has none (completed is final: see
``ledger_transfers_immutable``). Error messages keep the words the old trigger used
("unbalanced", "pending transfer ... entries").

``ledger_transfer`` (last written in ``c9d0e1f2a3b4``) reads the currency's rules in the
statement that locks the two accounts instead of a statement of its own; its rules, refusals and
results are unchanged.

Revision ID: da1b2c3d4e5f
Revises: c9d0e1f2a3b4
Create Date: 2026-12-06 04:00:00

"""
import importlib.util
from pathlib import Path

from alembic import op

# revision identifiers, used by Alembic.
revision = 'da1b2c3d4e5f'
down_revision = 'c9d0e1f2a3b4'
branch_labels = None
depends_on = None


ENTRIES_ARE_LEGS = r"""
CREATE FUNCTION ledger_entries_are_legs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t transfers%ROWTYPE;
BEGIN
    IF NEW.amount = 0 THEN
        RETURN NEW;  -- ck_entries_amount_nonzero refuses it
    END IF;
    SELECT * INTO t FROM transfers WHERE id = NEW.transfer_id AND group_id = NEW.group_id;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key to transfers refuses it
    END IF;
    IF t.state <> 'completed' THEN
        RAISE EXCEPTION '% transfer % cannot have entries', t.state, t.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_are_legs';
    END IF;
    IF NOT ((NEW.account_id = t.payer_account_id AND NEW.amount = -t.amount)
            OR (NEW.account_id = t.payee_account_id AND NEW.amount = t.amount)) THEN
        RAISE EXCEPTION 'entry of % on account % is not a leg of transfer % (% on account %, % on account %)',
            NEW.amount, NEW.account_id, t.id, -t.amount, t.payer_account_id, t.amount,
            t.payee_account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_are_legs';
    END IF;
    RETURN NEW;
END
$$;
"""

TRANSFER_HAS_BOTH_LEGS = r"""
CREATE FUNCTION ledger_transfer_has_both_legs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lines integer;
BEGIN
    -- No row when the transfer is gone again (its whole group deleted in this transaction).
    SELECT count(e.id) INTO lines
      FROM transfers t LEFT JOIN entries e ON e.transfer_id = t.id
     WHERE t.id = NEW.id GROUP BY t.id;
    IF FOUND AND lines <> 2 THEN
        RAISE EXCEPTION 'completed transfer % is unbalanced: % of its 2 entries', NEW.id, lines
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_balanced';
    END IF;
    RETURN NULL;
END
$$;
"""

SIGNATURE = (
    "ledger_transfer(integer, integer, integer, integer, integer, integer, bigint, text,"
    " transfer_kind, transfer_state, integer, text, timestamptz)"
)

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
    p_at timestamptz,
    OUT transfer_id integer, OUT created boolean, OUT refusal text, OUT available bigint,
    OUT refused_account_id integer, OUT payer_account_id integer,
    OUT payee_account_id integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    payer record;                   -- an account with its currency's rules (see the locks)
    payee record;
    locked record;
    has_payer boolean := false;
    has_payee boolean := false;
    twin transfers%ROWTYPE;
    floor_ bigint;
    ceiling_ bigint;
    held bigint;
BEGIN
    created := false;
    IF p_payer_member_id IS NOT NULL THEN
        IF p_payer_member_id = p_payee_member_id THEN
            refusal := 'same_account'; RETURN;
        END IF;
        -- The lock: both members' accounts in the active currency, if both members are
        -- active, in ascending id order, read fresh with the currency's rules in one statement.
        FOR locked IN
            SELECT a.id, a.membership_id, a.currency_id, a.balance, a.min_balance,
                   a.max_balance, a.is_issuer, c.kind AS currency_kind,
                   c.default_min_balance, c.default_max_balance
              FROM accounts a
              JOIN memberships m ON m.id = a.membership_id
              JOIN currencies c ON c.group_id = a.group_id AND c.id = a.currency_id
             WHERE a.group_id = p_group_id AND a.currency_id = p_currency_id
               AND a.membership_id IN (p_payer_member_id, p_payee_member_id)
               AND m.status = 'active' AND c.is_active
             ORDER BY a.id FOR NO KEY UPDATE OF a
        LOOP
            IF locked.membership_id = p_payer_member_id THEN
                payer := locked; has_payer := true;
            ELSE
                payee := locked; has_payee := true;
            END IF;
        END LOOP;
        IF NOT (has_payer AND has_payee) THEN
            -- Refused: find out why, in the order of the Python rules.
            IF (SELECT count(*) FROM memberships m
                 WHERE m.group_id = p_group_id AND m.status = 'active'
                   AND m.id IN (p_payer_member_id, p_payee_member_id)) < 2 THEN
                refusal := 'inactive_party';
            ELSIF NOT coalesce((SELECT c.is_active FROM currencies c
                                 WHERE c.group_id = p_group_id AND c.id = p_currency_id),
                               false) THEN
                refusal := 'inactive_currency';
            ELSE
                refusal := 'currency_mismatch';
            END IF;
            RETURN;
        END IF;
    ELSE
        -- Accounts given: the same lock.
        FOR locked IN
            SELECT a.id, a.membership_id, a.currency_id, a.balance, a.min_balance,
                   a.max_balance, a.is_issuer, c.kind AS currency_kind,
                   c.default_min_balance, c.default_max_balance
              FROM accounts a
              JOIN currencies c ON c.group_id = a.group_id AND c.id = a.currency_id
             WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id)
             ORDER BY a.id FOR NO KEY UPDATE OF a
        LOOP
            IF locked.id = p_payer_account_id THEN
                payer := locked; has_payer := true;
            END IF;
            IF locked.id = p_payee_account_id THEN
                payee := locked; has_payee := true;
            END IF;
        END LOOP;
        IF NOT (has_payer AND has_payee) THEN
            refusal := 'currency_mismatch'; RETURN;
        END IF;
        IF payer.currency_id <> payee.currency_id THEN
            refusal := 'currency_mismatch'; RETURN;
        END IF;
        IF payer.id = payee.id THEN
            refusal := 'same_account'; RETURN;
        END IF;
    END IF;
    payer_account_id := payer.id;
    payee_account_id := payee.id;

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
            RETURN;
        END IF;
    END IF;

    -- Limits, pending amounts counted (timebank/ledger/limits.py): the payer's floor, then the
    -- payee's ceiling; the other side may always move back toward its range. An issued
    -- currency floors every account but the issuer at zero.
    IF payer.is_issuer THEN
        floor_ := payer.min_balance;
    ELSIF payer.currency_kind = 'issued' THEN
        floor_ := greatest(0, coalesce(payer.min_balance, payer.default_min_balance, 0));
    ELSE
        floor_ := coalesce(payer.min_balance, payer.default_min_balance);
    END IF;
    IF floor_ IS NOT NULL THEN
        SELECT coalesce(sum(t.amount), 0) INTO held FROM transfers t
         WHERE t.state = 'pending' AND t.payer_account_id = payer.id;
        IF payer.balance - held - p_amount < floor_ THEN
            refusal := 'credit_limit';
            available := greatest(0, payer.balance - held - floor_);
            refused_account_id := payer.id;
            RETURN;
        END IF;
    END IF;
    ceiling_ := coalesce(payee.max_balance, payee.default_max_balance);
    IF ceiling_ IS NOT NULL THEN
        SELECT coalesce(sum(t.amount), 0) INTO held FROM transfers t
         WHERE t.state = 'pending' AND t.payee_account_id = payee.id;
        IF payee.balance + held + p_amount > ceiling_ THEN
            refusal := 'ceiling';
            available := greatest(0, ceiling_ - payee.balance - held);
            refused_account_id := payee.id;
            RETURN;
        END IF;
    END IF;

    INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id, amount,
                           description, state, kind, starter_id, completer_id,
                           idempotency_key, created_at, completed_at)
    VALUES (p_group_id, payer.currency_id, payer.id, payee.id, p_amount, p_description,
            p_state, p_kind, p_starter_id,
            CASE WHEN p_state = 'completed' THEN p_starter_id END,
            p_idempotency_key, p_at, CASE WHEN p_state = 'completed' THEN p_at END)
    RETURNING id INTO transfer_id;
    IF p_state = 'completed' THEN
        -- Entries (the two legs), balances and the mail notice in one statement.
        WITH lines AS (
            INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)
            VALUES (p_group_id, ledger_transfer.transfer_id, payer.id, -p_amount, p_at),
                   (p_group_id, ledger_transfer.transfer_id, payee.id, p_amount, p_at)
        ), notice AS (
            INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
            VALUES (p_group_id, ledger_transfer.transfer_id, 'completed', now())
        )
        UPDATE accounts a SET balance = a.balance
               + CASE WHEN a.id = payer.id THEN -p_amount ELSE p_amount END
         WHERE a.id IN (payer.id, payee.id);
    ELSE
        INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
        VALUES (p_group_id, ledger_transfer.transfer_id, 'started', now());
    END IF;
    created := true;
END
$$;
"""


def upgrade():
    op.execute("DROP TRIGGER ledger_entries_balanced ON entries")
    op.execute("DROP TRIGGER ledger_transfers_balanced ON transfers")
    op.execute("DROP FUNCTION ledger_check_transfer_balanced()")

    op.drop_index('ix_entries_transfer_id', table_name='entries')
    op.execute("CREATE UNIQUE INDEX uq_entries_transfer_id_credit"
               " ON entries (transfer_id, (amount > 0))")

    op.execute(ENTRIES_ARE_LEGS)
    op.execute("""
        CREATE TRIGGER ledger_entries_are_legs
        BEFORE INSERT ON entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_are_legs()""")
    op.execute(TRANSFER_HAS_BOTH_LEGS)
    op.execute("""
        CREATE CONSTRAINT TRIGGER ledger_transfers_balanced
        AFTER INSERT OR UPDATE OF state ON transfers
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.state = 'completed')
        EXECUTE FUNCTION ledger_transfer_has_both_legs()""")

    op.execute(LEDGER_TRANSFER)


def downgrade():
    op.execute(_migration("c9d0e1f2a3b4_ledger_lighter_hot_path.py").LEDGER_TRANSFER)

    op.execute("DROP TRIGGER ledger_transfers_balanced ON transfers")
    op.execute("DROP FUNCTION ledger_transfer_has_both_legs()")
    op.execute("DROP TRIGGER ledger_entries_are_legs ON entries")
    op.execute("DROP FUNCTION ledger_entries_are_legs()")

    op.execute("DROP INDEX uq_entries_transfer_id_credit")
    op.create_index('ix_entries_transfer_id', 'entries', ['transfer_id'], unique=False)

    op.execute(_migration("d4e5f6a7b8c9_ledger_guarantees_limits_currencies.py")
               .BALANCED_FUNCTION)
    op.execute("""
        CREATE CONSTRAINT TRIGGER ledger_entries_balanced
        AFTER INSERT ON entries
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_transfer_balanced()""")
    op.execute("""
        CREATE CONSTRAINT TRIGGER ledger_transfers_balanced
        AFTER INSERT OR UPDATE OF state ON transfers
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_transfer_balanced()""")


def _migration(filename: str):
    """An earlier migration of the ledger, whose definitions the downgrade restores."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

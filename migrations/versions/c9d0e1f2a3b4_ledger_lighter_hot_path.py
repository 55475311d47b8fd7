"""ledger: a lighter hot path (no lock on the currency row, one statement fewer)

Every foreign-key check locks the row it finds (``FOR KEY SHARE``). A transfer's key to
``currencies`` made every concurrent transfer of a group lock that currency's one row (a new
multixact each time). ``transfers`` now points at its payer's and payee's accounts by
``(group_id, currency_id, id)`` instead: the transfer's currency is proven to be both accounts'
currency (a rule only the code held until now), and the accounts' own keys prove the currency,
so the key to ``currencies`` is dropped. (The keys to ``groups`` stay: a group's deletion
reaches its ledger through them, and a transaction locks the ``groups`` row only once.)

``ledger_transfer`` (first written in ``b8c9d0e1f2a3``) is replaced: given members, it finds and
locks their accounts in one statement (joined to the members' status) instead of three, and
it returns its one row as OUT parameters instead of a set. The rules and the refusals are
unchanged; the table-driven tests in ``tests/test_ledger_rules.py`` run through it. Returns:
``transfer_id`` (the new or idempotent twin; null on refusal), ``created``, ``refusal`` (null,
``same_account``, ``inactive_party``, ``inactive_currency``, ``currency_mismatch``,
``key_reused``, ``credit_limit``, ``ceiling``), ``available`` (subunits that could still move,
for the two limit refusals), ``refused_account_id`` and the two account ids.

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-11-22 06:10:00

"""
import importlib.util
from pathlib import Path

from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9d0e1f2a3b4'
down_revision = 'b8c9d0e1f2a3'
branch_labels = None
depends_on = None


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
    payer accounts%ROWTYPE;
    payee accounts%ROWTYPE;
    locked accounts%ROWTYPE;
    twin transfers%ROWTYPE;
    cur_kind currency_kind;
    cur_min bigint;
    cur_max bigint;
    cur_active boolean;
    floor_ bigint;
    ceiling_ bigint;
    held bigint;
BEGIN
    created := false;
    IF p_payer_member_id IS NOT NULL THEN
        IF p_payer_member_id = p_payee_member_id THEN
            refusal := 'same_account'; RETURN;
        END IF;
        SELECT c.kind, c.default_min_balance, c.default_max_balance, c.is_active
          INTO cur_kind, cur_min, cur_max, cur_active
          FROM currencies c WHERE c.group_id = p_group_id AND c.id = p_currency_id;
        -- The lock: both members' accounts, if both members are active, in ascending id
        -- order, read fresh in the same statement.
        FOR locked IN
            SELECT a.* FROM accounts a JOIN memberships m ON m.id = a.membership_id
             WHERE a.group_id = p_group_id AND a.currency_id = p_currency_id
               AND a.membership_id IN (p_payer_member_id, p_payee_member_id)
               AND m.status = 'active'
             ORDER BY a.id FOR NO KEY UPDATE OF a
        LOOP
            IF locked.membership_id = p_payer_member_id THEN
                payer := locked;
            ELSE
                payee := locked;
            END IF;
        END LOOP;
        IF payer.id IS NULL OR payee.id IS NULL THEN
            -- Refused: find out why, in the order of the Python rules.
            IF (SELECT count(*) FROM memberships m
                 WHERE m.group_id = p_group_id AND m.status = 'active'
                   AND m.id IN (p_payer_member_id, p_payee_member_id)) < 2 THEN
                refusal := 'inactive_party';
            ELSIF NOT coalesce(cur_active, false) THEN
                refusal := 'inactive_currency';
            ELSE
                refusal := 'currency_mismatch';
            END IF;
            RETURN;
        END IF;
        IF NOT cur_active THEN
            refusal := 'inactive_currency'; RETURN;
        END IF;
    ELSE
        -- Accounts given: the same lock.
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
        IF payer.id IS NULL OR payee.id IS NULL OR payer.currency_id <> payee.currency_id THEN
            refusal := 'currency_mismatch'; RETURN;
        END IF;
        IF payer.id = payee.id THEN
            refusal := 'same_account'; RETURN;
        END IF;
        SELECT c.kind, c.default_min_balance, c.default_max_balance
          INTO cur_kind, cur_min, cur_max
          FROM currencies c WHERE c.id = payer.currency_id;
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
            RETURN;
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
        -- Entries, balances and the mail notice in one statement.
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
    op.create_unique_constraint(
        'uq_accounts_group_id_currency_id_id', 'accounts', ['group_id', 'currency_id', 'id'])

    op.drop_constraint('fk_transfers_group_id_currency_id_currencies', 'transfers',
                       type_='foreignkey')
    for side in ('payer', 'payee'):
        op.drop_constraint(f'fk_transfers_group_id_{side}_account_id_accounts', 'transfers',
                           type_='foreignkey')
        op.create_foreign_key(
            f'fk_transfers_group_id_currency_id_{side}_account_id_accounts', 'transfers',
            'accounts', ['group_id', 'currency_id', f'{side}_account_id'],
            ['group_id', 'currency_id', 'id'])

    op.execute(f"DROP FUNCTION {SIGNATURE}")  # the result's type changes
    op.execute(LEDGER_TRANSFER)


def downgrade():
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute(_previous().LEDGER_TRANSFER)

    for side in ('payer', 'payee'):
        op.drop_constraint(f'fk_transfers_group_id_currency_id_{side}_account_id_accounts',
                           'transfers', type_='foreignkey')
        op.create_foreign_key(f'fk_transfers_group_id_{side}_account_id_accounts', 'transfers',
                              'accounts', ['group_id', f'{side}_account_id'],
                              ['group_id', 'id'])
    op.create_foreign_key('fk_transfers_group_id_currency_id_currencies', 'transfers',
                          'currencies', ['group_id', 'currency_id'], ['group_id', 'id'])

    op.drop_constraint('uq_accounts_group_id_currency_id_id', 'accounts', type_='unique')


def _previous():
    """The migration that first wrote ``ledger_transfer`` (its definition is restored)."""
    path = Path(__file__).with_name("b8c9d0e1f2a3_ledger_transfer_function.py")
    spec = importlib.util.spec_from_file_location("b8c9d0e1f2a3", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

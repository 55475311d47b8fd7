-- A new transfer: a payment, a request (invoice), an on-behalf entry, an issuance, an imported
-- transfer. Parties as members (p_payer_member_id, p_payee_member_id and p_currency_id: their
-- accounts in that currency) or as accounts (p_payer_account_id, p_payee_account_id).
-- In the caller's transaction: lock both accounts (ledger_lock_accounts' order); return the
-- transfer first made with p_idempotency_key if there is one (created false); check the
-- parties (ledger_party_refusal) and the limits with the other pending transfers counted
-- (ledger_limit_refusal); write it pending or completed (ledger_post).
-- Levies (ledger_levies): the community pot is locked with the accounts, in the same order;
-- the payer's room must hold the amount AND its levy, the payee must be able to pay its own
-- (ledger_levy_refusal; a pending transfer is checked now and again on acceptance); a
-- completed transfer's levies are written with it (ledger_post_levies).
-- Refusals (nothing written): 'same_account', 'inactive_party', 'inactive_currency',
-- 'currency_mismatch', 'key_reused', 'credit_limit', 'ceiling', 'levy_credit_limit' (with
-- available and refused_account_id). Amounts in subunits, > 0 (the caller validates; a CHECK
-- backs it).
CREATE OR REPLACE FUNCTION public.ledger_transfer(
    p_group_id integer, p_payer_member_id integer, p_payee_member_id integer,
    p_currency_id integer, p_payer_account_id integer, p_payee_account_id integer,
    p_amount bigint, p_description text, p_kind transfer_kind, p_state transfer_state,
    p_starter_id integer, p_idempotency_key text, p_at timestamptz,
    OUT transfer_id integer, OUT created boolean, OUT refusal text, OUT available bigint,
    OUT refused_account_id integer, OUT payer_account_id integer,
    OUT payee_account_id integer)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    locked record;
    currency integer;
    twin record;
    limits record;
    levies record;
BEGIN
    created := false;
    payer_account_id := p_payer_account_id;
    payee_account_id := p_payee_account_id;
    IF p_payer_member_id IS NOT NULL THEN
        IF p_payer_member_id = p_payee_member_id THEN
            refusal := 'same_account'; RETURN;
        END IF;
        SELECT * INTO levies FROM ledger_levies(p_group_id, p_currency_id, p_amount, p_kind);
        IF levies.pot_account_id IS NULL THEN
            -- The members' accounts in the currency, found and locked in one statement, in
            -- the order of ledger_lock_accounts.
            FOR locked IN
                SELECT a.id, a.membership_id FROM accounts a
                 WHERE a.group_id = p_group_id AND a.currency_id = p_currency_id
                   AND a.membership_id IN (p_payer_member_id, p_payee_member_id)
                 ORDER BY a.id FOR NO KEY UPDATE
            LOOP
                IF locked.membership_id = p_payer_member_id THEN
                    payer_account_id := locked.id;
                ELSE
                    payee_account_id := locked.id;
                END IF;
            END LOOP;
        ELSE
            -- With a levy the pot joins the lock set: the members' accounts are found, then
            -- the three locked in the order of ledger_lock_accounts.
            SELECT max(a.id) FILTER (WHERE a.membership_id = p_payer_member_id),
                   max(a.id) FILTER (WHERE a.membership_id = p_payee_member_id)
              INTO payer_account_id, payee_account_id
              FROM accounts a
             WHERE a.group_id = p_group_id AND a.currency_id = p_currency_id
               AND a.membership_id IN (p_payer_member_id, p_payee_member_id);
            PERFORM ledger_lock_accounts(p_group_id, ARRAY[payer_account_id, payee_account_id,
                                                           levies.pot_account_id]);
        END IF;
        IF payer_account_id IS NULL OR payee_account_id IS NULL THEN
            -- A member without an account in the currency: say why.
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
        IF p_payer_account_id = p_payee_account_id THEN
            refusal := 'same_account'; RETURN;
        END IF;
        SELECT a.currency_id INTO currency FROM accounts a
         WHERE a.group_id = p_group_id AND a.id = p_payer_account_id;
        SELECT * INTO levies FROM ledger_levies(p_group_id, currency, p_amount, p_kind,
                                                p_payer_account_id, p_payee_account_id);
        PERFORM ledger_lock_accounts(p_group_id, ARRAY[p_payer_account_id, p_payee_account_id,
                                                       levies.pot_account_id]);
    END IF;

    SELECT * INTO twin FROM ledger_twin(p_group_id, p_idempotency_key, p_starter_id);
    IF twin.refusal IS NOT NULL THEN
        refusal := twin.refusal; RETURN;
    ELSIF twin.twin_id IS NOT NULL THEN
        SELECT t.id, t.payer_account_id, t.payee_account_id
          INTO transfer_id, payer_account_id, payee_account_id
          FROM transfers t WHERE t.id = twin.twin_id;
        RETURN;
    END IF;

    refusal := ledger_party_refusal(p_group_id, payer_account_id, payee_account_id);
    IF refusal IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO limits FROM ledger_limit_refusal(payer_account_id, payee_account_id, p_amount);
    IF limits.refusal IS NULL AND levies.pot_account_id IS NOT NULL THEN
        SELECT * INTO limits FROM ledger_levy_refusal(payer_account_id, payee_account_id,
                                                      levies.pot_account_id, p_amount,
                                                      levies.payer_levy, levies.payee_levy);
    END IF;
    IF limits.refusal IS NOT NULL THEN
        refusal := limits.refusal;
        available := limits.available;
        refused_account_id := limits.refused_account_id;
        RETURN;
    END IF;

    SELECT a.currency_id INTO currency FROM accounts a WHERE a.id = payer_account_id;
    transfer_id := ledger_post(p_group_id, currency, payer_account_id, payee_account_id,
                               p_amount, p_description, p_kind, p_state, p_starter_id,
                               p_idempotency_key, p_at);
    IF p_state = 'completed' AND levies.pot_account_id IS NOT NULL THEN
        PERFORM ledger_post_levies(p_group_id, currency, transfer_id, payer_account_id,
                                   payee_account_id, levies.pot_account_id, levies.payer_levy,
                                   levies.payee_levy, p_description, p_at);
    END IF;
    created := true;
END
$$;

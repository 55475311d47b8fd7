-- A payment from a member of one group to a member of another (DESIGN.md "Ledger": between
-- groups): in one transaction, two linked transfers, p_payer_member_id -> the payer group's
-- clearing account in p_payer_currency_id, and the payee group's clearing account in
-- p_payee_currency_id -> p_payee_member_id, linked by an intergroup_payments row.
-- Conversion: the payee receives the payer's amount's value in network seconds
-- (ledger_network_seconds) divided by the value of one of its own subunits, ROUNDED DOWN: no
-- value is created; what is not passed on is kept as the row's rounding (network seconds).
-- Rules, both groups': the groups trade with each other (ledger_trading_refusal); the four
-- accounts are locked in ascending id order (ids are network-wide: one global order); a
-- repeated p_idempotency_key (the payer group's) returns the first payment; the parties and
-- currencies (ledger_party_refusal) on both sides; the limits with pending counted on both
-- legs: the payer's floor, the payer group's clearing ceiling (what it may owe the network),
-- the payee group's clearing floor (what it may be owed) and the payee's ceiling.
-- p_state 'pending' when the payee's group asks payees to confirm payments.
-- Refusals (nothing written): 'same_account', 'not_trading', 'currency_mismatch',
-- 'inactive_party', 'inactive_currency', 'key_reused', 'too_small', 'credit_limit', 'ceiling'
-- (available: the most that could move, in the PAYER's subunits; refused_account_id).
CREATE OR REPLACE FUNCTION public.ledger_intergroup_transfer(
    p_payer_group_id integer, p_payer_member_id integer, p_payer_currency_id integer,
    p_payee_group_id integer, p_payee_member_id integer, p_payee_currency_id integer,
    p_amount bigint, p_description text, p_kind transfer_kind, p_state transfer_state,
    p_starter_id integer, p_idempotency_key text, p_at timestamptz,
    OUT payment_id integer, OUT created boolean, OUT refusal text, OUT available bigint,
    OUT refused_account_id integer, OUT payee_amount bigint)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    payer_account integer;
    payer_clearing integer;
    payee_account integer;
    payee_clearing integer;
    payer_unit numeric;   -- network seconds per subunit, each side
    payee_unit numeric;
    twin record;
    limits record;
    payer_transfer integer;
    payee_transfer integer;
BEGIN
    created := false;
    refusal := ledger_trading_refusal(p_payer_group_id, p_payee_group_id);
    IF refusal IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT max(a.id) FILTER (WHERE a.membership_id = p_payer_member_id),
           max(a.id) FILTER (WHERE a.is_clearing)
      INTO payer_account, payer_clearing
      FROM accounts a
     WHERE a.group_id = p_payer_group_id AND a.currency_id = p_payer_currency_id
       AND (a.membership_id = p_payer_member_id OR a.is_clearing);
    SELECT max(a.id) FILTER (WHERE a.membership_id = p_payee_member_id),
           max(a.id) FILTER (WHERE a.is_clearing)
      INTO payee_account, payee_clearing
      FROM accounts a
     WHERE a.group_id = p_payee_group_id AND a.currency_id = p_payee_currency_id
       AND (a.membership_id = p_payee_member_id OR a.is_clearing);
    IF payer_clearing IS NULL OR payee_clearing IS NULL THEN
        refusal := 'not_trading'; RETURN;        -- no clearing account in that currency
    ELSIF payer_account IS NULL OR payee_account IS NULL THEN
        refusal := 'inactive_party'; RETURN;     -- a member without an account in it
    END IF;
    PERFORM 1 FROM accounts a
     WHERE a.id IN (payer_account, payer_clearing, payee_account, payee_clearing)
     ORDER BY a.id FOR NO KEY UPDATE;

    SELECT * INTO twin FROM ledger_twin(p_payer_group_id, p_idempotency_key, p_starter_id);
    IF twin.refusal IS NOT NULL THEN
        refusal := twin.refusal; RETURN;
    ELSIF twin.twin_id IS NOT NULL THEN
        SELECT ip.id INTO payment_id FROM intergroup_payments ip
         WHERE ip.payer_transfer_id = twin.twin_id;
        IF payment_id IS NULL THEN
            refusal := 'key_reused';             -- the key made a local transfer
        END IF;
        RETURN;
    END IF;

    refusal := coalesce(
        ledger_party_refusal(p_payer_group_id, payer_account, payer_clearing),
        ledger_party_refusal(p_payee_group_id, payee_clearing, payee_account));
    IF refusal IS NOT NULL THEN
        RETURN;
    END IF;

    SELECT ledger_network_seconds(1, c.hour_value, c.subunits_per_unit) INTO payer_unit
      FROM currencies c WHERE c.id = p_payer_currency_id;
    SELECT ledger_network_seconds(1, c.hour_value, c.subunits_per_unit) INTO payee_unit
      FROM currencies c WHERE c.id = p_payee_currency_id;
    payee_amount := floor(p_amount * payer_unit / payee_unit);
    IF payee_amount < 1 THEN
        refusal := 'too_small';
        available := 0;
        RETURN;
    END IF;

    SELECT * INTO limits FROM ledger_limit_refusal(payer_account, payer_clearing, p_amount);
    IF limits.refusal IS NULL THEN
        SELECT * INTO limits
          FROM ledger_limit_refusal(payee_clearing, payee_account, payee_amount);
        IF limits.refusal IS NOT NULL THEN
            -- The most the payer could send: the largest amount whose conversion fits.
            limits.available := greatest(0, ceil((limits.available + 1) * payee_unit
                                                 / payer_unit) - 1);
        END IF;
    END IF;
    IF limits.refusal IS NOT NULL THEN
        refusal := limits.refusal;
        available := limits.available;
        refused_account_id := limits.refused_account_id;
        RETURN;
    END IF;

    payer_transfer := ledger_post(p_payer_group_id, p_payer_currency_id, payer_account,
                                  payer_clearing, p_amount, p_description, p_kind, p_state,
                                  p_starter_id, p_idempotency_key, p_at);
    payee_transfer := ledger_post(p_payee_group_id, p_payee_currency_id, payee_clearing,
                                  payee_account, payee_amount, p_description, p_kind, p_state,
                                  NULL, NULL, p_at);
    INSERT INTO intergroup_payments (payer_group_id, payer_transfer_id, payee_group_id,
                                     payee_transfer_id, rounding, created_at)
    VALUES (p_payer_group_id, payer_transfer, p_payee_group_id, payee_transfer,
            p_amount * payer_unit - payee_amount * payee_unit, p_at)
    RETURNING id INTO payment_id;
    created := true;
END
$$;

-- Reverse a completed payment between groups, as a pair: each linked transfer is reversed in
-- its own group's ledger (ledger_reverse's rules: limits and suspended members do not block a
-- correction, a retired currency does), and the two reversals are linked by an
-- intergroup_payments row whose rounding is minus the original's. p_group_id/p_starter_id: the
-- treasurer of either group who corrects it (the caller asked the policy). Reversing again
-- returns the first reversal (created false). Refusals (nothing written): 'cannot_reverse',
-- 'inactive_currency', 'reversal_would_overdraw'.
CREATE OR REPLACE FUNCTION public.ledger_intergroup_reverse(
    p_payment_id integer, p_group_id integer, p_starter_id integer, p_reason text,
    p_at timestamptz, OUT payment_id integer, OUT created boolean, OUT refusal text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    ip intergroup_payments%ROWTYPE;
    payer_reversal record;
    payee_reversal record;
BEGIN
    created := false;
    SELECT * INTO ip FROM intergroup_payments WHERE id = p_payment_id AND reverses_id IS NULL;
    IF NOT FOUND THEN
        refusal := 'cannot_reverse'; RETURN;
    END IF;
    PERFORM 1 FROM accounts a
     WHERE a.id IN (SELECT t.payer_account_id FROM transfers t
                     WHERE t.id IN (ip.payer_transfer_id, ip.payee_transfer_id)
                    UNION SELECT t.payee_account_id FROM transfers t
                     WHERE t.id IN (ip.payer_transfer_id, ip.payee_transfer_id))
     ORDER BY a.id FOR NO KEY UPDATE;
    SELECT r.id INTO payment_id FROM intergroup_payments r WHERE r.reverses_id = ip.id;
    IF payment_id IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO payer_reversal FROM ledger_reverse(
        ip.payer_group_id, ip.payer_transfer_id,
        CASE WHEN ip.payer_group_id = p_group_id THEN p_starter_id END, p_reason, NULL, p_at);
    SELECT * INTO payee_reversal FROM ledger_reverse(
        ip.payee_group_id, ip.payee_transfer_id,
        CASE WHEN ip.payee_group_id = p_group_id THEN p_starter_id END, p_reason, NULL, p_at);
    refusal := coalesce(payer_reversal.refusal, payee_reversal.refusal);
    IF refusal IS NOT NULL OR NOT (payer_reversal.created AND payee_reversal.created) THEN
        -- A refusal on the second side must not leave the first reversed: undo it all.
        RAISE EXCEPTION 'intergroup reversal refused: %', coalesce(refusal, 'half reversed')
            USING ERRCODE = 'TB002';
    END IF;
    INSERT INTO intergroup_payments (payer_group_id, payer_transfer_id, payee_group_id,
                                     payee_transfer_id, rounding, reverses_id, created_at)
    VALUES (ip.payee_group_id, payee_reversal.transfer_id, ip.payer_group_id,
            payer_reversal.transfer_id, -ip.rounding, ip.id, p_at)
    RETURNING id INTO payment_id;
    created := true;
EXCEPTION WHEN SQLSTATE 'TB002' THEN
    payment_id := NULL;
    created := false;
END
$$;

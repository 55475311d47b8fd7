-- Accept a pending transfer: p_by_id is the side that was asked (the payee of a payment, the
-- payer of a request; the caller asked the policy). Locks the transfer's row, then its
-- accounts. The rules are checked again, the limits without the other pending transfers
-- (they are promises, not balances). outcome:
--   'completed'                  now completed, its legs written (notice 'accepted');
--   'already'                    completed before by p_by_id (a repeated acceptance);
--   'not_pending'                missing from this group, or no longer pending;
--   'inactive_party'             a member's membership is not active (nothing written);
--   'refused_credit_limit', 'refused_ceiling', 'refused_levy_credit_limit',
--   'refused_inactive_currency'  the rules no longer allow it: it is cancelled with that code
--                                (notice 'cancelled'), a refusal the caller commits.
-- The levy is the currency's rule at acceptance (ledger_levies): the pot is locked with the
-- accounts, the limits include the levies (ledger_levy_refusal) and they are written with the
-- transfer (ledger_post_levies).
CREATE OR REPLACE FUNCTION public.ledger_accept(
    p_group_id integer, p_transfer_id integer, p_by_id integer, p_at timestamptz,
    OUT outcome text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    t transfers%ROWTYPE;
    refusal text;
    limits record;
    levies record;
BEGIN
    SELECT * INTO t FROM transfers
     WHERE group_id = p_group_id AND id = p_transfer_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    IF t.state = 'completed' AND t.completer_id = p_by_id THEN
        outcome := 'already'; RETURN;
    END IF;
    IF t.state <> 'pending' THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    SELECT * INTO levies FROM ledger_levies(p_group_id, t.currency_id, t.amount, t.kind,
                                            t.payer_account_id, t.payee_account_id);
    PERFORM ledger_lock_accounts(p_group_id, ARRAY[t.payer_account_id, t.payee_account_id,
                                                   levies.pot_account_id]);
    refusal := ledger_party_refusal(p_group_id, t.payer_account_id, t.payee_account_id);
    IF refusal = 'inactive_currency' THEN
        outcome := 'refused_inactive_currency';
    ELSIF refusal IS NOT NULL THEN
        outcome := refusal; RETURN;
    ELSE
        SELECT * INTO limits FROM ledger_limit_refusal(t.payer_account_id, t.payee_account_id,
                                                       t.amount, false);
        IF limits.refusal IS NULL AND levies.pot_account_id IS NOT NULL THEN
            SELECT * INTO limits FROM ledger_levy_refusal(
                t.payer_account_id, t.payee_account_id, levies.pot_account_id, t.amount,
                levies.payer_levy, levies.payee_levy, false);
        END IF;
        IF limits.refusal IS NOT NULL THEN
            outcome := 'refused_' || limits.refusal;
        END IF;
    END IF;
    IF outcome IS NOT NULL THEN
        PERFORM ledger_cancel(p_group_id, p_transfer_id, NULL, outcome, NULL, p_at);
        RETURN;
    END IF;
    UPDATE transfers SET state = 'completed', completer_id = p_by_id, completed_at = p_at
     WHERE group_id = p_group_id AND id = p_transfer_id;
    PERFORM ledger_write_legs(p_group_id, p_transfer_id, t.payer_account_id,
                              t.payee_account_id, t.amount, p_at, 'accepted');
    IF levies.pot_account_id IS NOT NULL THEN
        PERFORM ledger_post_levies(p_group_id, t.currency_id, p_transfer_id, t.payer_account_id,
                                   t.payee_account_id, levies.pot_account_id, levies.payer_levy,
                                   levies.payee_levy, t.description, p_at);
    END IF;
    outcome := 'completed';
END
$$;

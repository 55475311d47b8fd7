-- Accept a pending payment between groups: p_by_id, the payee (a membership of the payee's
-- group; the caller asked the policy), completes both linked transfers at once. Locks both
-- transfer rows (ascending id), then the four accounts (ascending id), and re-checks every
-- rule of ledger_intergroup_transfer, the limits without other pending transfers (as a local
-- acceptance does). outcome: 'completed' (notices 'accepted'), 'already' (completed before by
-- p_by_id), 'not_pending', 'inactive_party' or 'not_trading' (nothing written), or
-- 'refused_credit_limit' / 'refused_ceiling' / 'refused_inactive_currency': both transfers
-- cancelled with that code (notices 'cancelled'), a refusal the caller commits.
CREATE OR REPLACE FUNCTION public.ledger_intergroup_accept(
    p_payment_id integer, p_by_id integer, p_at timestamptz, OUT outcome text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    ip intergroup_payments%ROWTYPE;
    payer_leg transfers%ROWTYPE;
    payee_leg transfers%ROWTYPE;
    refusal text;
    limits record;
BEGIN
    SELECT * INTO ip FROM intergroup_payments WHERE id = p_payment_id;
    IF NOT FOUND THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    PERFORM 1 FROM transfers t WHERE t.id IN (ip.payer_transfer_id, ip.payee_transfer_id)
     ORDER BY t.id FOR NO KEY UPDATE;
    SELECT * INTO payer_leg FROM transfers WHERE id = ip.payer_transfer_id;
    SELECT * INTO payee_leg FROM transfers WHERE id = ip.payee_transfer_id;
    IF payee_leg.state = 'completed' AND payee_leg.completer_id = p_by_id THEN
        outcome := 'already'; RETURN;
    END IF;
    IF payer_leg.state <> 'pending' OR payee_leg.state <> 'pending' THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    PERFORM 1 FROM accounts a
     WHERE a.id IN (payer_leg.payer_account_id, payer_leg.payee_account_id,
                    payee_leg.payer_account_id, payee_leg.payee_account_id)
     ORDER BY a.id FOR NO KEY UPDATE;
    refusal := coalesce(
        ledger_trading_refusal(ip.payer_group_id, ip.payee_group_id),
        ledger_party_refusal(ip.payer_group_id, payer_leg.payer_account_id,
                             payer_leg.payee_account_id),
        ledger_party_refusal(ip.payee_group_id, payee_leg.payer_account_id,
                             payee_leg.payee_account_id));
    IF refusal = 'inactive_currency' THEN
        outcome := 'refused_inactive_currency';
    ELSIF refusal IS NOT NULL THEN
        outcome := refusal; RETURN;
    ELSE
        SELECT * INTO limits FROM ledger_limit_refusal(payer_leg.payer_account_id,
                                                       payer_leg.payee_account_id,
                                                       payer_leg.amount, false);
        IF limits.refusal IS NULL THEN
            SELECT * INTO limits FROM ledger_limit_refusal(payee_leg.payer_account_id,
                                                           payee_leg.payee_account_id,
                                                           payee_leg.amount, false);
        END IF;
        IF limits.refusal IS NOT NULL THEN
            outcome := 'refused_' || limits.refusal;
        END IF;
    END IF;
    IF outcome IS NOT NULL THEN
        PERFORM ledger_cancel(ip.payer_group_id, payer_leg.id, NULL, outcome, NULL, p_at);
        PERFORM ledger_cancel(ip.payee_group_id, payee_leg.id, NULL, outcome, NULL, p_at);
        RETURN;
    END IF;
    UPDATE transfers SET state = 'completed', completed_at = p_at,
                         completer_id = CASE WHEN id = payee_leg.id THEN p_by_id END
     WHERE id IN (payer_leg.id, payee_leg.id);
    PERFORM ledger_write_legs(ip.payer_group_id, payer_leg.id, payer_leg.payer_account_id,
                              payer_leg.payee_account_id, payer_leg.amount, p_at, 'accepted');
    PERFORM ledger_write_legs(ip.payee_group_id, payee_leg.id, payee_leg.payer_account_id,
                              payee_leg.payee_account_id, payee_leg.amount, p_at, 'accepted');
    outcome := 'completed';
END
$$;

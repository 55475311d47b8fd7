-- Cancel a pending payment between groups, both linked transfers at once, with p_code
-- ('withdrawn' by the payer, 'declined' by the payee; the caller asked the policy).
-- p_group_id is the group of p_by_id, recorded as the canceller on that group's transfer.
-- outcome: 'cancelled' (notices 'cancelled'), 'already' (a repeat) or 'not_pending'.
CREATE OR REPLACE FUNCTION public.ledger_intergroup_cancel(
    p_payment_id integer, p_group_id integer, p_by_id integer, p_code text, p_reason text,
    p_at timestamptz, OUT outcome text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    ip intergroup_payments%ROWTYPE;
    first_outcome text;
BEGIN
    SELECT * INTO ip FROM intergroup_payments WHERE id = p_payment_id;
    IF NOT FOUND THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    PERFORM 1 FROM transfers t WHERE t.id IN (ip.payer_transfer_id, ip.payee_transfer_id)
     ORDER BY t.id FOR NO KEY UPDATE;
    first_outcome := ledger_cancel(
        ip.payer_group_id, ip.payer_transfer_id,
        CASE WHEN ip.payer_group_id = p_group_id THEN p_by_id END, p_code, p_reason, p_at);
    outcome := ledger_cancel(
        ip.payee_group_id, ip.payee_transfer_id,
        CASE WHEN ip.payee_group_id = p_group_id THEN p_by_id END, p_code, p_reason, p_at);
    IF first_outcome <> outcome THEN
        RAISE EXCEPTION 'intergroup payment % has legs in different states', p_payment_id
            USING ERRCODE = 'check_violation';
    END IF;
END
$$;

-- Cancel a pending transfer with p_code: 'withdrawn' (by its starter), 'declined' (by the
-- side that was asked), or a refusal by the ledger ('refused_credit_limit',
-- 'refused_ceiling', 'refused_inactive_currency'; p_by_id null). The caller asked the policy
-- who may. Locks the transfer's row. outcome: 'cancelled' (notice 'cancelled'), 'already'
-- (cancelled before with the same code by the same person: a repeat), or 'not_pending'.
CREATE OR REPLACE FUNCTION public.ledger_cancel(
    p_group_id integer, p_transfer_id integer, p_by_id integer, p_code text, p_reason text,
    p_at timestamptz, OUT outcome text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    t transfers%ROWTYPE;
BEGIN
    SELECT * INTO t FROM transfers
     WHERE group_id = p_group_id AND id = p_transfer_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    IF t.state = 'cancelled' AND t.cancel_code = p_code
       AND t.cancelled_by_id IS NOT DISTINCT FROM p_by_id THEN
        outcome := 'already'; RETURN;
    END IF;
    IF t.state <> 'pending' THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    UPDATE transfers
       SET state = 'cancelled', cancel_code = p_code, cancel_reason = nullif(p_reason, ''),
           cancelled_by_id = p_by_id, cancelled_at = p_at
     WHERE group_id = p_group_id AND id = p_transfer_id;
    INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
    VALUES (p_group_id, p_transfer_id, 'cancelled', now());
    outcome := 'cancelled';
END
$$;

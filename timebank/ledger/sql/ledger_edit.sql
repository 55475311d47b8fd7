-- Change the amount (subunits) and description of a pending transfer; the caller asked the
-- policy (its starter may). Locks the transfer's row, then, for a larger amount, its accounts:
-- the new amount must fit the limits with the other pending transfers counted. outcome:
-- 'edited' (notice 'edited' when something changed), 'not_pending', or 'credit_limit' /
-- 'ceiling' with available and refused_account_id (nothing written).
CREATE OR REPLACE FUNCTION public.ledger_edit(
    p_group_id integer, p_transfer_id integer, p_amount bigint, p_description text,
    OUT outcome text, OUT available bigint, OUT refused_account_id integer)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    t transfers%ROWTYPE;
    limits record;
BEGIN
    SELECT * INTO t FROM transfers
     WHERE group_id = p_group_id AND id = p_transfer_id FOR NO KEY UPDATE;
    IF NOT FOUND OR t.state <> 'pending' THEN
        outcome := 'not_pending'; RETURN;
    END IF;
    IF p_amount > t.amount THEN
        PERFORM ledger_lock_accounts(p_group_id, ARRAY[t.payer_account_id, t.payee_account_id]);
        SELECT * INTO limits FROM ledger_limit_refusal(t.payer_account_id, t.payee_account_id,
                                                       p_amount, true, t.id);
        IF limits.refusal IS NOT NULL THEN
            outcome := limits.refusal;
            available := limits.available;
            refused_account_id := limits.refused_account_id;
            RETURN;
        END IF;
    END IF;
    outcome := 'edited';
    IF (t.amount, t.description) = (p_amount, p_description) THEN
        RETURN;
    END IF;
    UPDATE transfers SET amount = p_amount, description = p_description
     WHERE group_id = p_group_id AND id = p_transfer_id;
    INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
    VALUES (p_group_id, p_transfer_id, 'edited', now());
END
$$;

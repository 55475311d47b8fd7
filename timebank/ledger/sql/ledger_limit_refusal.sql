-- Whether moving p_amount subunits from the payer's account to the payee's breaks a limit
-- (the caller holds both accounts' locks). Only the payer's floor and the payee's ceiling are
-- checked, so a move back toward an account's range is always allowed (DESIGN.md "Ledger").
-- refusal: null, 'credit_limit' (payer) or 'ceiling' (payee); available: the most that could
-- still move, in subunits; refused_account_id: the account that refused.
CREATE OR REPLACE FUNCTION public.ledger_limit_refusal(
    p_payer_account_id integer, p_payee_account_id integer, p_amount bigint,
    p_count_pending boolean DEFAULT true, p_exclude_transfer_id integer DEFAULT NULL,
    OUT refusal text, OUT available bigint, OUT refused_account_id integer)
RETURNS record
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    payer record;
    payee record;
BEGIN
    SELECT * INTO payer FROM ledger_positions(ARRAY[p_payer_account_id], p_count_pending,
                                              p_exclude_transfer_id);
    IF payer.floor IS NOT NULL AND p_amount > payer.can_still_spend THEN
        refusal := 'credit_limit';
        available := payer.can_still_spend;
        refused_account_id := p_payer_account_id;
        RETURN;
    END IF;
    SELECT * INTO payee FROM ledger_positions(ARRAY[p_payee_account_id], p_count_pending,
                                              p_exclude_transfer_id);
    IF payee.ceiling IS NOT NULL AND p_amount > payee.can_still_earn THEN
        refusal := 'ceiling';
        available := payee.can_still_earn;
        refused_account_id := p_payee_account_id;
    END IF;
END
$$;

-- Whether a transfer of p_amount that already fits the limits (ledger_limit_refusal) can
-- also pay its levies to the pot p_pot_account_id (the caller holds the three accounts'
-- locks; counting pending transfers as ledger_limit_refusal does). The payer pays the amount
-- and its levy from its room; the payee pays its levy from what it holds once paid (every
-- entry must respect its account's floor: `flask ledger verify`); the pot's ceiling takes
-- both levies. refusal: null, 'credit_limit' (the payer; available: its room less its levy),
-- 'levy_credit_limit' (the payee cannot pay its levy) or 'ceiling' (the pot);
-- refused_account_id: the account that refused.
CREATE OR REPLACE FUNCTION public.ledger_levy_refusal(
    p_payer_account_id integer, p_payee_account_id integer, p_pot_account_id integer,
    p_amount bigint, p_payer_levy bigint, p_payee_levy bigint,
    p_count_pending boolean DEFAULT true,
    OUT refusal text, OUT available bigint, OUT refused_account_id integer)
RETURNS record
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    held record;
BEGIN
    FOR held IN
        SELECT * FROM ledger_positions(
            ARRAY[p_payer_account_id, p_payee_account_id, p_pot_account_id], p_count_pending)
    LOOP
        IF held.account_id = p_payer_account_id AND held.floor IS NOT NULL
           AND p_amount + p_payer_levy > held.can_still_spend THEN
            refusal := 'credit_limit';
            available := greatest(0, held.can_still_spend - p_payer_levy);
        ELSIF held.account_id = p_payee_account_id AND p_payee_levy > 0
              AND held.floor IS NOT NULL
              AND held.balance - held.pending_out + p_amount - p_payee_levy
                  < held.floor THEN
            refusal := 'levy_credit_limit';
        ELSIF held.account_id = p_pot_account_id AND held.ceiling IS NOT NULL
              AND p_payer_levy + p_payee_levy > held.can_still_earn THEN
            refusal := 'ceiling';
            available := 0;
        END IF;
        IF refusal IS NOT NULL THEN
            refused_account_id := held.account_id;
            RETURN;
        END IF;
    END LOOP;
END
$$;

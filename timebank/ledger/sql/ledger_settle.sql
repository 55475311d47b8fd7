-- Settle a leaving member's balance in one currency with the group account (the community
-- pot), by a treasurer (the caller asked the policy): under the locks the member's balance is
-- read and moved whole, a positive one paid to the pot, a negative one paid off by it (kind
-- 'on_behalf', notice 'completed'). A suspended member may be settled; a retired currency
-- takes no new transfers; the pot's limits apply. transfer_id is null when the balance is
-- already zero. Refusals (nothing written): 'currency_mismatch', 'inactive_currency',
-- 'credit_limit', 'ceiling' (with available and refused_account_id).
CREATE OR REPLACE FUNCTION public.ledger_settle(
    p_group_id integer, p_account_id integer, p_pot_account_id integer, p_starter_id integer,
    p_description text, p_at timestamptz,
    OUT transfer_id integer, OUT refusal text, OUT available bigint,
    OUT refused_account_id integer)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    account record;
    payer integer;
    payee integer;
    limits record;
BEGIN
    PERFORM ledger_lock_accounts(p_group_id, ARRAY[p_account_id, p_pot_account_id]);
    SELECT a.balance, a.currency_id INTO account FROM accounts a
     WHERE a.group_id = p_group_id AND a.id = p_account_id;
    IF NOT FOUND OR account.balance = 0 THEN
        RETURN;
    END IF;
    IF account.balance > 0 THEN
        payer := p_account_id; payee := p_pot_account_id;
    ELSE
        payer := p_pot_account_id; payee := p_account_id;
    END IF;
    refusal := ledger_party_refusal(p_group_id, payer, payee, true);
    IF refusal IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO limits FROM ledger_limit_refusal(payer, payee, abs(account.balance));
    IF limits.refusal IS NOT NULL THEN
        refusal := limits.refusal;
        available := limits.available;
        refused_account_id := limits.refused_account_id;
        RETURN;
    END IF;
    transfer_id := ledger_post(p_group_id, account.currency_id, payer, payee,
                               abs(account.balance), p_description, 'on_behalf', 'completed',
                               p_starter_id, NULL, p_at);
END
$$;

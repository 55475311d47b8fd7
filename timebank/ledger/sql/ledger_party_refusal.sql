-- Whether two accounts may be the sides of a new or completing transfer (DESIGN.md "Ledger";
-- README "Ledger rules"). In this order:
--   'currency_mismatch'  an account is missing, in another group, or the currencies differ;
--   'inactive_party'     a member's membership is not active (suspended, pending, left) —
--                        unless p_allow_inactive_members (a reversal, a treasurer's settlement);
--   'inactive_currency'  the currency is retired: it takes no new transfers and completes no
--                        pending ones.
-- null when the transfer may go ahead. (PL/pgSQL so its query is planned once per connection.)
CREATE OR REPLACE FUNCTION public.ledger_party_refusal(
    p_group_id integer, p_payer_account_id integer, p_payee_account_id integer,
    p_allow_inactive_members boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT CASE
        WHEN count(*) < 2 OR min(a.currency_id) <> max(a.currency_id) THEN 'currency_mismatch'
        WHEN NOT p_allow_inactive_members
             AND bool_or(a.kind = 'member' AND m.status IS DISTINCT FROM 'active')
             THEN 'inactive_party'
        WHEN NOT bool_and(c.is_active) THEN 'inactive_currency'
    END
      FROM accounts a
      JOIN currencies c ON c.group_id = a.group_id AND c.id = a.currency_id
      LEFT JOIN memberships m ON m.group_id = a.group_id AND m.id = a.membership_id
     WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id));
END
$$;

-- Whether group p_payer_group_id may pay into group p_payee_group_id (timebank.trading):
-- both active, both opted in to network trading, and each trading with the other (with every
-- group that opted in, or the other chosen as a partner). 'not_trading' or null.
CREATE OR REPLACE FUNCTION public.ledger_trading_refusal(
    p_payer_group_id integer, p_payee_group_id integer)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT CASE WHEN count(*) = 2 THEN NULL ELSE 'not_trading' END
      FROM groups g
      JOIN groups other ON other.id = CASE WHEN g.id = p_payer_group_id
                                           THEN p_payee_group_id ELSE p_payer_group_id END
     WHERE g.id IN (p_payer_group_id, p_payee_group_id) AND p_payer_group_id <> p_payee_group_id
       AND g.status = 'active' AND g.trades_with_network
       AND (g.trades_with_all_groups
            OR EXISTS (SELECT 1 FROM trading_partners p
                        WHERE p.group_id = g.id AND p.partner_id = other.id)));
END
$$;

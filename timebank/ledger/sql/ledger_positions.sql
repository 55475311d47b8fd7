-- Where accounts stand, in subunits: balance, pending amounts, the limits in force and the
-- room left. "Room" is the limits rule with pending transfers counted: what an account may
-- still pay out is balance - pending out - floor, what it may still receive is
-- ceiling - balance - pending in, never below zero; null where there is no limit.
-- Every limit check (ledger_limit_refusal) and every page that shows headroom reads this.
-- p_count_pending false reads the hard limits alone (accepting a pending transfer: other
-- pending transfers are promises, not balances); p_exclude_transfer_id leaves one pending
-- transfer out (the one being edited).
CREATE OR REPLACE FUNCTION public.ledger_positions(
    p_account_ids integer[], p_count_pending boolean DEFAULT true,
    p_exclude_transfer_id integer DEFAULT NULL)
RETURNS TABLE (account_id integer, balance bigint, pending_out bigint, pending_in bigint,
               floor bigint, ceiling bigint, can_still_spend bigint, can_still_earn bigint)
LANGUAGE sql STABLE
AS $$
    SELECT a.id, a.balance, p.pending_out, p.pending_in, l.floor, l.ceiling,
           -- (greatest() skips nulls: no limit must stay null, not become 0)
           CASE WHEN l.floor IS NOT NULL
                THEN greatest(0, a.balance - p.pending_out - l.floor) END,
           CASE WHEN l.ceiling IS NOT NULL
                THEN greatest(0, l.ceiling - a.balance - p.pending_in) END
      FROM accounts a
      JOIN currencies c ON c.group_id = a.group_id AND c.id = a.currency_id
      CROSS JOIN LATERAL (
          SELECT ledger_floor(a.is_issuer, c.kind, a.min_balance, c.default_min_balance) AS floor,
                 ledger_ceiling(a.max_balance, c.default_max_balance) AS ceiling) l
      CROSS JOIN LATERAL (
          SELECT coalesce((SELECT sum(t.amount) FROM transfers t
                            WHERE p_count_pending AND t.state = 'pending' AND t.payer_account_id = a.id
                              AND t.id IS DISTINCT FROM p_exclude_transfer_id), 0)::bigint
                     AS pending_out,
                 coalesce((SELECT sum(t.amount) FROM transfers t
                            WHERE p_count_pending AND t.state = 'pending' AND t.payee_account_id = a.id
                              AND t.id IS DISTINCT FROM p_exclude_transfer_id), 0)::bigint
                     AS pending_in) p
     WHERE a.id = ANY (p_account_ids)
$$;

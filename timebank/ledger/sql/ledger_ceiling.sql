-- The ceiling in force (debit limit), in subunits; null means no ceiling.
-- An account's own max_balance wins over its currency's default.
CREATE OR REPLACE FUNCTION public.ledger_ceiling(p_max_balance bigint, p_default_max_balance bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(p_max_balance, p_default_max_balance)
$$;

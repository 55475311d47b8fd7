-- The credit limit in force (the floor), in subunits; null means no floor.
-- An account's own min_balance wins over its currency's default. In an issued currency every
-- holder is floored at zero whatever its limit says (DESIGN.md "Ledger": an issued currency's
-- issuer account alone is negative, by what it issued); the issuer has no floor unless one is
-- set on it.
CREATE OR REPLACE FUNCTION public.ledger_floor(
    p_is_issuer boolean, p_currency_kind currency_kind,
    p_min_balance bigint, p_default_min_balance bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_is_issuer THEN p_min_balance
        WHEN p_currency_kind = 'issued' THEN greatest(0, coalesce(p_min_balance, p_default_min_balance, 0))
        ELSE coalesce(p_min_balance, p_default_min_balance)
    END
$$;

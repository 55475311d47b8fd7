-- The value of p_amount subunits of a currency in network seconds (1 network hour = 3600),
-- exact for every subunit size a currency may have (60, 4, 100 or 1 per unit all divide 3600)
-- and hour_value's 4 decimals. Trade between groups converts through it.
CREATE OR REPLACE FUNCTION public.ledger_network_seconds(
    p_amount bigint, p_hour_value numeric, p_subunits_per_unit integer)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p_amount * p_hour_value * 3600 / p_subunits_per_unit
$$;

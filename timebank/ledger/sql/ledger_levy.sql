-- The levy on a transfer of p_amount subunits (timebank/ledger/levies.py, README "Levies"):
-- p_basis_points of the amount (100 = 1 %), ROUNDED DOWN to the subunit (integer division of
-- positive numbers), plus p_fixed; then raised to p_minimum and cut to p_maximum (either null:
-- none). Rounding down means the pot never receives more than the exact percentage: no value
-- is created, and a levy moves value, it never makes any. 0 means no levy.
CREATE OR REPLACE FUNCTION public.ledger_levy(
    p_amount bigint, p_basis_points integer, p_fixed bigint, p_minimum bigint,
    p_maximum bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT least(greatest(p_amount * p_basis_points / 10000 + p_fixed, p_minimum), p_maximum)
$$;

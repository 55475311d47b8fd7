-- Write the levies of transfer p_transfer_id, just completed (the caller holds the locks of
-- its accounts and of the pot, and checked ledger_levy_refusal): for each side with a levy, a
-- completed transfer of kind 'levy' from that side to the pot, linked by levied_on_id, with
-- the transfer's description, and its legs (ledger_write_legs; no notice of its own: the
-- transfer's notice tells of it). The payer's levy first, then the payee's.
CREATE OR REPLACE FUNCTION public.ledger_post_levies(
    p_group_id integer, p_currency_id integer, p_transfer_id integer,
    p_payer_account_id integer, p_payee_account_id integer, p_pot_account_id integer,
    p_payer_levy bigint, p_payee_levy bigint, p_description text, p_at timestamptz)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    side record;
    levy_id integer;
BEGIN
    FOR side IN
        SELECT * FROM (VALUES (1, p_payer_account_id, p_payer_levy),
                              (2, p_payee_account_id, p_payee_levy)) AS s(n, account_id, levy)
         WHERE s.levy > 0 ORDER BY s.n
    LOOP
        INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id,
                               amount, description, state, kind, levied_on_id, created_at,
                               completed_at)
        VALUES (p_group_id, p_currency_id, side.account_id, p_pot_account_id, side.levy,
                p_description, 'completed', 'levy', p_transfer_id, p_at, p_at)
        RETURNING id INTO levy_id;
        PERFORM ledger_write_legs(p_group_id, levy_id, side.account_id, p_pot_account_id,
                                  side.levy, p_at, NULL);
    END LOOP;
END
$$;

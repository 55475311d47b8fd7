-- A bulk entry, all legs or none: p_counterpart_account_id pays each of p_account_ids its
-- amount in p_amounts (one-to-many), or with p_collect each of them pays the counterpart
-- (many-to-one: a workshop fee, a work party). Kind 'bulk', one batch key for all legs
-- (p_batch_key; a repeated key returns the legs first written, created false). Locks every
-- account first (ledger_lock_accounts' order); each leg is checked with the rules of a new
-- transfer (ledger_party_refusal, ledger_limit_refusal with pending counted) against the
-- balances the earlier legs left, and written (notice 'completed'). When a leg is refused the
-- legs already written are undone (a subtransaction) and refusal names it: refused_leg is its
-- 1-based position, refusal 'inactive_party', 'inactive_currency', 'currency_mismatch',
-- 'credit_limit', 'ceiling' or 'levy_credit_limit' (with available and refused_account_id).
-- Levies: a leg between two members pays the levy of the currency's rule (ledger_levies),
-- checked with its leg (ledger_levy_refusal) and written after it (ledger_post_levies); the
-- pot is locked with the other accounts. A leg to or from a group account pays none.
CREATE OR REPLACE FUNCTION public.ledger_bulk(
    p_group_id integer, p_counterpart_account_id integer, p_account_ids integer[],
    p_amounts bigint[], p_collect boolean, p_description text, p_starter_id integer,
    p_batch_key text, p_at timestamptz,
    OUT transfer_ids integer[], OUT created boolean, OUT refusal text, OUT refused_leg integer,
    OUT available bigint, OUT refused_account_id integer)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    leg integer;
    payer integer;
    payee integer;
    currency integer;
    limits record;
    levies record;
    pot integer;
BEGIN
    created := false;
    SELECT a.currency_id INTO currency FROM accounts a
     WHERE a.group_id = p_group_id AND a.id = p_counterpart_account_id;
    -- The pot the legs' levies go to, if any leg pays one (the levy of the largest leg).
    SELECT * INTO levies FROM ledger_levies(p_group_id, currency,
                                            (SELECT max(x) FROM unnest(p_amounts) x), 'bulk');
    pot := levies.pot_account_id;
    PERFORM ledger_lock_accounts(p_group_id, p_counterpart_account_id || p_account_ids || pot);
    SELECT array_agg(t.id ORDER BY t.id) INTO transfer_ids FROM transfers t
     WHERE t.group_id = p_group_id AND t.batch_key = p_batch_key;
    IF transfer_ids IS NOT NULL THEN
        RETURN;
    END IF;
    transfer_ids := '{}';
    BEGIN
        FOR leg IN 1 .. coalesce(array_length(p_account_ids, 1), 0) LOOP
            IF p_collect THEN
                payer := p_account_ids[leg]; payee := p_counterpart_account_id;
            ELSE
                payer := p_counterpart_account_id; payee := p_account_ids[leg];
            END IF;
            refusal := ledger_party_refusal(p_group_id, payer, payee);
            IF refusal IS NULL THEN
                SELECT * INTO levies FROM ledger_levies(p_group_id, currency, p_amounts[leg],
                                                        'bulk', payer, payee);
                SELECT * INTO limits FROM ledger_limit_refusal(payer, payee, p_amounts[leg]);
                IF limits.refusal IS NULL AND levies.pot_account_id IS NOT NULL THEN
                    SELECT * INTO limits FROM ledger_levy_refusal(
                        payer, payee, levies.pot_account_id, p_amounts[leg], levies.payer_levy,
                        levies.payee_levy);
                END IF;
                refusal := limits.refusal;
                available := limits.available;
                refused_account_id := limits.refused_account_id;
            END IF;
            IF refusal IS NOT NULL THEN
                refused_leg := leg;
                RAISE EXCEPTION 'bulk leg % refused: %', leg, refusal USING ERRCODE = 'TB001';
            END IF;
            transfer_ids := transfer_ids
                || ledger_post(p_group_id, currency, payer, payee, p_amounts[leg],
                               p_description, 'bulk', 'completed', p_starter_id, NULL, p_at,
                               'completed', NULL, p_batch_key);
            IF levies.pot_account_id IS NOT NULL THEN
                PERFORM ledger_post_levies(p_group_id, currency, transfer_ids[leg], payer, payee,
                                           levies.pot_account_id, levies.payer_levy,
                                           levies.payee_levy, p_description, p_at);
            END IF;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'TB001' THEN
        transfer_ids := NULL;  -- the legs written in this block are undone with it
        RETURN;
    END;
    created := true;
END
$$;

-- Reverse a completed transfer (a treasurer's correction; the caller asked the policy): a
-- linked transfer of the same amount back from the payee to the payer, kind 'reversal',
-- p_reason as its description (notice 'reversed'). Limits do not block a reversal (DESIGN.md:
-- corrections are reversals), nor does a suspended member; but a retired currency takes no new
-- transfers, and in an issued currency no holder but the issuer goes below zero. A transfer
-- is reversed at most once: reversing again returns the first reversal (created false), as
-- does a repeated p_idempotency_key. A levied transfer's levies are reversed with it (each by
-- a reversal of its own, from the pot, after the transfer's; the pot is locked with the
-- accounts); a levy alone is never reversed. Refusals (nothing written): 'cannot_reverse'
-- (missing, not completed, itself a reversal, or a levy), 'inactive_currency',
-- 'reversal_would_overdraw', 'key_reused'.
CREATE OR REPLACE FUNCTION public.ledger_reverse(
    p_group_id integer, p_transfer_id integer, p_starter_id integer, p_reason text,
    p_idempotency_key text, p_at timestamptz,
    OUT transfer_id integer, OUT created boolean, OUT refusal text)
RETURNS record
LANGUAGE plpgsql
AS $$
DECLARE
    t transfers%ROWTYPE;
    twin record;
    payer record;
    levy transfers%ROWTYPE;
    pot integer;
    levied bigint;
BEGIN
    created := false;
    SELECT * INTO t FROM transfers WHERE group_id = p_group_id AND id = p_transfer_id;
    IF NOT FOUND OR t.state <> 'completed' OR t.kind IN ('reversal', 'levy') THEN
        refusal := 'cannot_reverse'; RETURN;
    END IF;
    -- Its levies (written with it, so read before the locks), all paid to one pot.
    SELECT max(l.payee_account_id), sum(l.amount) INTO pot, levied FROM transfers l
     WHERE l.group_id = p_group_id AND l.levied_on_id = t.id;
    PERFORM ledger_lock_accounts(p_group_id, ARRAY[t.payer_account_id, t.payee_account_id, pot]);
    -- Under the locks, so a concurrent twin finds this one (uq_transfers_reverses_id backs it).
    SELECT r.id INTO transfer_id FROM transfers r
     WHERE r.group_id = p_group_id AND r.reverses_id = t.id;
    IF transfer_id IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO twin FROM ledger_twin(p_group_id, p_idempotency_key, p_starter_id);
    IF twin.refusal IS NOT NULL OR twin.twin_id IS NOT NULL THEN
        refusal := twin.refusal;
        transfer_id := twin.twin_id;
        RETURN;
    END IF;
    refusal := ledger_party_refusal(p_group_id, t.payee_account_id, t.payer_account_id, true);
    IF refusal IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT a.balance, a.is_issuer, c.kind INTO payer
      FROM accounts a JOIN currencies c ON c.group_id = a.group_id AND c.id = a.currency_id
     WHERE a.id = t.payee_account_id;
    IF payer.kind = 'issued' AND NOT payer.is_issuer AND payer.balance - t.amount < 0 THEN
        refusal := 'reversal_would_overdraw'; RETURN;
    END IF;
    IF payer.kind = 'issued' AND (SELECT a.balance FROM accounts a WHERE a.id = pot) < levied THEN
        refusal := 'reversal_would_overdraw'; RETURN;   -- the pot has spent the levies
    END IF;
    transfer_id := ledger_post(p_group_id, t.currency_id, t.payee_account_id, t.payer_account_id,
                               t.amount, p_reason, 'reversal', 'completed', p_starter_id,
                               p_idempotency_key, p_at, 'reversed', t.id);
    FOR levy IN SELECT * FROM transfers l
                 WHERE l.group_id = p_group_id AND l.levied_on_id = t.id ORDER BY l.id
    LOOP
        PERFORM ledger_post(p_group_id, levy.currency_id, levy.payee_account_id,
                            levy.payer_account_id, levy.amount, p_reason, 'reversal',
                            'completed', p_starter_id, NULL, p_at, NULL, levy.id);
    END LOOP;
    created := true;
END
$$;

-- Write a new transfer whose rules the caller has checked under the accounts' locks: the
-- header, then for a completed transfer its legs (ledger_write_legs, notice p_event), for a
-- pending one the 'started' notice. Returns the new transfer's id.
CREATE OR REPLACE FUNCTION public.ledger_post(
    p_group_id integer, p_currency_id integer, p_payer_account_id integer,
    p_payee_account_id integer, p_amount bigint, p_description text, p_kind transfer_kind,
    p_state transfer_state, p_starter_id integer, p_idempotency_key text, p_at timestamptz,
    p_event text DEFAULT 'completed', p_reverses_id integer DEFAULT NULL,
    p_batch_key text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    new_id integer;
    completed boolean := p_state = 'completed';
BEGIN
    INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id, amount,
                           description, state, kind, starter_id, completer_id, reverses_id,
                           idempotency_key, batch_key, created_at, completed_at)
    VALUES (p_group_id, p_currency_id, p_payer_account_id, p_payee_account_id, p_amount,
            p_description, p_state, p_kind, p_starter_id,
            CASE WHEN completed THEN p_starter_id END, p_reverses_id, p_idempotency_key,
            p_batch_key, p_at, CASE WHEN completed THEN p_at END)
    RETURNING id INTO new_id;
    IF completed THEN
        PERFORM ledger_write_legs(p_group_id, new_id, p_payer_account_id, p_payee_account_id,
                                  p_amount, p_at, p_event);
    ELSE
        INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
        VALUES (p_group_id, new_id, 'started', now());
    END IF;
    RETURN new_id;
END
$$;

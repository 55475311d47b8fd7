-- The transfer already made with an idempotency key in this group, for a retried submission
-- (call it under the accounts' locks, so a concurrent twin has waited and now finds the first).
-- twin_id: that transfer, or null; refusal 'key_reused' when the key is another starter's (a
-- key never shows someone else's transfer).
CREATE OR REPLACE FUNCTION public.ledger_twin(
    p_group_id integer, p_idempotency_key text, p_starter_id integer,
    OUT twin_id integer, OUT refusal text)
RETURNS record
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    starter integer;
BEGIN
    IF p_idempotency_key IS NULL THEN
        RETURN;
    END IF;
    SELECT t.id, t.starter_id INTO twin_id, starter FROM transfers t
     WHERE t.group_id = p_group_id AND t.idempotency_key = p_idempotency_key;
    IF twin_id IS NOT NULL AND starter IS DISTINCT FROM p_starter_id THEN
        twin_id := NULL;
        refusal := 'key_reused';
    END IF;
END
$$;

-- Lock accounts FOR NO KEY UPDATE in ascending id order: the one global order that keeps two
-- transfers over the same accounts from deadlocking. "No key" still lets other transactions
-- insert rows that merely reference a locked account. Every ledger function locks through it
-- (a pending transfer's own row first, then its accounts). Returns how many were locked.
CREATE OR REPLACE FUNCTION public.ledger_lock_accounts(p_group_id integer, p_account_ids integer[])
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    locked integer;
BEGIN
    SELECT count(*) INTO locked FROM (
        SELECT a.id FROM accounts a
         WHERE a.group_id = p_group_id AND a.id = ANY (p_account_ids)
         ORDER BY a.id FOR NO KEY UPDATE) AS l;
    RETURN locked;
END
$$;

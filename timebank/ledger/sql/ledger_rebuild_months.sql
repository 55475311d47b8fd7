-- Rebuild a group's monthly totals (account_months) from its entries, each entry in its month
-- in the group's time zone as it is now: called in the transaction that changes the time zone
-- (timebank/ledger/settings.py), after the change. Locks the group's accounts first, in the
-- ledger's one order (ledger_lock_accounts), so it waits for the transfers writing now (their
-- rows are then rebuilt with the rest) and the next ones wait for it, then read the new time
-- zone; an account opened while it runs is not locked, a window too narrow to matter (and
-- `flask ledger verify` would report it). One full read of the group's entries: a rare act.
-- Returns how many month rows it wrote.
CREATE OR REPLACE FUNCTION public.ledger_rebuild_months(p_group_id integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    written integer;
BEGIN
    PERFORM ledger_lock_accounts(
        p_group_id, ARRAY(SELECT a.id FROM accounts a WHERE a.group_id = p_group_id));
    DELETE FROM account_months WHERE group_id = p_group_id;
    INSERT INTO account_months (group_id, account_id, month, incoming, outgoing, entry_count)
    SELECT e.group_id, e.account_id,
           CAST(date_trunc('month', timezone(coalesce(nullif(g.timezone, ''), 'UTC'),
                                             e.created_at)) AS date),
           coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0),
           coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0),
           count(*)
      FROM entries e JOIN groups g ON g.id = e.group_id
     WHERE e.group_id = p_group_id
     GROUP BY 1, 2, 3;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

-- Complete a transfer's money movement (the caller holds the accounts' locks and has checked
-- every rule): both cached balances, its two entries (the payer's -amount and the payee's
-- +amount, each with its account's balance after it, read back from the balance update), each
-- entry added to its account's month (account_months: the month of p_at in the group's time
-- zone), and the notice p_event for the mail outbox (none when p_event is null: a levy), in
-- one statement. The month rows are only those two accounts', whose locks the caller already
-- holds in the ledger's one order, so upserting them adds no lock order and no deadlock; and
-- ledger_rebuild_months takes the same locks before it rewrites a group's months. PL/pgSQL,
-- not SQL, so that its statement is planned once per connection (a SQL-language function is
-- planned at each call).
CREATE OR REPLACE FUNCTION public.ledger_write_legs(
    p_group_id integer, p_transfer_id integer, p_payer_account_id integer,
    p_payee_account_id integer, p_amount bigint, p_at timestamptz, p_event text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    WITH balances AS (
        UPDATE accounts a
           SET balance = a.balance
                         + CASE WHEN a.id = p_payer_account_id THEN -p_amount ELSE p_amount END
         WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id)
        RETURNING a.id, a.balance
    ), notice AS (
        INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
        SELECT p_group_id, p_transfer_id, p_event, now() WHERE p_event IS NOT NULL
    ), legs AS (
        INSERT INTO entries (group_id, transfer_id, account_id, amount, balance_after,
                             created_at)
        SELECT p_group_id, p_transfer_id, b.id,
               CASE WHEN b.id = p_payer_account_id THEN -p_amount ELSE p_amount END, b.balance,
               p_at
          FROM balances b
         ORDER BY b.id = p_payee_account_id
        RETURNING account_id, amount
    )
    INSERT INTO account_months AS m (group_id, account_id, month, incoming, outgoing,
                                     entry_count)
    SELECT p_group_id, l.account_id,
           CAST(date_trunc('month', timezone(coalesce(nullif(g.timezone, ''), 'UTC'), p_at))
                AS date),
           greatest(l.amount, 0), greatest(-l.amount, 0), 1
      FROM legs l CROSS JOIN groups g
     WHERE g.id = p_group_id
        ON CONFLICT (group_id, account_id, month) DO UPDATE
       SET incoming = m.incoming + excluded.incoming,
           outgoing = m.outgoing + excluded.outgoing,
           entry_count = m.entry_count + 1;
END
$$;

-- Complete a transfer's money movement (the caller holds the accounts' locks and has checked
-- every rule): both cached balances, its two entries (the payer's -amount and the payee's
-- +amount, each with its account's balance after it, read back from the balance update), and
-- the notice p_event for the mail outbox (none when p_event is null: a levy), in one
-- statement. PL/pgSQL, not SQL, so that its statement is planned once per connection (a
-- SQL-language function is planned at each call).
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
    )
    INSERT INTO entries (group_id, transfer_id, account_id, amount, balance_after, created_at)
    SELECT p_group_id, p_transfer_id, b.id,
           CASE WHEN b.id = p_payer_account_id THEN -p_amount ELSE p_amount END, b.balance, p_at
      FROM balances b
     ORDER BY b.id = p_payee_account_id;
END
$$;

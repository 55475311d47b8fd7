-- Complete a transfer's money movement (the caller holds the accounts' locks and has checked
-- every rule): its two entries (the payer's -amount and the payee's +amount), both cached
-- balances, and the notice p_event for the mail outbox, in one statement.
CREATE OR REPLACE FUNCTION public.ledger_write_legs(
    p_group_id integer, p_transfer_id integer, p_payer_account_id integer,
    p_payee_account_id integer, p_amount bigint, p_at timestamptz, p_event text)
RETURNS void
LANGUAGE sql
AS $$
    WITH lines AS (
        INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)
        VALUES (p_group_id, p_transfer_id, p_payer_account_id, -p_amount, p_at),
               (p_group_id, p_transfer_id, p_payee_account_id, p_amount, p_at)
    ), notice AS (
        INSERT INTO transfer_notices (group_id, transfer_id, event, created_at)
        VALUES (p_group_id, p_transfer_id, p_event, now())
    )
    UPDATE accounts a
       SET balance = a.balance
                     + CASE WHEN a.id = p_payer_account_id THEN -p_amount ELSE p_amount END
     WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id);
$$;

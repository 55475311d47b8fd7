-- The levies due on a transfer of p_amount subunits of p_currency_id, under the currency's
-- levy rule now (ledger_levy): payer_levy and payee_levy in subunits (0: none; with
-- levy_charged_to 'both' each side pays the whole levy) and pot_account_id, the community pot
-- they are paid to (the group's first account in the currency that is neither an issuer nor a
-- clearing account; null when nothing is due). Levied: a payment, request, on-behalf entry,
-- bulk leg or standing order's run between two members' accounts. Not levied: reversals,
-- issuance, levies themselves, fees and demurrage (they go to the pot), anything to or from
-- a group account (the pot, an issuer, a settlement) and the legs of a payment between groups (they run through clearing accounts). p_payer_account_id and
-- p_payee_account_id are checked to be members' accounts when given; ledger_transfer, paying
-- between two memberships, gives none. Call it before locking: the pot joins the lock set.
CREATE OR REPLACE FUNCTION public.ledger_levies(
    p_group_id integer, p_currency_id integer, p_amount bigint, p_kind transfer_kind,
    p_payer_account_id integer DEFAULT NULL, p_payee_account_id integer DEFAULT NULL,
    OUT pot_account_id integer, OUT payer_levy bigint, OUT payee_levy bigint)
RETURNS record
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    levy bigint;
    charged_to text;
BEGIN
    payer_levy := 0;
    payee_levy := 0;
    IF p_kind NOT IN ('payment', 'request', 'on_behalf', 'bulk', 'standing_order') THEN
        RETURN;
    END IF;
    SELECT ledger_levy(p_amount, c.levy_basis_points, c.levy_fixed, c.levy_minimum,
                       c.levy_maximum), c.levy_charged_to
      INTO levy, charged_to
      FROM currencies c
     WHERE c.group_id = p_group_id AND c.id = p_currency_id
       AND (c.levy_basis_points > 0 OR c.levy_fixed > 0 OR c.levy_minimum > 0);
    IF coalesce(levy, 0) <= 0 THEN
        RETURN;
    END IF;
    IF p_payer_account_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM accounts a
         WHERE a.group_id = p_group_id AND a.id IN (p_payer_account_id, p_payee_account_id)
           AND a.kind <> 'member') THEN
        RETURN;
    END IF;
    SELECT a.id INTO pot_account_id FROM accounts a
     WHERE a.group_id = p_group_id AND a.currency_id = p_currency_id AND a.kind = 'group'
       AND NOT a.is_issuer AND NOT a.is_clearing
     ORDER BY a.id LIMIT 1;
    IF pot_account_id IS NULL THEN
        RETURN;  -- setting a levy opens the pot (timebank/ledger/levies.py): never here
    END IF;
    payer_levy := CASE WHEN charged_to IN ('payer', 'both') THEN levy ELSE 0 END;
    payee_levy := CASE WHEN charged_to IN ('payee', 'both') THEN levy ELSE 0 END;
END
$$;

"""The ledger's write API in one import: ``from timebank.ledger import service as ledger``.

The rules live in the modules this one gathers (each states the rules it enforces):

* :mod:`timebank.ledger.sql` — the rules: every state change of a transfer, as SQL functions;
* :mod:`timebank.ledger.functions` — calling them, and their refusals as typed errors;
* :mod:`timebank.ledger.accounts` — finding and opening accounts;
* :mod:`timebank.ledger.limits` — positions (balance, pending, room) and recorded limit changes;
* :mod:`timebank.ledger.transfers` — payments, requests, on-behalf entries, two-step life;
* :mod:`timebank.ledger.corrections` — reversals, bulk entries, issuance, settlements, ratings;
* :mod:`timebank.ledger.currencies` — a group's currencies;

Functions take keyword-only arguments, raise :class:`~timebank.ledger.errors.LedgerError`
subclasses, and never commit: the request, job or CLI command commits once.
"""

from timebank.ledger.accounts import (
    account_for,
    accounts_of,
    active_currencies,
    currency_by_code,
    default_currency,
    group_account,
    issuer_account,
    open_account,
    open_accounts_for_members,
)
from timebank.ledger.corrections import (
    average_rating,
    bulk_transfer,
    issue,
    rate_transfer,
    reversal_of,
    reverse_transfer,
    settle_account,
)
from timebank.ledger.limits import (
    Position,
    limit_history,
    position,
    positions,
    set_currency_defaults,
    set_limits,
)
from timebank.ledger.transfers import (
    DESCRIPTION_MAX,
    accept_transfer,
    decline_transfer,
    edit_transfer,
    pay,
    record_on_behalf,
    request_payment,
    transfer_between,
    withdraw_transfer,
)

__all__ = [
    "DESCRIPTION_MAX",
    "Position",
    "accept_transfer",
    "account_for",
    "accounts_of",
    "active_currencies",
    "average_rating",
    "bulk_transfer",
    "currency_by_code",
    "decline_transfer",
    "default_currency",
    "edit_transfer",
    "group_account",
    "issue",
    "issuer_account",
    "limit_history",
    "open_account",
    "open_accounts_for_members",
    "pay",
    "position",
    "positions",
    "rate_transfer",
    "record_on_behalf",
    "request_payment",
    "reversal_of",
    "reverse_transfer",
    "set_currency_defaults",
    "set_limits",
    "settle_account",
    "transfer_between",
    "withdraw_transfer",
]

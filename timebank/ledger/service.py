"""The ledger's write API in one import: ``from timebank.ledger import service as ledger``.

The rules live in the modules this one gathers (each states the rules it enforces):

* :mod:`timebank.ledger.accounts` — finding, opening and locking accounts;
* :mod:`timebank.ledger.limits` — credit limits and ceilings, pending amounts, recorded changes;
* :mod:`timebank.ledger.transfers` — payments, requests, on-behalf entries, two-step life;
* :mod:`timebank.ledger.corrections` — reversals, bulk entries, issuance, ratings;
* :mod:`timebank.ledger.currencies` — a group's currencies;
* :mod:`timebank.ledger.boundary` — commit with a bounded retry on deadlock.

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
    lock_accounts,
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
)
from timebank.ledger.limits import (
    Position,
    check_limits,
    limit_history,
    pending_totals,
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
    "check_limits",
    "currency_by_code",
    "decline_transfer",
    "default_currency",
    "edit_transfer",
    "group_account",
    "issue",
    "issuer_account",
    "limit_history",
    "lock_accounts",
    "open_account",
    "open_accounts_for_members",
    "pay",
    "pending_totals",
    "position",
    "positions",
    "rate_transfer",
    "record_on_behalf",
    "request_payment",
    "reversal_of",
    "reverse_transfer",
    "set_currency_defaults",
    "set_limits",
    "transfer_between",
    "withdraw_transfer",
]

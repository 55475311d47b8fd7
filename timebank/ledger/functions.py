"""Calling the ledger's database functions (``timebank/ledger/sql/``) from the services.

:func:`call` runs one function on the session's own connection, in its transaction, through
psycopg's public cursor API (one round trip; psycopg sends ``BEGIN`` first when the call opens
the transaction — its pipeline mode, which would save that round trip, measured slower in
Python, bench/RESULTS.md). :func:`refusal_error` turns a function's refusal into the typed
error a person sees.

A lost connection, or a call cut by the server's ``statement_timeout``, ends in
:class:`~timebank.ledger.errors.LedgerUnavailable` (the connection is dropped from the pool);
deadlocks and serialization failures propagate as psycopg's own errors, which the transaction
boundary retries (:func:`timebank.boundary.is_retryable`).
"""

from functools import cache

import psycopg
from psycopg import errors as pg_errors

from timebank.extensions import db
from timebank.ledger.errors import (
    CannotReverse,
    CeilingExceeded,
    CreditLimitExceeded,
    CurrencyMismatch,
    InactiveCurrency,
    InactiveParty,
    KeyReused,
    LedgerError,
    LedgerUnavailable,
    LevyBeyondLimit,
    NotPending,
    ReversalWouldOverdraw,
    SameAccount,
)
from timebank.models import Account
from timebank.tenants.rls import align_row_security


@cache
def _query(function: str, arguments: int) -> str:
    placeholders = ", ".join(["%s"] * arguments)
    return f"SELECT * FROM {function}({placeholders})"


def call(function: str, *arguments) -> tuple:
    """Return the row ``function(*arguments)`` answers, run in the session's transaction.

    ``function`` is one of :data:`timebank.ledger.sql.NAMES`; ``arguments`` are its inputs in
    order (ints, strings, lists, None, aware datetimes). Pending ORM changes are flushed first
    so the function sees them. Raises :class:`LedgerUnavailable` when the connection is lost or
    the statement times out, and psycopg's errors otherwise; either way the transaction is
    aborted and must be rolled back.
    """
    session = db.session()
    session.flush()
    connection = session.connection()
    align_row_security(connection)  # the call below passes SQLAlchemy's statement events by
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor:
            cursor.execute(_query(function, len(arguments)), arguments)
            return cursor.fetchone()
    except psycopg.OperationalError as error:
        if driver.broken:
            connection.invalidate(error)
            raise LedgerUnavailable() from error
        if isinstance(error, pg_errors.QueryCanceled):
            raise LedgerUnavailable() from error
        raise


_REFUSALS: dict[str, type[LedgerError]] = {
    "same_account": SameAccount,
    "inactive_party": InactiveParty,
    "inactive_currency": InactiveCurrency,
    "currency_mismatch": CurrencyMismatch,
    "key_reused": KeyReused,
    "not_pending": NotPending,
    "cannot_reverse": CannotReverse,
    "reversal_would_overdraw": ReversalWouldOverdraw,
}
_LIMIT_REFUSALS = {"credit_limit": CreditLimitExceeded, "ceiling": CeilingExceeded}


def refusal_error(
    refusal: str, *, available: int | None = None, account_id: int | None = None
) -> LedgerError:
    """Return the typed error for a ledger function's ``refusal``: a limit refusal names the
    refused account and the most that could still move (``available``, in subunits)."""
    if refusal == "levy_credit_limit":
        return LevyBeyondLimit(name=db.session.get(Account, account_id).display_name)
    if refusal in _LIMIT_REFUSALS:
        account = db.session.get(Account, account_id)
        return _LIMIT_REFUSALS[refusal](
            available=available, currency=account.currency, name=account.display_name
        )
    return _REFUSALS[refusal]()

"""The ledger's hot path: one call of the database function ``ledger_transfer`` through libpq.

Every new transfer (payment, request, on-behalf entry) is written by ``ledger_transfer``
(:func:`timebank.ledger.transfers.post_transfer` holds the rules; the function's source is in
``migrations/versions/da1b2c3d4e5f_ledger_entries_are_legs.py``). The call itself is the one
place where the app's own CPU decides how many transfers a server can take, so it speaks to
libpq through psycopg's ``pgconn`` instead of a cursor or SQLAlchemy's statement machinery,
which cost more client CPU than the database spends on the transfer (``bench/RESULTS.md``):

* the statement is prepared once per database connection, remembered in the pool's
  per-connection ``info``; psycopg's own automatic preparation is turned off
  (:func:`keep_prepared_statements`), because psycopg deallocates *every* prepared statement
  on a rollback once it has prepared one of its own;
* when the call is the first statement of the session's transaction, ``BEGIN`` goes in the same
  round trip (libpq's pipeline mode);
* parameters and results travel as text.

Database errors are raised as psycopg's own (:func:`timebank.ledger.boundary.is_retryable`
knows them); the caller's transaction is then aborted and must be rolled back.
"""

import select
from datetime import datetime
from typing import NamedTuple

import psycopg
from psycopg import pq

STATEMENT = b"timebank_ledger_transfer"
SQL = (
    b"SELECT transfer_id, created, refusal, available, refused_account_id, payer_account_id,"
    b" payee_account_id FROM ledger_transfer($1::integer, $2::integer, $3::integer,"
    b" $4::integer, $5::integer, $6::integer, $7::bigint, $8::text, $9::transfer_kind,"
    b" $10::transfer_state, $11::integer, $12::text, $13::timestamptz)"
)


class Posted(NamedTuple):
    """What ``ledger_transfer`` answered: the transfer's id (the new one or its idempotent
    twin; None on refusal), whether it was created, the refusal's name, the subunits that
    could still move (limit refusals), the refused account and both accounts' ids."""

    transfer_id: int | None
    created: bool
    refusal: str | None
    available: int | None
    refused_account_id: int | None
    payer_account_id: int | None
    payee_account_id: int | None


def call_ledger_transfer(session, params: tuple) -> Posted:
    """Run ``ledger_transfer(*params)`` on ``session``'s connection, in its transaction.

    ``params`` are the function's 13 arguments in order (ints, strings, None, an aware
    datetime). Pending ORM changes are flushed first so the function sees them. The
    transaction is begun as psycopg would begin it (the engine sets no isolation level: READ
    COMMITTED, whose row locks re-read rows). Raises psycopg's errors.
    """
    session.flush()
    proxied = session.connection().connection
    driver = proxied.driver_connection
    pgconn = driver.pgconn
    if not proxied.info.get(STATEMENT):
        _checked(driver, pgconn.prepare(STATEMENT, SQL))
        proxied.info[STATEMENT] = True
    values = [_as_text(value) for value in params]
    if pgconn.transaction_status == pq.TransactionStatus.IDLE:
        result = _begin_and_call(driver, pgconn, values)
    else:
        result = _checked(driver, pgconn.exec_prepared(STATEMENT, values))
    transfer_id, created, refusal, available, refused, payer_account, payee_account = (
        result.get_value(0, column) for column in range(7)
    )
    return Posted(
        _as_int(transfer_id), created == b"t", refusal and refusal.decode(), _as_int(available),
        _as_int(refused), _as_int(payer_account), _as_int(payee_account),
    )


def keep_prepared_statements(dbapi_connection, connection_record) -> None:
    """Engine ``connect`` hook: turn off psycopg's automatic preparation on a new connection,
    so that psycopg never deallocates the ledger's statement. Registered by ``create_app``."""
    dbapi_connection.prepare_threshold = None


def _begin_and_call(driver, pgconn, values: list):
    """Send ``BEGIN`` and the call in one round trip; return the call's result."""
    pgconn.enter_pipeline_mode()
    try:
        pgconn.send_query_params(b"BEGIN", None)
        pgconn.send_query_prepared(STATEMENT, values)
        pgconn.pipeline_sync()
        while pgconn.flush():  # non-blocking connection: wait until all is sent
            select.select([], [pgconn.socket], [])
        results = []
        while (result := pgconn.get_result()) is None or (
            result.status != pq.ExecStatus.PIPELINE_SYNC
        ):
            if result is not None:  # None separates one query's results from the next
                results.append(result)
    finally:
        pgconn.exit_pipeline_mode()
    for result in results:
        _checked(driver, result)
    return results[-1]


def _checked(driver, result):
    """Return libpq's ``result``, or raise the psycopg error it carries."""
    if result.status == pq.ExecStatus.FATAL_ERROR:
        raise psycopg.errors.error_from_result(result, encoding=driver.info.encoding)
    return result


def _as_text(value) -> bytes | None:
    if value is None:
        return None
    return (value.isoformat() if isinstance(value, datetime) else str(value)).encode()


def _as_int(value: bytes | None) -> int | None:
    return None if value is None else int(value)

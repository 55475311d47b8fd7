"""The transaction boundary for ledger writes: commit once, retrying a bounded number of times.

Ledger writes lock accounts in one fixed order, so deadlocks between them should not happen;
but other writers, serialization failures and two submissions racing on one idempotency key
can still make PostgreSQL abort a transaction. Those aborts are safe to retry: the whole
operation is run again from the start in a fresh transaction, and a person never sees them.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from timebank.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 5
# SQLSTATEs: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# Unique indexes a racing twin can hit; on retry the service finds the first row and returns it.
RETRYABLE_CONSTRAINTS = frozenset(
    {"uq_transfers_group_id_idempotency_key", "uq_transfers_reverses_id"}
)


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` is a transient abort that running the transaction again can cure.

    ``error`` may be SQLAlchemy's wrapper or psycopg's own error (the ledger's hot path,
    :mod:`timebank.ledger.hot_path`, calls libpq through psycopg directly).
    """
    orig = error.orig if isinstance(error, DBAPIError) else error
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg's errors carry it
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    return sqlstate == "23505" and constraint in RETRYABLE_CONSTRAINTS


def commit_with_retry(operation: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Run ``operation()`` and commit; on a transient abort roll back and run it again.

    Returns what ``operation`` returned. At most ``attempts`` runs, with a short random
    back-off. Any other error (a :class:`~timebank.ledger.errors.LedgerError`, say) rolls back
    and propagates at once; so does the last transient one.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = operation()
            db.session.commit()
            return result
        except Exception as error:
            db.session.rollback()
            if attempt == attempts or not is_retryable(error):
                raise
            log.info("ledger transaction aborted (%s); retry %d", error, attempt)
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")

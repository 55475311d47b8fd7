"""Moved: the transaction boundary lives in :mod:`timebank.boundary`.

Kept so older imports (the bench, the concurrency tests) still work: ``commit_with_retry`` is
:func:`timebank.boundary.run_in_transaction`.
"""

from timebank.boundary import (  # noqa: F401
    ATTEMPTS,
    RETRYABLE_CONSTRAINTS,
    RETRYABLE_SQLSTATES,
    is_retryable,
)
from timebank.boundary import run_in_transaction as commit_with_retry  # noqa: F401

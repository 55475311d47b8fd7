"""The transaction boundary: the one place that commits or rolls back.

Routes, services and job bodies never call ``db.session.commit()`` or ``rollback()``. Three
boundaries own the transaction instead, all built on :func:`run_in_transaction`:

* **a request** — :class:`TransactionalFlask` runs each view in a transaction: it commits when
  the view returns a response below 400, rolls back on an exception or a response of 400 or more
  (or after :func:`roll_back_at_end`), and re-runs the view when PostgreSQL aborted it with a
  transient error (:func:`is_retryable`). Writes outside a view (a ``before_request`` hook, an
  error page) are settled the same way by :func:`install_request_boundary`.
* **a job** — :func:`timebank.tasks.run_job` runs the job's function through
  :func:`run_in_transaction`, with its group restored.
* **a CLI command** — commands of a :class:`TransactionalGroup` (``flask ledger``, ``flask
  network``, …) run through :func:`run_in_transaction` too.

A view that must wait on another server (the fediverse inbox fetches the sender's key) is
marked :func:`in_steps`: it runs its reads and its writes as steps, each through
:func:`run_in_transaction`, and waits between them with no transaction open, so a slow or
unreachable server holds no connection and no lock.

Mail and jobs wait for the commit: :func:`timebank.tasks.enqueue` records a job on the session,
the session's ``after_commit`` event hands it to the queue, and a rollback drops it. Mail is
sent by jobs (:mod:`timebank.mail`), so it leaves only when the data it speaks of is committed.

A job or command that must show progress to someone (provisioning, an export) is written as
steps, each one ``run_in_transaction(step, ...)``: every step commits, or rolls back and is
retried, on its own.

So a route that catches a service's typed error (:class:`timebank.user_errors.UserError`) and
shows it must make the boundary roll back, since the service may have written part of its work
before refusing: re-render the form with status 422, or — when it redirects with a flash message —
call :func:`roll_back_at_end` first.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, request, session
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError

from timebank.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 5  # runs of one transaction at most: the first and four retries
# SQLSTATEs: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# Unique indexes a racing twin can hit; on retry the service finds the first row and returns it.
RETRYABLE_CONSTRAINTS = frozenset(
    {"uq_transfers_group_id_idempotency_key", "uq_transfers_reverses_id"}
)
_ROLL_BACK = "timebank_roll_back_at_end"


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` is a transient abort that running the transaction again can cure.

    True for a deadlock or a serialization failure, and for a unique violation on one of
    :data:`RETRYABLE_CONSTRAINTS`. ``error`` may be SQLAlchemy's wrapper or psycopg's own error
    (the ledger calls psycopg directly on its hot path).
    """
    orig = error.orig if isinstance(error, DBAPIError) else error
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg's errors carry it
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    return sqlstate == "23505" and constraint in RETRYABLE_CONSTRAINTS


def _pause_before_retry(attempt: int, error: BaseException) -> None:
    log.info("transaction aborted (%s); retry %d", error, attempt)
    time.sleep(random.uniform(0, 0.005 * 2**attempt))  # up to 10, 20, 40, 80 ms


def run_in_transaction(operation: Callable[..., T], *args: Any, attempts: int = ATTEMPTS,
                       **kwargs: Any) -> T:
    """Run ``operation(*args, **kwargs)`` and commit; roll back if it raises.

    Returns what ``operation`` returned. A transient abort (:func:`is_retryable`), raised by the
    operation or by the commit, rolls back and runs the operation again from the start, at most
    ``attempts`` times in all, after a short random pause; any other exception (``SystemExit``
    and ``KeyboardInterrupt`` included) rolls back and propagates at once, and so does the last
    transient one. Jobs recorded with :func:`timebank.tasks.enqueue` leave on the commit and
    are dropped by the rollback.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = operation(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException as error:
            db.session.rollback()
            if attempt == attempts or not is_retryable(error):
                raise
            _pause_before_retry(attempt, error)
    raise AssertionError("unreachable")


def roll_back_at_end() -> None:
    """Make the current request (or job or command) roll back instead of committing.

    For a route that catches a typed service error and answers with a redirect and a flash
    message: the status is below 400, but nothing the service wrote may stay.
    """
    g.setdefault(_ROLL_BACK, True)


def _must_roll_back(response) -> bool:
    return response.status_code >= 400 or g.pop(_ROLL_BACK, False)


def in_steps(view: Callable[..., T]) -> Callable[..., T]:
    """Mark ``view`` as running its own transactions: :class:`TransactionalFlask` calls it
    without one around it, and the view runs each step through :func:`run_in_transaction`.
    Its first step also commits what the ``before_request`` hooks read (the tenant's group);
    between steps no transaction is open (touch no ORM object, which would open one)."""
    view.runs_in_steps = True
    return view


class TransactionalFlask(Flask):
    """Flask whose views each run in one transaction (see the module's docstring), except the
    views marked :func:`in_steps`."""

    def dispatch_request(self):
        """Run the view; commit if its response is below 400, else roll back; re-run it after
        a transient abort (at most :data:`ATTEMPTS` runs). Returns a response object."""
        rule = request.url_rule
        if rule is not None and getattr(self.view_functions.get(rule.endpoint),
                                        "runs_in_steps", False):
            return self.make_response(super().dispatch_request())
        saved_session = dict(session)  # flash messages and logins of a failed run are undone
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.make_response(super().dispatch_request())
                if _must_roll_back(response):
                    db.session.rollback()
                else:
                    db.session.commit()
                return response
            except BaseException as error:
                db.session.rollback()
                g.pop(_ROLL_BACK, None)
                if attempt == ATTEMPTS or not is_retryable(error):
                    raise
                _pause_before_retry(attempt, error)
                session.clear()
                session.update(saved_session)
                for upload in request.files.values():  # the next run reads them again
                    upload.stream.seek(0)
        raise AssertionError("unreachable")


def install_request_boundary(app: Flask) -> None:
    """Settle what was written outside the view: commit after a response below 400 (a
    ``before_request`` hook's write), roll back after an error response or an exception."""

    @app.after_request
    def settle(response):
        if _must_roll_back(response):
            db.session.rollback()
        else:
            db.session.commit()
        return response

    @app.teardown_request
    def roll_back_on_error(error):
        if error is not None:
            db.session.rollback()


def in_command_transaction(callback: Callable[..., T]) -> Callable[..., T]:
    """Wrap a CLI command's callback so it runs through :func:`run_in_transaction`."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        return run_in_transaction(callback, *args, **kwargs)

    return run


class TransactionalGroup(AppGroup):
    """A ``flask`` command group whose commands each run in one transaction: commit when the
    command returns, roll back when it raises or exits (``click.ClickException``,
    ``SystemExit``), retry a transient abort. ``@group.command(..., transaction=False)`` opts
    out (a command that serves requests, each with its own boundary)."""

    def command(self, *args, **kwargs):
        transactional = kwargs.pop("transaction", True)
        decorate = super().command(*args, **kwargs)

        def decorator(callback):
            return decorate(in_command_transaction(callback) if transactional else callback)

        return decorator

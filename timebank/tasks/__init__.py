"""The queue's plumbing, and nothing else: enqueue after commit, run a job with its group restored.

Jobs themselves live with their features (``provisioning/jobs.py``, ``portability/jobs.py``,
``marketplace/digest.py``, ``ledger/notify.py``, mail in :mod:`timebank.mail`); this package
imports none of them: :func:`run_job` finds a job by its dotted name.

``enqueue(func, *ids)`` records a job on the session; when the session commits, each recorded
job goes to the rq queue on ``REDIS_URL``. With no Redis configured (or ``JOBS_SYNC`` in tests)
the job instead runs in-process when the app context ends, after the transaction is over and its
connection is back in the pool; a failure there is logged, never raised into a request whose data
is already committed. A rollback drops recorded jobs. Jobs take ids, never ORM objects, and open
their own app context (see :func:`run_job`).

A job enqueued with ``retry=Retry(max=..., interval=[...])`` (rq's) that raises runs again after
each interval in turn: on Redis, rq re-queues it (workers run ``--with-scheduler`` so that
intervals are kept); in-process, a timer thread runs it again (see :func:`_run_now`).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app, g, has_app_context
from rq import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from timebank.extensions import db, redis_client

log = logging.getLogger(__name__)
_PENDING = "timebank_pending_jobs"
ONCE_PREFIX = "timebank:once:"
ONCE_TTL = 60  # seconds: a "once" mark outlives a job lost with its worker by at most this
ONCE_RECHECK = 0.1  # seconds between two looks at one mark from one process
_marks_seen: dict[str, float] = {}


def enqueue(func: Callable, *args, group_id: int | None = None, once: bool = False,
            retry: Retry | None = None) -> None:
    """Schedule ``func(*args)`` to run after the current transaction commits.

    ``args`` must be plain values (ids, strings). ``group_id`` is restored as the tenant while
    the job runs. ``once`` is for jobs that sweep up work stored in the database (an outbox):
    at most one such job with the same arguments waits in the queue at a time; it forgets its
    mark in Redis as it starts, so work committed after that start schedules the next one. Such
    a job must also run on a schedule (``rq cron``): a process under load looks at the mark at
    most every ``ONCE_RECHECK`` seconds, so work committed just after a job started may wait
    for the next transaction's job or for the sweep. ``retry`` runs the job again when it
    raises, ``retry.max`` times at most, waiting ``retry.intervals`` seconds as rq counts them
    (with one interval per retry, the n-th retry waits the n-th); None: a failed job stays
    failed.
    """
    app = current_app._get_current_object()
    job = (app, func, args, group_id, once, retry)
    pending = db.session.info.setdefault(_PENDING, [])
    if not (once and job in pending):
        pending.append(job)


@contextmanager
def discard_new_jobs() -> Iterator[None]:
    """Drop the jobs recorded on the current session inside this block; they never run.

    Jobs wait on the session until it commits, so those recorded here are removed before
    anything is dispatched; jobs recorded before the block are kept. Do not commit inside it.
    """
    before = len(db.session.info.get(_PENDING, []))
    try:
        yield
    finally:
        pending = db.session.info.get(_PENDING)
        if pending is not None:
            del pending[before:]


def _dispatch(session: Session) -> None:
    for app, func, args, group_id, once, retry in session.info.pop(_PENDING, []):
        target = f"{func.__module__}.{func.__qualname__}"
        if app.config.get("REDIS_URL") and not app.config.get("JOBS_SYNC"):
            once_key = f"{ONCE_PREFIX}{target}:{args!r}:{group_id}" if once else None
            if once_key and not _mark_once(app, once_key):
                continue  # one is already waiting; it will see this transaction's rows
            queue(app).enqueue(run_job, target, args, group_id, once_key=once_key,
                               retry=retry)
        elif has_app_context():
            g.setdefault("ready_jobs", []).append((app, target, args, group_id, retry))
        else:
            _run_now(app, target, args, group_id, retry)


def _mark_once(app, once_key: str) -> bool:
    """Set the Redis mark of a ``once`` job; False if it was already set (a job is waiting).

    A busy process asks Redis at most every ``ONCE_RECHECK`` seconds per mark: in between it
    takes the mark for set. Work committed in that gap just after a job started is picked up
    by the next job, or by the job's cron sweep (see :func:`enqueue`).
    """
    now = time.monotonic()
    if now - _marks_seen.get(once_key, -ONCE_RECHECK) < ONCE_RECHECK:
        return False
    _marks_seen[once_key] = now
    return bool(redis_client(app).set(once_key, 1, nx=True, ex=ONCE_TTL))


def _run_ready_jobs(error: BaseException | None = None) -> None:
    """``teardown_appcontext``: run the jobs whose transaction committed in this context."""
    for app, target, args, group_id, retry in g.pop("ready_jobs", []):
        _run_now(app, target, args, group_id, retry)


def _run_now(app, target: str, args: tuple, group_id: int | None, retry: Retry | None = None,
             retries_done: int = 0) -> None:
    """Run a job in this process; if it fails and ``retry`` allows another run, start a timer
    thread that runs it again after the next interval (nobody waits for it; a retry pending
    when the process exits is lost, as in-process jobs are)."""
    try:
        if app.config.get("REDIS_URL"):  # JOBS_SYNC: through real Redis, run at once
            failed = queue(app).enqueue(run_job, target, args, group_id).is_failed
        else:
            run_job(target, args, group_id, app=app)
            failed = False
    except Exception:  # already logged by run_job; the caller's data is committed
        failed = True
    if not failed:
        return
    if retry is None or retries_done >= retry.max:
        log.warning("in-process job %s failed", target)
        return
    retries_left = retry.max - retries_done  # rq's rule (Job.get_retry_interval)
    delay = retry.intervals[max(len(retry.intervals) - retries_left, 0)]
    log.info("in-process job %s failed; retry %d in %s s", target, retries_done + 1, delay)
    timer = threading.Timer(delay, _run_again,
                            (app, target, args, group_id, retry, retries_done + 1))
    timer.daemon = True
    timer.start()


def _run_again(app, *job) -> None:
    with app.app_context():  # as at the first run: the job runs in the app that enqueued it
        _run_now(app, *job)


def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)


def queue(app=None):
    """Return the rq queue bound to ``REDIS_URL``."""
    from rq import Queue

    app = app or current_app
    # JOBS_SYNC (tests): rq stores the job in Redis and runs it at once, in this process.
    return Queue(
        "timebank",
        connection=redis_client(app),
        is_async=not app.config.get("JOBS_SYNC", False),
    )


_worker_app = None  # the app timebank.tasks.worker.Worker built before forking


def use_worker_app(app) -> None:
    """Make ``app`` the one :func:`run_job` runs jobs in when no app context is active (called
    once by :class:`timebank.tasks.worker.Worker`, before it forks its first work horse)."""
    global _worker_app
    _worker_app = app


def run_job(target: str, args: tuple, group_id: int | None, app=None,
            once_key: str | None = None) -> None:
    """Run the job function named ``target`` in a fresh app context, as group ``group_id``: of
    ``app``, else of the app whose context is active, else of the worker's app
    (:func:`use_worker_app`), else of a new one.

    This is what the rq worker executes; it is the job's transaction boundary: the function
    runs through :func:`timebank.boundary.run_in_transaction` (commit once when it returns, roll
    back if it raises, re-run it after a deadlock), so its jobs and mail leave after the commit.
    ``once_key`` is the Redis mark of a ``once`` job (:func:`enqueue`), removed first.
    """
    import importlib

    from timebank.boundary import run_in_transaction
    from timebank.tenants import group_context

    module_name, _, name = target.rpartition(".")
    func = getattr(importlib.import_module(module_name), name)
    if app is None:
        from flask import has_app_context

        if has_app_context():  # run synchronously inside the app that enqueued it
            app = current_app._get_current_object()
        elif _worker_app is not None:  # a work horse of timebank.tasks.worker.Worker
            app = _worker_app
        else:  # a plain rq worker builds the app for each job
            from timebank import create_app

            app = create_app()
    if once_key:
        redis_client(app).delete(once_key)
    with app.app_context():
        try:
            if group_id is not None:
                with group_context(group_id):
                    run_in_transaction(func, *args)
            else:
                run_in_transaction(func, *args)
        except Exception:
            log.exception("job %s failed", target)
            raise
        finally:
            db.session.remove()


def install_job_hooks(app) -> None:
    """Dispatch recorded jobs on commit, drop them on rollback, run in-process ones at the end
    of the app context."""
    app.teardown_appcontext(_run_ready_jobs)
    if not event.contains(Session, "after_commit", _dispatch):
        event.listen(Session, "after_commit", _dispatch)
        event.listen(Session, "after_soft_rollback", lambda session, tx: _drop(session))

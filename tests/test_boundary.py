"""The transaction boundary (timebank/boundary.py): a request, a job and a CLI command each
commit once on success, roll back on an exception or an error response, re-run after a deadlock,
and let jobs (and so mail) leave only after the commit."""

import psycopg.errors
import pytest
import sqlalchemy as sa
from flask import redirect

from timebank import create_app
from timebank.boundary import TransactionalGroup, is_retryable, roll_back_at_end
from timebank.extensions import db
from timebank.models import User
from timebank.tasks import enqueue, run_job

EVENTS: list[str] = []
RUNS = {"view": 0, "job": 0, "command": 0}


def _add_user(email: str) -> None:
    db.session.add(User(email=email, name="Boundary", password_hash="x"))
    db.session.flush()


def _users(email: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(User.email == email))


def note_job(label: str) -> None:
    """Job: record that it ran (after the commit, so after the "commit" event)."""
    EVENTS.append(f"job {label}")


def write_then_raise(email: str) -> None:
    """Job: write a user, then fail."""
    _add_user(email)
    raise RuntimeError("the job failed after writing")


def deadlock_once(email: str) -> None:
    """Job: the first run is aborted by a deadlock, the second commits."""
    RUNS["job"] += 1
    _add_user(email)
    if RUNS["job"] == 1:
        raise psycopg.errors.DeadlockDetected("deadlock detected")


@pytest.fixture(scope="module")
def boundary_app(app):
    """A second app on the same database, with test-only routes and commands."""
    other = create_app(dict(app.config))

    @other.route("/boundary/raise")
    def view_raises():
        _add_user("raise@boundary.test")
        enqueue(note_job, "raise")
        raise RuntimeError("the view failed after writing")

    @other.route("/boundary/refuse")
    def view_refuses():
        _add_user("refuse@boundary.test")
        enqueue(note_job, "refuse")
        return "refused", 422

    @other.route("/boundary/refuse-and-redirect")
    def view_refuses_with_redirect():
        _add_user("redirect@boundary.test")
        roll_back_at_end()
        return redirect("/")

    @other.route("/boundary/deadlock")
    def view_deadlocks_once():
        RUNS["view"] += 1
        _add_user("deadlock@boundary.test")
        enqueue(note_job, f"run {RUNS['view']}")
        if RUNS["view"] == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return "ok"

    group = TransactionalGroup("boundary-test")

    @group.command("fail")
    def command_fails():
        _add_user("command@boundary.test")
        raise SystemExit(1)

    @group.command("deadlock")
    def command_deadlocks_once():
        RUNS["command"] += 1
        _add_user("command-deadlock@boundary.test")
        if RUNS["command"] == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")

    other.cli.add_command(group)
    other.config["PROPAGATE_EXCEPTIONS"] = False  # an exception becomes a 500, as in production
    return other


@pytest.fixture(autouse=True)
def _events():
    EVENTS.clear()
    RUNS.update(view=0, job=0, command=0)

    def committed(session):
        EVENTS.append("commit")

    sa.event.listen(sa.orm.Session, "after_commit", committed)
    yield
    sa.event.remove(sa.orm.Session, "after_commit", committed)


def test_a_view_that_writes_then_raises_leaves_nothing(boundary_app):
    response = boundary_app.test_client().get("/boundary/raise", base_url="http://localhost:5000")
    assert response.status_code == 500
    with boundary_app.app_context():
        assert _users("raise@boundary.test") == 0
    assert not any(event.startswith("job") for event in EVENTS)


def test_a_view_answering_4xx_after_writing_leaves_nothing(boundary_app):
    response = boundary_app.test_client().get("/boundary/refuse", base_url="http://localhost:5000")
    assert response.status_code == 422
    with boundary_app.app_context():
        assert _users("refuse@boundary.test") == 0
    assert not any(event.startswith("job") for event in EVENTS)


def test_a_refusal_shown_with_a_redirect_leaves_nothing(boundary_app):
    response = boundary_app.test_client().get("/boundary/refuse-and-redirect", base_url="http://localhost:5000")
    assert response.status_code == 302
    with boundary_app.app_context():
        assert _users("redirect@boundary.test") == 0


def test_a_deadlock_reruns_the_view_once_more_and_jobs_leave_after_the_commit(boundary_app):
    response = boundary_app.test_client().get("/boundary/deadlock", base_url="http://localhost:5000")
    assert response.status_code == 200
    assert RUNS["view"] == 2
    with boundary_app.app_context():
        assert _users("deadlock@boundary.test") == 1  # the first run's row was rolled back
    jobs = [event for event in EVENTS if event.startswith("job")]
    assert jobs == ["job run 2"]  # the aborted run's job never left
    assert EVENTS.index("commit") < EVENTS.index("job run 2")


def test_a_job_gets_the_same_guarantees(boundary_app):
    with boundary_app.app_context():
        with pytest.raises(RuntimeError):
            run_job(f"{__name__}.write_then_raise", ("job@boundary.test",), None,
                    app=boundary_app)
        run_job(f"{__name__}.deadlock_once", ("job-deadlock@boundary.test",), None,
                app=boundary_app)
        assert _users("job@boundary.test") == 0
        assert _users("job-deadlock@boundary.test") == 1
    assert RUNS["job"] == 2


def test_a_cli_command_gets_the_same_guarantees(boundary_app):
    runner = boundary_app.test_cli_runner()
    failed = runner.invoke(args=["boundary-test", "fail"])
    assert failed.exit_code == 1
    retried = runner.invoke(args=["boundary-test", "deadlock"])
    assert retried.exit_code == 0, retried.output
    assert RUNS["command"] == 2
    with boundary_app.app_context():
        assert _users("command@boundary.test") == 0
        assert _users("command-deadlock@boundary.test") == 1


def test_transient_aborts_are_told_from_other_errors():
    assert is_retryable(psycopg.errors.DeadlockDetected())
    assert is_retryable(psycopg.errors.SerializationFailure())
    assert not is_retryable(psycopg.errors.UniqueViolation())
    assert not is_retryable(RuntimeError())

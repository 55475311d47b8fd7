"""The provisioning job on real Redis with real rq workers (``rq worker --burst`` processes),
committing for real: approval → job → group; idempotency; retry; two requests racing for one
address (one wins, the other is told). Skipped without ``REDIS_URL``."""

import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.signup_support import group_count, request_row
from timebank.extensions import db
from timebank.models import Group, GroupRequest, GroupRequestStatus, User, utcnow

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (real Redis)"),
]
ROOT = Path(__file__).resolve().parents[1]
RQ = Path(sys.executable).with_name("rq")
WORKER_CLASS = "timebank.tasks.worker.Worker"  # as production runs it (ansible/roles/worker)



WORKER_SECRET_KEY = secrets.token_urlsafe(48)


def run_workers(count: int = 1, timeout: float = 90) -> None:
    """Start ``count`` burst workers at once and wait until they have emptied the queue."""
    # A worker is a production process: it refuses to start without a strong secret key.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BASE_DOMAIN": "localhost:5000",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or WORKER_SECRET_KEY}
    env.pop("MAIL_SERVER", None)  # capture mail, never send it
    workers = [
        subprocess.Popen([str(RQ), "worker", "--burst", "--worker-class", WORKER_CLASS,
                          "--url", os.environ["REDIS_URL"], "timebank"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(count)
    ]
    outputs = [worker.communicate(timeout=timeout)[0] for worker in workers]
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output


def make_request(app, slug: str, email: str, *, status=GroupRequestStatus.PENDING) -> int:
    """A confirmed request for ``slug`` by a new user ``email``, committed; returns its id."""
    from timebank.people.passwords import hash_password

    with app.app_context():
        user = User(email=email, name=email.split("@")[0].title(),
                    password_hash=hash_password("correct horse battery"))
        db.session.add(user)
        db.session.flush()
        group_request = GroupRequest(
            token=f"token-{slug}-{email}", name=f"{slug.title()} Bank", slug=slug,
            default_locale="en", timezone="UTC", requester_id=user.id,
            requester_name=user.name, requester_email=email, status=status,
            created_at=utcnow(), confirmed_at=utcnow(),
        )
        db.session.add(group_request)
        db.session.commit()
        return group_request.id


def approve(app, request_id: int) -> None:
    from timebank.provisioning.requests import approve_request

    with app.app_context():
        approve_request(group_request=db.session.get(GroupRequest, request_id), actor=None)
        db.session.commit()


APPS_SEEN = []


def note_app() -> None:
    """A job for the test below: note the app it runs in."""
    from flask import current_app

    APPS_SEEN.append(current_app._get_current_object())


def test_the_worker_class_builds_the_app_once_for_every_job(committing_app, real_queue,
                                                             monkeypatch):
    """``timebank.tasks.worker.Worker`` builds the app when it starts (before rq forks any work
    horse); ``run_job`` then runs every job in it and builds no other. (The tests above run
    that worker class as production does, as ``rq worker`` processes.)"""
    import timebank
    from timebank import tasks
    from timebank.tasks import run_job
    from timebank.tasks.worker import Worker

    built = []

    def create_app(*args, **kwargs):
        built.append(args)
        return committing_app  # stands for the app the worker builds

    monkeypatch.setattr(timebank, "create_app", create_app)
    monkeypatch.setattr(tasks, "_worker_app", None)
    APPS_SEEN.clear()
    Worker([real_queue], connection=real_queue.connection)
    assert len(built) == 1
    for _ in range(3):
        run_job(f"{__name__}.note_app", (), None)
    assert len(built) == 1 and APPS_SEEN == [committing_app] * 3
    monkeypatch.setattr(tasks, "_worker_app", None)  # rq's own worker: one app a job
    run_job(f"{__name__}.note_app", (), None)
    assert len(built) == 2


def test_approval_provisions_on_a_real_worker(committing_app, real_queue):
    request_id = make_request(committing_app, "rowan", "rose@example.org")
    approve(committing_app, request_id)
    assert request_row(committing_app, request_id=request_id)["status"].value == "queued"
    assert real_queue.count == 1  # on Redis, waiting for a worker
    run_workers()
    row = request_row(committing_app, request_id=request_id)
    assert row["status"].value == "done" and row["progress"] == 100, row["error"]
    assert group_count(committing_app, "rowan") == 1


def test_the_same_job_delivered_twice_creates_one_group(committing_app, real_queue):
    from timebank.provisioning.jobs import provision_group
    from timebank.tasks import enqueue

    request_id = make_request(committing_app, "rowan", "rose@example.org")
    approve(committing_app, request_id)
    with committing_app.app_context():  # a duplicate delivery, as after a worker crash
        enqueue(provision_group, request_id)
        db.session.commit()
    assert real_queue.count == 2
    run_workers(2)
    assert group_count(committing_app, "rowan") == 1
    row = request_row(committing_app, request_id=request_id)
    assert row["status"].value == "done" and row["attempts"] == 1


def test_a_failed_job_is_retried_on_a_real_worker(committing_app, real_queue, make_group):
    from timebank.provisioning.requests import retry_request

    request_id = make_request(committing_app, "rowan", "rose@example.org")
    make_group("rowan")  # the address went meanwhile
    approve(committing_app, request_id)
    run_workers()
    row = request_row(committing_app, request_id=request_id)
    assert row["status"].value == "failed" and row["error"] == "SlugTaken"
    with committing_app.app_context():
        retry_request(group_request=db.session.get(GroupRequest, request_id),
                      slug="rowan-two")
        db.session.commit()
    run_workers()
    row = request_row(committing_app, request_id=request_id)
    assert row["status"].value == "done" and row["attempts"] == 2
    assert group_count(committing_app, "rowan-two") == 1


def test_two_requests_for_one_address_on_two_workers(committing_app, real_queue):
    first = make_request(committing_app, "rowan", "rose@example.org")
    second = make_request(committing_app, "rowan", "rob@example.org")
    approve(committing_app, first)
    approve(committing_app, second)
    run_workers(2)
    rows = [request_row(committing_app, request_id=i) for i in (first, second)]
    statuses = sorted(row["status"].value for row in rows)
    assert statuses == ["done", "failed"], rows
    (loser,) = [row for row in rows if row["status"].value == "failed"]
    assert loser["error"] == "SlugTaken"  # shown and mailed to its requester
    assert group_count(committing_app, "rowan") == 1
    with committing_app.app_context():
        group = db.session.scalar(sa.select(Group).where(Group.slug == "rowan"))
        (winner,) = [row for row in rows if row["status"].value == "done"]
        assert winner["group_id"] == group.id


def test_two_jobs_inserting_the_same_address_at_once(committing_app, monkeypatch):
    """Both jobs pass the slug check before either commits: the unique index decides."""
    from timebank.provisioning import requests as service
    from timebank.tasks import run_job

    first = make_request(committing_app, "rowan", "rose@example.org",
                         status=GroupRequestStatus.QUEUED)
    second = make_request(committing_app, "rowan", "rob@example.org",
                          status=GroupRequestStatus.QUEUED)
    inserted = threading.Event()
    create_group = service.create_group

    def racing_create_group(**kwargs):
        if threading.current_thread().name == "first":
            group = create_group(**kwargs)
            inserted.set()  # inserted, not committed: hold the row a moment
            time.sleep(0.5)
            return group
        inserted.wait(10)
        return create_group(**kwargs)  # passes the check, then waits on the index

    monkeypatch.setattr(service, "create_group", racing_create_group)
    threads = [
        threading.Thread(target=run_job, name=name, args=(
            "timebank.provisioning.jobs.provision_group", (request_id,), None, committing_app))
        for name, request_id in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert request_row(committing_app, request_id=first)["status"].value == "done"
    loser = request_row(committing_app, request_id=second)
    assert loser["status"].value == "failed" and loser["error"] == "SlugTaken"
    assert group_count(committing_app, "rowan") == 1

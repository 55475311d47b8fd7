"""The digest email (one per member per period, covering all their groups, in their language),
the rq cron configuration, and the expiry jobs.

``test_digest_through_real_redis_and_worker`` needs ``REDIS_URL``: it enqueues the cron job on
the real queue and runs rq's ``SimpleWorker`` (burst) in this process, with its own app whose
jobs also go through Redis, so every step (cron job -> one job per user -> mail job) is a real
rq job. The other tests run the jobs in-process and also run without Redis.
"""

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from tests.marketplace_support import make_ad
from timebank.extensions import db
from timebank.mail import OUTBOX
from timebank.marketplace import digest, jobs
from timebank.models import Ad, AdStatus, User, utcnow
from timebank.tenants import all_groups, group_context


def _set_user(app, member, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == member.user_id).values(**values))
        db.session.commit()


def _network(app, make_group, make_member):
    """Two groups; Maya belongs to both (Spanish), Ann to Alder, Bob to Birch; Dee is daily,
    Nev never wants digests."""
    alder, birch = make_group("alder"), make_group("birch")
    maya_alder = make_member(alder, name="Maya", email="maya@example.org")
    make_member(birch, name="Maya", email="maya@example.org")  # the same person
    ann = make_member(alder, name="Ann")
    bob = make_member(birch, name="Bob")
    dee = make_member(alder, name="Dee")
    nev = make_member(birch, name="Nev")
    _set_user(app, maya_alder, locale="es")
    _set_user(app, dee, digest_frequency="daily")
    _set_user(app, nev, digest_frequency="never")
    make_ad(app, ann, "Organic vegetables from the allotment", kind="offer")
    make_ad(app, maya_alder, "Looking for fresh vegetables", kind="want")
    make_ad(app, bob, "Carpentry and shelves", kind="offer")
    return dict(maya=maya_alder, ann=ann, bob=bob, dee=dee, nev=nev)


def _by_recipient() -> dict[str, list]:
    found: dict[str, list] = {}
    for message in OUTBOX:
        found.setdefault(message.recipients[0], []).append(message)
    return found


def _check_first_round(app, people) -> None:
    mails = _by_recipient()
    maya = mails.pop("maya@example.org")
    assert len(maya) == 1, [m.subject for m in maya]
    body = maya[0].body
    # Both groups, the new ads of others, and the match for her want.
    assert "Alder Timebank" in body and "Birch Timebank" in body
    assert "Carpentry and shelves" in body and "Organic vegetables from the allotment" in body
    assert "/marketplace/ads/" in body and "Looking for fresh vegetables" in body
    with app.test_request_context(), force_locale("es"):
        assert maya[0].subject == gettext(digest.SUBJECT)  # in her language, not the group's
    # Weekly members with something new get one each; Bob has nothing new (only his own ad
    # in Birch); the daily and never members get none from the weekly run.
    assert {email: len(messages) for email, messages in mails.items()} == {
        people["ann"].user.email: 1,
        "coordinator@alder.example.org": 1, "coordinator@birch.example.org": 1}


def test_one_digest_per_member_per_period_covering_all_groups(app, make_group, make_member):
    people = _network(app, make_group, make_member)
    with app.app_context():
        assert digest.send_digests("weekly") >= 3
        db.session.commit()
    _check_first_round(app, people)
    OUTBOX.clear()
    with app.app_context():  # run again in the same period: nobody is due
        assert digest.send_digests("weekly") == 0
        assert digest.send_digest(people["maya"].user_id, "weekly") is False
        db.session.commit()
    assert OUTBOX == []
    with app.app_context():  # the daily member's own period
        digest.send_digests("daily")
        digest.send_digests("never")
        db.session.commit()
    assert [m.recipients for m in OUTBOX] == [[people["dee"].user.email]]


def test_next_period_lists_only_what_is_new(app, make_group, make_member):
    people = _network(app, make_group, make_member)
    with app.app_context():
        digest.send_digests("weekly")
        db.session.commit()
    OUTBOX.clear()
    # A week later: the earlier ads are older than the last digest, one new ad appeared.
    _set_user(app, people["maya"], digest_sent_at=utcnow() - timedelta(days=7, minutes=1))
    with app.app_context(), all_groups():
        db.session.execute(sa.text("UPDATE ads SET created_at = now() - interval '8 days'"))
        db.session.commit()
    make_ad(app, people["bob"], "Sourdough starter", kind="offer")
    with app.app_context():
        assert digest.send_digest(people["maya"].user_id, "weekly") is True
        db.session.commit()
    [mail] = OUTBOX
    assert "Sourdough starter" in mail.body
    assert "Carpentry" not in mail.body and "Looking for fresh vegetables" not in mail.body


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis)")
def test_digest_through_real_redis_and_worker(committing_app, make_group, make_member):
    from redis import Redis
    from rq import Queue, SimpleWorker

    from timebank import create_app
    from timebank.config import TestConfig
    from timebank.tasks import run_job

    app = committing_app
    people = _network(app, make_group, make_member)
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=os.environ["REDIS_URL"], JOBS_SYNC=False, BASE_DOMAIN="localhost:5000",
    )
    worker_app = create_app(settings)
    connection = Redis.from_url(os.environ["REDIS_URL"])
    queue = Queue("timebank", connection=connection)
    queue.empty()
    for job_id in queue.failed_job_registry.get_job_ids():  # left by earlier tests' workers
        queue.failed_job_registry.remove(job_id, delete_job=True)

    def cron_tick(frequency: str) -> None:
        # What `rq cron` enqueues (see timebank/marketplace/cron.py), then a burst worker.
        queue.enqueue(run_job, "timebank.marketplace.digest.send_digests", (frequency,), None)
        with worker_app.app_context():
            SimpleWorker([queue], connection=connection).work(burst=True)

    try:
        cron_tick("weekly")
        _check_first_round(app, people)
        assert queue.count == 0 and queue.failed_job_registry.count == 0
        OUTBOX.clear()
        cron_tick("weekly")  # the same period again (a double-fired cron)
        assert OUTBOX == []
    finally:
        queue.empty()
        with worker_app.app_context():
            db.engine.dispose()


def test_cron_configuration_loads(app):
    from rq.cron import CronScheduler

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs REDIS_URL (a real Redis)")
    from redis import Redis

    scheduler = CronScheduler(connection=Redis.from_url(redis_url))
    scheduler.load_config_from_file("timebank.marketplace.cron")
    registered = {job.name: (job.cron, job.args) for job in scheduler.get_jobs()}
    assert registered["marketplace-digest-weekly"] == (
        "0 6 * * 1", ("timebank.marketplace.digest.send_digests", ("weekly",), None))
    assert registered["marketplace-digest-daily"][0] == "0 6 * * *"
    assert registered["marketplace-expire-ads"][1][0] == (
        "timebank.marketplace.jobs.expire_and_remind")


def test_expiry_reminder_once_then_expire(app, make_group, make_member, client_for, login):
    group = make_group("greenvale")
    ann = make_member(group, name="Ann")
    soon = make_ad(app, ann, "Ends soon")
    later = make_ad(app, ann, "Ends later")
    lapsed = make_ad(app, ann, "Already over")
    now = utcnow()
    with app.app_context(), group_context(group.id):
        for ad_id, when in ((soon, now + timedelta(days=2)), (lapsed, now - timedelta(hours=1))):
            db.session.execute(sa.update(Ad).where(Ad.id == ad_id).values(expires_at=when))
        db.session.commit()
    with app.app_context():
        jobs.expire_and_remind()
        db.session.commit()
    [mail] = OUTBOX
    assert mail.recipients == [ann.user.email]
    assert "Ends soon" in mail.body and "2 days" in mail.body
    assert f"http://greenvale.localhost:5000/marketplace/ads/{soon}" in mail.body
    with app.app_context():
        jobs.expire_and_remind()  # nothing twice
        db.session.commit()
    assert len(OUTBOX) == 1
    with app.app_context(), group_context(group.id):
        status = {ad.id: ad.status for ad in db.session.scalars(sa.select(Ad))}
    assert status == {soon: AdStatus.ACTIVE, later: AdStatus.ACTIVE, lapsed: AdStatus.EXPIRED}
    # Renewing clears the reminder, so the next lifetime gets one too.
    login(client_for("greenvale"), ann.user.email).post(f"/marketplace/ads/{soon}/renew")
    with app.app_context(), group_context(group.id):
        ad = db.session.get(Ad, soon)
        assert ad.expiry_reminded_at is None and ad.expires_at > now + timedelta(days=80)

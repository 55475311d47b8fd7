"""Transfer mail goes through an outbox (``transfer_notices``): written in the transfer's own
transaction, delivered after commit by one ``deliver_notices`` job, never for a rollback; with
real Redis at most one delivery job waits however many transfers commit."""

import os

import pytest
import sqlalchemy as sa

from tests.ledger_support import fresh, in_group
from timebank.extensions import db
from timebank.ledger import notify
from timebank.ledger import service as ledger
from timebank.models import TransferNotice
from timebank.tenants import all_groups


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def people(group, make_member):
    return {"ann": make_member(group, name="Ann"), "ben": make_member(group, name="Ben")}


def _pay(people, amount=30, key=None):
    ann, ben = fresh(people["ann"]), fresh(people["ben"])
    return ledger.pay(payer=ann, payee=ben, currency=ledger.default_currency(), amount=amount,
                      description="Soup", starter=ann, idempotency_key=key)


def _notices() -> list[tuple[int, str]]:
    with all_groups():
        return [(n.transfer_id, n.event) for n in db.session.scalars(sa.select(TransferNotice))]


def test_a_payment_writes_its_notice_in_its_own_transaction(app, group, people, outbox):
    with in_group(app, group):
        transfer = _pay(people)
        assert _notices() == [(transfer.id, notify.COMPLETED)]
        assert outbox == []  # nothing is sent before the transaction commits


def test_after_commit_the_notice_is_delivered_once_and_deleted(app, group, people, outbox):
    with in_group(app, group):
        _pay(people)
        db.session.commit()
    # The in-process job ran as the request context ended.
    assert [m.recipients[0] for m in outbox] == [people["ben"].user.email]
    assert "0:30 h from Ann to Ben" in outbox[0].subject
    with app.app_context():
        assert _notices() == []
        assert notify.deliver_notices() == 0  # nothing left: a second run sends nothing


def test_a_rolled_back_payment_is_never_announced(app, group, people, outbox):
    with in_group(app, group):
        _pay(people)
        db.session.rollback()
        assert _notices() == []
    with app.app_context():
        assert notify.deliver_notices() == 0
    assert outbox == []


def test_a_repeated_idempotency_key_announces_nothing_new(app, group, people, outbox):
    with in_group(app, group):
        first = _pay(people, key="k1")
        again = _pay(people, key="k1")
        assert again.id == first.id
        assert _notices() == [(first.id, notify.COMPLETED)]


def test_a_refused_payment_writes_no_notice(app, group, people):
    from timebank.ledger.errors import CreditLimitExceeded

    with in_group(app, group):
        with pytest.raises(CreditLimitExceeded):
            _pay(people, amount=10_000 * 60)
        assert _notices() == []
        _pay(people)  # the transaction is still usable after a refusal
        assert len(_notices()) == 1


@pytest.mark.concurrency
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (real Redis)")
def test_one_delivery_job_waits_however_many_transfers_commit(committing_app, make_group,
                                                               make_member, monkeypatch):
    from timebank import tasks
    from timebank.extensions import redis_client
    from timebank.tasks import ONCE_PREFIX, queue, run_job

    monkeypatch.setitem(committing_app.config, "JOBS_SYNC", False)
    monkeypatch.setattr(tasks, "ONCE_RECHECK", 0)  # every commit looks at the mark in Redis
    group = make_group("greenvale")
    people = {"ann": make_member(group, name="Ann"), "ben": make_member(group, name="Ben")}
    rq_queue = queue(committing_app)
    rq_queue.empty()
    redis = redis_client(committing_app)
    for key in redis.scan_iter(f"{ONCE_PREFIX}*"):
        redis.delete(key)
    try:
        for _ in range(3):
            with in_group(committing_app, group):
                _pay(people)
                db.session.commit()
        assert rq_queue.count == 1  # three commits, one waiting delivery job
        [job] = rq_queue.jobs
        assert job.args[0] == "timebank.ledger.notify.deliver_notices"
        with committing_app.app_context():
            assert len(_notices()) == 3
        # The job clears its mark first, so a transfer committed from now on queues the next.
        run_job(*job.args, **job.kwargs, app=committing_app)
        rq_queue.remove(job)
        with committing_app.app_context():
            assert _notices() == []
        assert list(redis.scan_iter(f"{ONCE_PREFIX}*")) == []
        with in_group(committing_app, group):
            _pay(people)
            db.session.commit()
        assert rq_queue.count == 1
        # A busy process looks at the mark at most every ONCE_RECHECK seconds: a transfer
        # committed in that gap queues nothing, and the minute sweep delivers its notice.
        monkeypatch.setattr(tasks, "ONCE_RECHECK", 3600)
        rq_queue.empty()
        for key in redis.scan_iter(f"{ONCE_PREFIX}*"):
            redis.delete(key)
        with in_group(committing_app, group):
            _pay(people)
            db.session.commit()
        assert rq_queue.count == 0
        with committing_app.app_context():
            assert notify.deliver_notices() == 2
            db.session.commit()
            assert _notices() == []
    finally:
        rq_queue.empty()
        for key in redis.scan_iter(f"{ONCE_PREFIX}*"):
            redis.delete(key)

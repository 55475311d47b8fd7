"""Simultaneous payments on separate connections, committed for real.

Each thread drives its own request (its own app context, session and pooled connection) or its
own app context; a barrier releases them together so their transactions overlap. What must
hold: the payer never goes below its limit, exactly the payments that fit succeed, a repeated
idempotency key pays once, opposite payments do not deadlock, and ``ledger verify`` passes.
"""

import random
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tests.conftest import ledger_state
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.errors import CreditLimitExceeded
from timebank.ledger.verify import verify_ledger
from timebank.models import Membership, Transfer
from timebank.tenants import group_context

pytestmark = pytest.mark.concurrency


@pytest.fixture
def jobs_held_back(monkeypatch) -> list:
    """Collect the jobs committed transactions dispatch instead of running them inline.

    In tests (``JOBS_SYNC``) and without Redis, a job runs inside the committing session's
    ``after_commit``, on a second pooled connection while the first is still checked out: with
    more simultaneous payers than the pool has connections, every thread ends up waiting for a
    connection that only another waiting thread can give back (see
    :func:`test_a_commit_and_its_jobs_need_only_one_connection`). The race tests are about the
    ledger, so they hold jobs back and check what was dispatched.
    """
    from timebank import tasks

    jobs: list = []

    class CollectingQueue:
        def enqueue(self, func, *args):
            jobs.append(args)

    monkeypatch.setattr(tasks, "queue", lambda app=None: CollectingQueue())
    monkeypatch.setattr(tasks, "run_job", lambda *args, app=None: jobs.append(args))
    return jobs


def run_together(count: int, work: Callable[[int], object]) -> list:
    """Run ``work(0..count-1)`` in ``count`` threads released at once; return the results.

    An exception in a thread is returned as its result (and so fails the caller's asserts).
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = work(index)
        except Exception as error:  # reported through the results
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a payment hung"
    return results


def transfers_in(app, group) -> int:
    with app.app_context(), group_context(group.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))


def test_simultaneous_payments_never_pass_the_credit_limit(committing_app, make_group,
                                                           make_member, client_for, login,
                                                           jobs_held_back):
    app = committing_app
    group = make_group("rush")
    ann = make_member(group, name="Ann", min_balance=-600)  # may spend 10 hours
    payees = [make_member(group, name=f"Payee {n}") for n in range(4)]
    count = 24
    clients = [login(client_for("rush"), ann.user.email) for _ in range(count)]

    def pay(index: int):
        payee = payees[index % len(payees)]
        return clients[index].post("/pay", data={
            "payee": payee.id, "amount": "1:00", "description": f"Hour {index}",
            "idempotency_key": f"rush-{index}"})

    responses = run_together(count, pay)
    errors = [r for r in responses if isinstance(r, Exception)]
    assert not errors, errors
    paid = [r for r in responses if r.status_code == 302]
    refused = [r for r in responses if r.status_code == 200]
    assert len(paid) == 10 and len(refused) == count - 10, [r.status_code for r in responses]
    for response in refused:  # each refusal saw the committed balance, under the lock
        assert "You can still spend 0:00 h." in response.get_data(as_text=True)

    state = ledger_state(app, group)
    assert state["Ann"] == -600
    assert sum(state[f"Payee {n}"] for n in range(4)) == 600
    assert sum(state.values()) == 0
    assert transfers_in(app, group) == 10
    # Each completed payment told its payee once; refused ones were rolled back with their mail.
    assert len(jobs_held_back) == 10
    with app.app_context():
        assert verify_ledger() == []


def test_simultaneous_submits_with_one_idempotency_key_pay_once(committing_app, make_group,
                                                                make_member, client_for,
                                                                login, jobs_held_back):
    app = committing_app
    group = make_group("twice")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    count = 8
    clients = [login(client_for("twice"), ann.user.email) for _ in range(count)]

    def submit(index: int):
        return clients[index].post("/pay", data={
            "payee": ben.id, "amount": "2:00", "description": "Double click",
            "idempotency_key": "the-same-form"})

    responses = run_together(count, submit)
    assert [getattr(r, "status_code", r) for r in responses] == [302] * count
    assert len({r.headers["Location"] for r in responses}) == 1  # all see the one transfer
    assert ledger_state(app, group) == {"Ann": -120, "Ben": 120, "Coordinator Twice": 0}
    assert transfers_in(app, group) == 1
    assert len(jobs_held_back) == 1  # Ben is told once
    with app.app_context():
        assert verify_ledger() == []


def test_crossing_payments_do_not_deadlock(committing_app, make_group, make_member,
                                          jobs_held_back):
    """Members pay each other in both directions at once; locks in id order keep it moving."""
    app = committing_app
    group = make_group("cross")
    members = [make_member(group, name=f"M{n}") for n in range(4)]
    pairs = [(a, b) for a in members for b in members if a.id != b.id]
    rng = random.Random(2)
    plan = [pairs[i % len(pairs)] for i in range(24)]
    rng.shuffle(plan)

    def pay(index: int):
        payer_id, payee_id = plan[index][0].id, plan[index][1].id
        with app.app_context(), group_context(group.id):
            try:
                payer = db.session.get(Membership, payer_id)
                payee = db.session.get(Membership, payee_id)
                transfer = ledger.pay(payer=payer, payee=payee,
                                      currency=ledger.default_currency(), amount=15 + index,
                                      description=f"Swap {index}", starter=payer)
                db.session.commit()
                return transfer.id
            finally:
                db.session.rollback()
                db.session.remove()

    results = run_together(len(plan), pay)
    assert all(isinstance(r, int) for r in results), results
    state = ledger_state(app, group)
    expected = {f"M{n}": 0 for n in range(4)} | {"Coordinator Cross": 0}
    for index, (payer, payee) in enumerate(plan):
        expected[payer.user.name] -= 15 + index
        expected[payee.user.name] += 15 + index
    assert state == expected
    with app.app_context():
        assert verify_ledger() == []


def test_service_refuses_overspending_under_contention(committing_app, make_group,
                                                       make_member, jobs_held_back):
    """The same race one layer down: ledger.pay from 20 app contexts, 45 minutes each."""
    app = committing_app
    group = make_group("service")
    ann = make_member(group, name="Ann", min_balance=-300)  # 5 hours: 6 payments fit
    ben = make_member(group, name="Ben")

    def pay(index: int):
        with app.app_context(), group_context(group.id):
            try:
                payer = db.session.get(Membership, ann.id)
                payee = db.session.get(Membership, ben.id)
                ledger.pay(payer=payer, payee=payee, currency=ledger.default_currency(),
                           amount=45, description=f"Try {index}", starter=payer)
                db.session.commit()
                return "paid"
            except CreditLimitExceeded as error:
                return error.available
            finally:
                db.session.rollback()
                db.session.remove()

    results = run_together(20, pay)
    assert results.count("paid") == 6, results
    assert sorted(r for r in results if r != "paid") == [30] * 14  # 5:00 - 6 * 0:45 = 0:30
    assert ledger_state(app, group)["Ann"] == -270
    with app.app_context():
        assert verify_ledger() == []


def test_a_commit_and_its_jobs_need_only_one_connection(committing_app, make_group,
                                                        make_member, outbox):
    app = committing_app
    group = make_group("pool")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    with app.app_context():
        engine = db.engine
    checked_out, most = 0, 0

    def checkout(*args):
        nonlocal checked_out, most
        checked_out += 1
        most = max(most, checked_out)

    def checkin(*args):
        nonlocal checked_out
        checked_out -= 1

    sa.event.listen(engine, "checkout", checkout)
    sa.event.listen(engine, "checkin", checkin)
    try:
        with app.app_context(), group_context(group.id):
            payer = db.session.get(Membership, ann.id)
            ledger.pay(payer=payer, payee=db.session.get(Membership, ben.id),
                       currency=ledger.default_currency(), amount=60, description="Pool",
                       starter=payer)
            db.session.commit()
    finally:
        sa.event.remove(engine, "checkout", checkout)
        sa.event.remove(engine, "checkin", checkin)
    assert [m.recipients for m in outbox] == [[ben.user.email]]  # the job did run
    assert most == 1

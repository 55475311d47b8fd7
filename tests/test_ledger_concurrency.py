"""Concurrency with real commits: several processes pay, accept, reverse and enter bulk legs
on overlapping accounts at once. Nobody sees a deadlock or a serialization failure (the
service boundary retries them), no pending transfer is completed twice, no transfer is reversed
twice, a shared idempotency key pays once, and every ledger invariant holds afterwards.

Also: a real deadlock between two ledger transactions is absorbed by the bounded retry.
"""

import multiprocessing
import os
import random
import threading
import time

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.boundary import commit_with_retry, is_retryable
from timebank.ledger.errors import LedgerError
from timebank.ledger.verify import verify_ledger
from timebank.models import Account, Membership, Transfer, TransferKind
from timebank.tenants import group_context

pytestmark = pytest.mark.concurrency

WORKERS = 4
OPERATIONS = int(os.environ.get("LEDGER_RACE_OPERATIONS", "60"))
SHARED_KEYS = 6


def _worker(database_url: str, group_id: int, member_ids: list[int], treasurer_id: int,
            pending_ids: list[int], seed: int, results) -> None:
    """One process: its own app and connections; run random ledger operations."""
    from timebank import create_app
    from timebank.config import TestConfig

    app = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                      "DATABASE_URL": database_url, "REDIS_URL": None,
                      "BASE_DOMAIN": "localhost:5000"})
    rng = random.Random(seed)
    outcome = {"completed": 0, "refused": 0, "unexpected": [], "accepted": [],
               "reversals": []}
    with app.test_request_context(), group_context(group_id):
        currency = ledger.default_currency()
        for _ in range(OPERATIONS):
            choice = rng.random()
            try:
                if choice < 0.4:
                    payer_id, payee_id = rng.sample(member_ids, 2)
                    amount = rng.choice([15, 30, 60, 120, 600])
                    key = None
                    if rng.random() < 0.3:  # a twin submission racing another process
                        number = rng.randrange(SHARED_KEYS)
                        key = f"shared-{number}"
                        payer_id, payee_id = member_ids[number % 2], member_ids[2 + number % 3]
                        amount = 30
                    def pay(payer_id=payer_id, payee_id=payee_id, amount=amount, key=key):
                        payer = db.session.get(Membership, payer_id)
                        return ledger.pay(
                            payer=payer, payee=db.session.get(Membership, payee_id),
                            currency=currency, amount=amount, description="race",
                            idempotency_key=key, starter=payer)

                    commit_with_retry(pay)
                    outcome["completed"] += 1
                elif choice < 0.7:
                    transfer_id = rng.choice(pending_ids)

                    def accept(transfer_id=transfer_id):
                        transfer = db.session.get(Transfer, transfer_id)
                        payer = transfer.payer_account.membership_id
                        return ledger.accept_transfer(
                            transfer=transfer, by=db.session.get(Membership, payer))

                    transfer = commit_with_retry(accept)
                    if transfer.state == "completed":
                        outcome["accepted"].append(transfer.id)
                elif choice < 0.9:
                    def reverse():
                        ids = db.session.scalars(
                            sa.select(Transfer.id).where(
                                Transfer.state == "completed",
                                Transfer.kind != TransferKind.REVERSAL)).all()
                        if not ids:
                            return None
                        return ledger.reverse_transfer(
                            transfer=db.session.get(Transfer, rng.choice(sorted(ids))),
                            by=db.session.get(Membership, treasurer_id), reason="race")

                    reversal = commit_with_retry(reverse)
                    if reversal is not None:
                        outcome["reversals"].append((reversal.id, reversal.reverses_id))
                else:
                    one, *many = rng.sample(member_ids, 3)
                    collect = rng.random() < 0.5

                    def bulk(one=one, many=tuple(many), collect=collect):
                        def account(membership_id):
                            return ledger.account_for(db.session.get(Membership, membership_id),
                                                      currency)
                        return ledger.bulk_transfer(
                            counterpart=account(one), legs=[(account(m), 20) for m in many],
                            collect=collect, description="race bulk",
                            starter=db.session.get(Membership, treasurer_id))

                    commit_with_retry(bulk)
                    outcome["completed"] += 1
            except LedgerError:
                outcome["refused"] += 1
            except Exception as error:  # what a person would see as a crash
                outcome["unexpected"].append(repr(error)[:300])
    with app.app_context():
        db.engine.dispose()
    results.put(outcome)


def _setup(app, make_group, make_member):
    group = make_group("race")
    members = [make_member(group, name=f"Racer {n}", min_balance=-180) for n in range(6)]
    treasurer = make_member(group, name="Referee", role="treasurer")
    pending_ids = []
    with app.test_request_context(), group_context(group.id):
        currency = ledger.default_currency()
        for n in range(24):
            payer, payee = members[n % 6], members[(n + 1) % 6]
            transfer = ledger.request_payment(
                payer=db.session.get(Membership, payer.id),
                payee=db.session.get(Membership, payee.id), currency=currency,
                amount=10, description=f"invoice {n}",
                starter=db.session.get(Membership, payee.id))
            pending_ids.append(transfer.id)
        db.session.commit()
    return group, members, treasurer, pending_ids


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_processes_racing_on_overlapping_accounts(committing_app, make_group, make_member):
    app = committing_app
    group, members, treasurer, pending_ids = _setup(app, make_group, make_member)
    database_url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://",
                                                                 "postgresql://")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(
            database_url, group.id, [m.id for m in members], treasurer.id, pending_ids, seed,
            results))
        for seed in range(WORKERS)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    unexpected = [error for outcome in outcomes for error in outcome["unexpected"]]
    assert unexpected == [], unexpected
    assert sum(o["completed"] + o["refused"] for o in outcomes) > 0
    with app.app_context(), group_context(group.id):
        # Every pending request ended at most once in one state; a completed one has 2 entries.
        rows = db.session.execute(sa.select(Transfer.id, Transfer.state, Transfer.completer_id)
                                  .where(Transfer.id.in_(pending_ids))).all()
        for _transfer_id, state, completer in rows:
            assert state in ("pending", "completed", "cancelled")
            if state == "completed":
                assert completer is not None
        # Each accepted request was completed once even when two processes accepted it.
        accepted = [t for o in outcomes for t in o["accepted"]]
        assert set(accepted) <= {r.id for r in rows if r.state == "completed"}
        # No transfer reversed twice; a racing reversal got the first one back.
        reversals = db.session.execute(
            sa.select(Transfer.reverses_id, sa.func.count())
            .where(Transfer.reverses_id.is_not(None)).group_by(Transfer.reverses_id)).all()
        assert all(count == 1 for _, count in reversals)
        # A shared idempotency key paid once.
        keyed = db.session.execute(
            sa.select(Transfer.idempotency_key, sa.func.count())
            .where(Transfer.idempotency_key.like("shared-%"))
            .group_by(Transfer.idempotency_key)).all()
        assert all(count == 1 for _, count in keyed)
        total = db.session.scalar(sa.select(sa.func.sum(Account.balance)))
        assert total == 0
    with app.app_context():
        assert verify_ledger() == []


class _FakeDeadlock(Exception):
    sqlstate = "40P01"


def test_retry_recognises_transient_aborts_only():
    deadlock = OperationalError("SELECT 1", {}, _FakeDeadlock())
    assert is_retryable(deadlock)
    # The hot path (ledger_transfer) calls psycopg directly: its own errors count too.
    assert is_retryable(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert is_retryable(psycopg.errors.SerializationFailure("could not serialize"))
    assert not is_retryable(psycopg.errors.CheckViolation("no"))
    assert not is_retryable(OperationalError("SELECT 1", {}, Exception("no")))
    assert not is_retryable(LedgerError())


def test_a_real_deadlock_is_retried_not_shown(committing_app, make_group, make_member):
    """Two transactions lock two accounts in opposite orders (which the service never does,
    but another writer might); PostgreSQL aborts one and the boundary runs it again."""
    app = committing_app
    group = make_group("deadlock")
    first, second = make_member(group, name="First"), make_member(group, name="Second")
    with app.app_context(), group_context(group.id):
        currency = ledger.default_currency()
        ids = [ledger.account_for(db.session.get(Membership, m.id), currency).id
               for m in (first, second)]
    attempts = {"a": 0, "b": 0}
    barrier = threading.Barrier(2)
    errors = []

    def run(name, order):
        try:
            with app.test_request_context(), group_context(group.id):
                def operation():
                    attempts[name] += 1
                    for position, account_id in enumerate(order):
                        db.session.execute(
                            sa.text("SELECT id FROM accounts WHERE id = :id FOR UPDATE"),
                            {"id": account_id})
                        if position == 0 and attempts[name] == 1:
                            barrier.wait(timeout=10)
                            time.sleep(0.2)
                    return ledger.pay(
                        payer=db.session.get(Membership, first.id),
                        payee=db.session.get(Membership, second.id), currency=currency,
                        amount=1, description=f"after deadlock {name}",
                        starter=db.session.get(Membership, first.id))

                commit_with_retry(operation)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=run, args=("a", ids)),
               threading.Thread(target=run, args=("b", ids[::-1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert attempts["a"] + attempts["b"] == 3  # one of them ran twice
    with app.app_context(), group_context(group.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 2

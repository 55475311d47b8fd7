"""Payments between two groups in both directions from several processes at once (real
commits): the four accounts of each payment are locked in one global order, so no deadlock
reaches anyone (the boundary retries what PostgreSQL aborts), and afterwards each group's
ledger and the network's clearing accounts verify."""

import multiprocessing
import random

import pytest
import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger.verify import verify_ledger
from timebank.models import Account, IntergroupPayment
from timebank.tenants import all_groups

pytestmark = pytest.mark.concurrency

WORKERS = 4
PAYMENTS = 40


def _worker(database_url: str, people: dict, seed: int, results) -> None:
    """One process: its own app and connections; pay across, in both directions."""
    from timebank import create_app
    from timebank.boundary import run_in_transaction
    from timebank.config import TestConfig
    from timebank.ledger import intergroup
    from timebank.ledger.errors import LedgerError
    from timebank.models import Currency, Membership
    from timebank.tenants import group_context

    app = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                      "DATABASE_URL": database_url, "REDIS_URL": None,
                      "BASE_DOMAIN": "localhost:5000"})
    rng = random.Random(seed)
    outcome = {"paid": 0, "refused": 0, "unexpected": []}
    for _ in range(PAYMENTS):
        payer_group, payee_group = rng.sample(list(people), 2)
        payer_id, payee_id = rng.choice(people[payer_group]), rng.choice(people[payee_group])

        def pay(payer_id=payer_id, payee_id=payee_id):
            with all_groups():
                payer = db.session.get(Membership, payer_id)
                payee = db.session.get(Membership, payee_id)
                payer_currency = db.session.scalar(sa.select(Currency).where(
                    Currency.group_id == payer.group_id).order_by(Currency.id).limit(1))
                payee_currency = db.session.scalar(sa.select(Currency).where(
                    Currency.group_id == payee.group_id).order_by(Currency.id).limit(1))
            return intergroup.pay_across(
                payer=payer, payee=payee, payer_currency=payer_currency,
                payee_currency=payee_currency, amount=rng.choice([15, 30, 45, 60]),
                description="Race", starter=payer)

        with app.test_request_context(), group_context(payer_group):
            try:
                run_in_transaction(pay)
                outcome["paid"] += 1
            except LedgerError:
                outcome["refused"] += 1
            except Exception as error:  # noqa: BLE001 - reported to the test
                outcome["unexpected"].append(repr(error))
    results.put(outcome)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_processes_paying_across_two_groups_in_both_directions(committing_app, make_group,
                                                               make_member):
    from tests.trading_support import Network

    app = committing_app
    net = Network(app, make_group, make_member)
    extra_a = [make_member(net.a, name=f"A{n}") for n in range(2)]
    extra_b = [make_member(net.b, name=f"B{n}") for n in range(2)]
    people = {net.a.id: [net.ann.id, net.ada.id] + [m.id for m in extra_a],
              net.b.id: [net.luis.id] + [m.id for m in extra_b]}
    database_url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://",
                                                                 "postgresql://")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_worker, args=(database_url, people, seed, results))
                 for seed in range(WORKERS)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    unexpected = [error for outcome in outcomes for error in outcome["unexpected"]]
    assert unexpected == [], unexpected
    paid = sum(outcome["paid"] for outcome in outcomes)
    assert paid > 0
    with app.app_context(), all_groups():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IntergroupPayment)) == paid
        for group in (net.a, net.b):
            total = db.session.scalar(sa.select(sa.func.sum(Account.balance))
                                      .where(Account.group_id == group.id))
            assert total == 0
    with app.app_context():
        assert verify_ledger() == []

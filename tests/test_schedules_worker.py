"""Scheduled runs on the real queue: real Redis, real ``rq worker`` processes, real commits.

* two workers running the scheduled job at once for one period move each amount once, and a
  third run changes nothing;
* a worker killed with SIGKILL in the middle of a run (blocked on an account this test holds
  locked) commits nothing of that run; the next job makes it, once, and repeats nothing that
  had committed before the kill.

Skipped without ``REDIS_URL``.
"""

import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.test_signup_worker import RQ, WORKER_CLASS, WORKER_SECRET_KEY, run_workers
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.models import Account, Currency, Group, Membership, ScheduledRun, Transfer
from timebank.schedules import service as schedules
from timebank.schedules.periods import Interval, period_start
from timebank.tasks import run_job
from timebank.tenants import group_context
from timebank.tenants.rls import as_owner

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (real Redis)"),
]
ROOT = Path(__file__).resolve().parents[1]



@pytest.fixture
def scene(committing_app, make_group, make_member):
    """Ann and Cat each pay Ben 1 h a month from today; Ben holds 10 h above nothing, with a
    fee of 0:10 and demurrage of 1 % a month starting this month."""
    app = committing_app
    group = make_group("orchard")
    ann, ben, cat = (make_member(group, name=n) for n in ("Ann", "Ben", "Cat"))
    with app.app_context(), group_context(group.id):
        group_row = db.session.get(Group, group.id)
        today = schedules.group_today(group_row)
        members = {m.id: db.session.get(Membership, m.id) for m in (ann, ben, cat)}
        for payer in (ann, cat):
            schedules.create_standing_order(
                payer=members[payer.id], payee=members[ben.id],
                currency=ledger.default_currency(), amount=60, description="Rent",
                interval="month", starts_on=today, ends_on=None, by=members[payer.id],
                today=today)
        ledger.pay(payer=members[cat.id], payee=members[ben.id],
                   currency=ledger.default_currency(), amount=600, description="Help",
                   starter=members[cat.id])
        db.session.commit()
        ids = {"group": group.id, "today": today.isoformat(),
               "cat_account": ledger.account_for(members[cat.id],
                                                 ledger.default_currency()).id}
    return ids


def enqueue(queue, job: str, today: str, times: int = 1) -> None:
    for _ in range(times):
        queue.enqueue(run_job, f"timebank.schedules.jobs.{job}", (today,), None)


def state(app, group_id: int) -> dict:
    """Balances, transfers by kind and runs (fresh reads)."""
    with app.app_context(), group_context(group_id):
        balances = dict(db.session.execute(
            sa.select(Account.id, Account.balance).order_by(Account.id)).all())
        kinds = db.session.execute(
            sa.select(Transfer.kind, sa.func.count()).group_by(Transfer.kind)).all()
        run_keys = sorted(db.session.scalars(sa.select(ScheduledRun.run_key)))
        db.session.remove()
    return {"balances": balances, "kinds": {k.value: n for k, n in kinds}, "runs": run_keys}


def test_two_workers_at_once_then_a_third_run_move_each_amount_once(committing_app,
                                                                     real_queue, scene):
    app = committing_app
    with app.app_context(), group_context(scene["group"]):
        currency = db.session.scalar(sa.select(Currency))
        start = period_start(date.fromisoformat(scene["today"]), Interval.MONTH)
        currency.fee_amount, currency.fee_starts_on = 10, start
        currency.demurrage_rate, currency.demurrage_starts_on = 100, start
        db.session.commit()
    enqueue(real_queue, "run_scheduled", scene["today"], times=2)
    run_workers(2)
    first = state(app, scene["group"])
    # 2 standing orders; the fee for 4 members (the coordinator too); demurrage on Ben only
    # (the one balance above 0 after the orders and the fee).
    assert first["kinds"]["standing_order"] == 2
    assert first["kinds"]["fee"] == 4
    assert first["kinds"]["demurrage"] == 1
    enqueue(real_queue, "run_scheduled", scene["today"])
    run_workers(1)
    assert state(app, scene["group"]) == first


def _waiting_backends(connection) -> list[int]:
    return list(connection.exec_driver_sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").scalars())


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _backend_alive(connection, pid: int) -> bool:
    return bool(connection.exec_driver_sql(
        f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pid)}").scalar())


def test_a_worker_killed_mid_run_commits_nothing_and_the_rerun_runs_once(committing_app,
                                                                          real_queue, scene):
    app = committing_app
    before = state(app, scene["group"])
    with app.app_context():
        engine = db.engine
    # As the owner: the app's role, with no group in context, would see no account to lock.
    holder, watcher = as_owner(engine.connect()), as_owner(engine.connect())
    watcher.execution_options(isolation_level="AUTOCOMMIT")
    try:
        # Hold Cat's account: the run of Ann's order commits, Cat's blocks on the lock.
        holder.exec_driver_sql(
            f"SELECT id FROM accounts WHERE id = {scene['cat_account']} FOR UPDATE")
        enqueue(real_queue, "run_standing_orders", scene["today"])
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BASE_DOMAIN": "localhost:5000",
               "SECRET_KEY": os.environ.get("SECRET_KEY") or WORKER_SECRET_KEY}
        env.pop("MAIL_SERVER", None)
        worker = subprocess.Popen(
            [str(RQ), "worker", "--burst", "--worker-class", WORKER_CLASS,
             "--url", os.environ["REDIS_URL"], "timebank"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline, waiting = time.monotonic() + 60, []
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.2)
            waiting = _waiting_backends(watcher)
        assert waiting, "the worker never reached the locked account"
        # rq runs the job in a forked work horse in a session of its own: kill it, then the
        # worker, as a machine losing power would.
        for horse in _children(worker.pid):
            os.kill(horse, signal.SIGKILL)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        holder.rollback()  # release: the dead worker's statement ends, its transaction aborts
        deadline = time.monotonic() + 60
        while any(_backend_alive(watcher, pid) for pid in waiting):
            assert time.monotonic() < deadline, "the dead worker's session never ended"
            time.sleep(0.2)
    finally:
        holder.close()
        watcher.close()
    killed = state(app, scene["group"])
    assert killed["kinds"]["standing_order"] == 1  # Ann's run committed before the kill
    assert len(killed["runs"]) == 1  # Cat's run left nothing behind
    real_queue.empty()
    enqueue(real_queue, "run_standing_orders", scene["today"])
    run_workers(1)
    after = state(app, scene["group"])
    assert after["kinds"]["standing_order"] == 2 and len(after["runs"]) == 2
    moved = {account: after["balances"][account] - before["balances"][account]
             for account in after["balances"]}
    assert sorted(v for v in moved.values() if v) == [-60, -60, 120]  # Ann, Cat -> Ben
    enqueue(real_queue, "run_standing_orders", scene["today"])
    run_workers(1)
    assert state(app, scene["group"]) == after

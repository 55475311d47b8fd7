"""The ledger's database functions: deployed exactly as their source files say, and a call
cut off by a lost connection or the statement timeout ends in a typed error, never a hang."""

import threading
import time

import pytest
import sqlalchemy as sa

from tests.ledger_support import fresh, in_group
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.errors import LedgerUnavailable
from timebank.ledger.sql import NAMES, source
from timebank.models import Account
from timebank.tenants.rls import as_owner

DEFINITION = sa.text(
    "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
    " JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE n.nspname = 'public' AND p.proname = :name"
)


def drifted_functions() -> list[str]:
    """Names of the ledger functions whose deployed definition differs from their file: each
    file is installed in a savepoint, read back the way PostgreSQL prints it, and compared."""
    drifted = []
    for name in NAMES:
        deployed = db.session.execute(DEFINITION, {"name": name}).scalars().all()
        savepoint = db.session.begin_nested()
        db.session.execute(sa.text("RESET ROLE"))  # as the owner, for the savepoint
        db.session.execute(sa.text("SET LOCAL check_function_bodies = off"))
        db.session.connection().exec_driver_sql(source(name).replace("%", "%%"))
        from_file = db.session.execute(DEFINITION, {"name": name}).scalars().all()
        savepoint.rollback()
        if deployed != from_file:
            drifted.append(name)
    return drifted


def test_every_deployed_ledger_function_matches_its_source_file(app):
    with app.app_context():
        assert drifted_functions() == []


def test_the_drift_check_sees_a_changed_function(app):
    with app.app_context():
        db.session.execute(sa.text("RESET ROLE"))  # as the owner, until the test's rollback
        db.session.execute(sa.text(
            "CREATE OR REPLACE FUNCTION public.ledger_ceiling(p_max_balance bigint,"
            " p_default_max_balance bigint) RETURNS bigint LANGUAGE sql IMMUTABLE"
            " AS $$ SELECT p_max_balance $$"
        ))
        assert drifted_functions() == ["ledger_ceiling"]


def test_the_migrations_leave_a_single_head_and_nothing_for_db_check(app):
    """``flask db heads`` lists one head and ``flask db check`` finds no difference between
    the models and a freshly migrated database (the search indexes are declared in both)."""
    from alembic.script import ScriptDirectory
    from flask_migrate import check

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1
        check()  # exits non-zero on a difference


def _blocked_payment(app, group, ann, ben, outcome: dict) -> None:
    """Pay ann -> ben on the app's own connection and record what happened."""
    with in_group(app, group):
        started = time.monotonic()
        try:
            ledger.pay(payer=fresh(ann), payee=fresh(ben), currency=ledger.default_currency(),
                       amount=5, description="Soup", starter=fresh(ann))
            db.session.commit()
            outcome["result"] = "paid"
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome["result"] = error
            db.session.rollback()
        finally:
            outcome["seconds"] = time.monotonic() - started
            db.session.remove()


def _hold_the_payers_account(app, group, ann):
    """Lock ann's account from another connection, so a payment waits inside the function."""
    with in_group(app, group):
        account_id = ledger.account_for(fresh(ann), ledger.default_currency()).id
        db.session.remove()
    holder = as_owner(db.engine.connect())  # the superuser: sees every backend's activity
    holder.execute(sa.text("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE"), {"id": account_id})
    return holder


def _waiting_backend(holder) -> int:
    for _ in range(100):
        holder.execute(sa.text("SELECT pg_stat_clear_snapshot()"))  # read activity afresh
        pid = holder.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE '%ledger_transfer%' AND pid <> pg_backend_pid()"
        )).scalar()
        if pid:
            return pid
        time.sleep(0.05)
    raise AssertionError("the payment never waited for the lock")


@pytest.mark.concurrency
def test_a_connection_lost_during_a_ledger_call_is_a_typed_error(committing_app, make_group,
                                                                 make_member):
    group = make_group()
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    with committing_app.app_context():
        db.session.commit()
        holder = _hold_the_payers_account(committing_app, group, ann)
        outcome: dict = {}
        worker = threading.Thread(
            target=_blocked_payment, args=(committing_app, group, ann, ben, outcome))
        worker.start()
        try:
            pid = _waiting_backend(holder)
            holder.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            worker.join(timeout=10)
            assert not worker.is_alive(), "the ledger call hung after its connection died"
        finally:
            holder.rollback()
            holder.close()
        assert isinstance(outcome["result"], LedgerUnavailable), outcome
        # The pool dropped the dead connection: the next payment works.
        with in_group(committing_app, group):
            ledger.pay(payer=fresh(ann), payee=fresh(ben), currency=ledger.default_currency(),
                       amount=7, description="Bread", starter=fresh(ann))
            db.session.commit()
            assert db.session.scalar(sa.select(sa.func.sum(Account.balance))) == 0


@pytest.mark.concurrency
def test_a_ledger_call_past_the_statement_timeout_is_a_typed_error(committing_app, make_group,
                                                                   make_member):
    group = make_group()
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    with committing_app.app_context():
        db.session.commit()
        holder = _hold_the_payers_account(committing_app, group, ann)
        outcome: dict = {}
        try:
            with in_group(committing_app, group):
                db.session.execute(sa.text("SET LOCAL statement_timeout = '300ms'"))
                try:
                    ledger.pay(payer=fresh(ann), payee=fresh(ben),
                               currency=ledger.default_currency(), amount=5,
                               description="Soup", starter=fresh(ann))
                except LedgerUnavailable as error:
                    outcome["result"] = error
                db.session.rollback()
                db.session.remove()
        finally:
            holder.rollback()
            holder.close()
        assert isinstance(outcome.get("result"), LedgerUnavailable)

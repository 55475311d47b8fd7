"""Database guarantees: CHECK constraints, entries as legs, the deferred balance trigger,
immutable entries.

These go around the service on purpose (raw SQL), as a buggy script or a careless console
session would: PostgreSQL itself must refuse.
"""

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.ledger_support import fresh, in_group
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.currencies import create_currency
from timebank.ledger.transfers import post_transfer
from timebank.models import Account, Group, TransferKind, TransferState
from timebank.tenants import all_groups


@pytest.fixture
def paid(app, make_group, make_member):
    """A group where Ann paid Ben 60 minutes; returns (group, transfer id, ann, ben)."""
    group = make_group()
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    with in_group(app, group):
        transfer = ledger.pay(payer=fresh(ann), payee=fresh(ben),
                              currency=ledger.default_currency(), amount=60,
                              description="Gardening", starter=fresh(ann))
        db.session.commit()
        return group, transfer.id, ann, ben


def _sql(statement: str, **params):
    return db.session.execute(sa.text(statement), params)


def _fails(statement: str, *, immediate: bool = False, **params) -> str:
    """Run ``statement`` in a savepoint and return the database's error message."""
    savepoint = db.session.begin_nested()
    try:
        _sql(statement, **params)
        if immediate:
            _sql("SET CONSTRAINTS ALL IMMEDIATE")
    except DBAPIError as error:
        savepoint.rollback()
        return str(error.orig)
    savepoint.rollback()
    raise AssertionError(f"the database accepted: {statement}")


def test_entries_cannot_be_updated(app, paid):
    group, transfer_id, *_ = paid
    with in_group(app, group):
        message = _fails("UPDATE entries SET amount = amount * 2 WHERE transfer_id = :t",
                         t=transfer_id)
        assert "immutable" in message
        assert "immutable" in _fails("UPDATE entries SET created_at = now() WHERE transfer_id = :t",
                                     t=transfer_id)


def test_entries_cannot_be_deleted(app, paid):
    group, transfer_id, *_ = paid
    with in_group(app, group):
        assert "immutable" in _fails("DELETE FROM entries WHERE transfer_id = :t", t=transfer_id)


def test_completed_transfers_are_final(app, paid):
    group, transfer_id, *_ = paid
    with in_group(app, group):
        assert "final" in _fails("UPDATE transfers SET amount = 1 WHERE id = :t", t=transfer_id)
        assert "final" in _fails("UPDATE transfers SET description = 'x' WHERE id = :t",
                                 t=transfer_id)
        assert "never deleted" in _fails("DELETE FROM transfers WHERE id = :t", t=transfer_id)
        # The payer's rating may be added once, and not changed afterwards.
        _sql("UPDATE transfers SET rating = 4, rated_at = now() WHERE id = :t", t=transfer_id)
        assert "final" in _fails("UPDATE transfers SET rating = 5 WHERE id = :t", t=transfer_id)


def test_an_unbalanced_completed_transfer_is_refused_at_commit(app, paid):
    group, transfer_id, ann, ben = paid
    with in_group(app, group):
        row = _sql("SELECT payer_account_id, payee_account_id, currency_id FROM transfers"
                   " WHERE id = :t", t=transfer_id).one()
        insert = """
            WITH t AS (
                INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id,
                    amount, description, state, kind, created_at, completed_at)
                VALUES (:g, :c, :payer, :payee, 10, 'forged', 'completed', 'payment', now(), now())
                RETURNING id)
            INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)
            SELECT :g, t.id, :payee, 10, now() FROM t"""
        params = dict(g=group.id, c=row.currency_id, payer=row.payer_account_id,
                      payee=row.payee_account_id)
        # Deferred: the statement itself passes; the check fires when constraints are checked
        # (at COMMIT, or here by asking for it at once).
        savepoint = db.session.begin_nested()
        _sql(insert, **params)
        savepoint.rollback()
        message = _fails(insert, immediate=True, **params)
        assert "unbalanced" in message


def test_a_completed_transfer_without_entries_is_refused(app, paid):
    group, transfer_id, *_ = paid
    with in_group(app, group):
        row = _sql("SELECT payer_account_id, payee_account_id, currency_id FROM transfers"
                   " WHERE id = :t", t=transfer_id).one()
        message = _fails(
            """INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id,
                   amount, description, state, kind, created_at, completed_at)
               VALUES (:g, :c, :payer, :payee, 10, 'forged', 'completed', 'payment', now(),
                   now())""",
            immediate=True, g=group.id, c=row.currency_id, payer=row.payer_account_id,
            payee=row.payee_account_id,
        )
        assert "unbalanced" in message


def test_a_pending_transfer_with_entries_is_refused(app, paid):
    group, transfer_id, ann, ben = paid
    with in_group(app, group):
        pending = ledger.request_payment(payer=fresh(ann), payee=fresh(ben),
                                         currency=ledger.default_currency(), amount=5,
                                         description="x", starter=fresh(ben))
        db.session.commit()
        message = _fails(
            """INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)
               VALUES (:g, :t, :a, 5, now()), (:g, :t, :b, -5, now())""",
            immediate=True, g=group.id, t=pending.id, a=pending.payee_account_id,
            b=pending.payer_account_id,
        )
        assert "pending transfer" in message


def test_an_entry_is_one_of_its_transfers_two_legs(app, paid, make_member):
    """Entries are written only as a completed transfer's legs: -amount on the payer's account,
    +amount on the payee's, one of each; refused at once otherwise."""
    group, transfer_id, ann, ben = paid
    chloe = make_member(group, name="Chloe")
    with in_group(app, group):
        row = _sql("SELECT payer_account_id, payee_account_id FROM transfers WHERE id = :t",
                   t=transfer_id).one()
        third = ledger.account_for(fresh(chloe), ledger.default_currency()).id
        insert = ("INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)"
                  " VALUES (:g, :t, :a, :amount, now())")
        legs = dict(g=group.id, t=transfer_id)
        assert "not a leg" in _fails(insert, a=row.payee_account_id, amount=61, **legs)
        assert "not a leg" in _fails(insert, a=row.payer_account_id, amount=60, **legs)
        assert "not a leg" in _fails(insert, a=third, amount=60, **legs)
        # A balanced pair is still refused: the transfer has its two legs already.
        assert "uq_entries_transfer_id_credit" in _fails(
            "INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)"
            " VALUES (:g, :t, :payee, 60, now()), (:g, :t, :payer, -60, now())",
            payee=row.payee_account_id, payer=row.payer_account_id, **legs)


@pytest.mark.parametrize("statement, constraint", [
    ("UPDATE transfers SET amount = 0 WHERE state = 'pending'", "amount_positive"),
    ("UPDATE accounts SET min_balance = 10, max_balance = 5", "limits_ordered"),
    ("UPDATE currencies SET code = 'bad code'", "code_format"),
    ("UPDATE currencies SET display_format = 'time', subunits_per_unit = 100",
     "display_format_valid"),
    ("UPDATE currencies SET hour_value = 0", "hour_value_positive"),
    ("UPDATE currencies SET kind = 'issued', default_min_balance = -5",
     "issued_floor_at_zero"),
    ("UPDATE groups SET rating_scale = 11", "rating_scale_range"),
    ("UPDATE transfers SET state = 'cancelled', cancel_code = 'declined'"
     " WHERE state = 'pending'", "cancelled_at_matches"),
    ("UPDATE transfers SET state = 'cancelled', cancelled_at = now() WHERE state = 'pending'",
     "cancel_code_matches"),
    ("UPDATE transfers SET state = 'completed' WHERE state = 'pending'",
     "completed_at_matches"),
    ("UPDATE transfers SET kind = 'bulk' WHERE state = 'pending'",
     "only_payments_and_requests_wait"),
    ("UPDATE transfers SET reverses_id = (SELECT min(id) FROM transfers) WHERE state = 'pending'",
     "reversal_links_original"),
])
def test_check_constraints(app, paid, statement, constraint):
    group, transfer_id, ann, ben = paid
    with in_group(app, group):
        ledger.request_payment(payer=fresh(ann), payee=fresh(ben),
                               currency=ledger.default_currency(), amount=5, description="x",
                               starter=fresh(ben))
        db.session.commit()
        savepoint = db.session.begin_nested()
        with pytest.raises(IntegrityError) as raised:
            _sql(statement)
        savepoint.rollback()
        assert constraint in str(raised.value.orig)


def test_an_entry_amount_is_never_zero(app, paid):
    group, transfer_id, *_ = paid
    with in_group(app, group):
        account_id = db.session.scalar(sa.select(Account.id).limit(1))
        assert "amount_nonzero" in _fails(
            "INSERT INTO entries (group_id, transfer_id, account_id, amount, created_at)"
            " VALUES (:g, :t, :a, 0, now())", g=group.id, t=transfer_id, a=account_id)


def test_a_transfer_is_reversed_at_most_once(app, paid):
    group, transfer_id, *_ = paid
    with in_group(app, group):
        row = _sql("SELECT * FROM transfers WHERE id = :t", t=transfer_id).one()
        reversal = """INSERT INTO transfers (group_id, currency_id, payer_account_id,
                payee_account_id, amount, description, state, kind, reverses_id, created_at)
            VALUES (:g, :c, :payee, :payer, 60, 'r', 'cancelled', 'reversal', :t, now())"""
        params = dict(g=group.id, c=row.currency_id, payer=row.payer_account_id,
                      payee=row.payee_account_id, t=transfer_id)
        # (cancelled_at missing trips a CHECK first; give it, then the second one trips.)
        reversal = reversal.replace("created_at)", "created_at, cancelled_at, cancel_code)")
        reversal = reversal.replace("now())", "now(), now(), 'withdrawn')")
        _sql(reversal, **params)
        assert "uq_transfers_reverses_id" in _fails(reversal, **params)


def test_a_transfer_moves_its_accounts_currency(app, paid):
    """Both accounts of a transfer hold its currency: the keys to the accounts include it."""
    group, transfer_id, ann, ben = paid
    with in_group(app, group):
        other = create_currency(code="LETS", name="Lets", symbol="L")
        db.session.flush()
        row = _sql("SELECT * FROM transfers WHERE id = :t", t=transfer_id).one()
        message = _fails(
            """INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id,
                   amount, description, state, kind, created_at)
               VALUES (:g, :c, :payer, :payee, 5, 'x', 'pending', 'payment', now())""",
            g=group.id, c=other.id, payer=row.payer_account_id, payee=row.payee_account_id)
        assert "fk_transfers_group_id_currency_id_payer_account_id_accounts" in message


def test_deleting_a_whole_group_removes_its_ledger(app, paid):
    group, *_ = paid
    with app.app_context():
        db.session.execute(sa.delete(Group).where(Group.id == group.id))
        db.session.flush()
        with all_groups():
            left = db.session.execute(sa.text("SELECT count(*) FROM entries WHERE group_id = :g"),
                                      {"g": group.id}).scalar()
        assert left == 0


def test_the_ledgers_prepared_statement_outlives_rollbacks(app, paid):
    """Ledger calls keep working after psycopg's clean-up on a rollback (which deallocates
    every prepared statement once psycopg has prepared one of its own)."""
    group, transfer_id, ann, ben = paid
    with in_group(app, group):
        for _ in range(6):  # often enough for psycopg's automatic preparation, were it on
            _sql("SELECT count(*) FROM transfers WHERE id = :t", t=transfer_id)
        for attempt in range(2):
            ledger.pay(payer=fresh(ann), payee=fresh(ben), currency=ledger.default_currency(),
                       amount=5, description=f"attempt {attempt}", starter=fresh(ann))
            savepoint = db.session.begin_nested()
            _sql("SELECT 1")
            savepoint.rollback()  # ROLLBACK TO SAVEPOINT


def test_an_error_in_the_hot_path_leaves_the_connection_usable(committing_app, make_group,
                                                               make_member):
    """A database error inside ``ledger_transfer``, in a call that begins the session's
    transaction, is raised as psycopg's own, and after the rollback the next transaction on
    the connection works, twice over."""
    group = make_group()
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    with in_group(committing_app, group):
        db.session.commit()  # nothing begun: the next call begins the transaction itself
        with pytest.raises(psycopg.errors.CheckViolation):
            # A reversal never waits: the CHECK refuses it inside the database function.
            post_transfer(payer=fresh(ann), payee=fresh(ben),
                          currency=ledger.default_currency(), amount=5, description="x",
                          starter=fresh(ann), kind=TransferKind.REVERSAL,
                          state=TransferState.PENDING)
        db.session.rollback()
        for amount in (5, 7):  # the first begins the transaction, the second joins it
            ledger.pay(payer=fresh(ann), payee=fresh(ben), currency=ledger.default_currency(),
                       amount=amount, description="Soup", starter=fresh(ann))
        db.session.commit()
        account = ledger.account_for(fresh(ben), ledger.default_currency())
        assert account.balance == 12

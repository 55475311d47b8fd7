"""`flask ledger verify` beyond double entry: issued currencies, reversals, limits broken
without a recorded limit change; and the nightly `rq cron` job that mails network admins."""

import importlib
import sys
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from rq import cron as rq_cron

from tests.conftest import as_superuser
from tests.ledger_support import fresh, in_group
from timebank.extensions import db
from timebank.ledger import currencies, jobs
from timebank.ledger import service as ledger
from timebank.ledger.verify import verify_ledger
from timebank.models import CurrencyKind, Transfer


@contextmanager
def tampered(app, break_sql: str, restore_sql: str, **params):
    """Change rows behind the service's back (triggers off, as a superuser could), then put
    them back so the per-test check passes."""
    def run(sql: str) -> None:
        with app.app_context(), as_superuser(app):
            db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for statement in sql.split(";"):
                db.session.execute(sa.text(statement), params)
            db.session.execute(sa.text("SET LOCAL session_replication_role = origin"))
            db.session.commit()

    run(break_sql)
    try:
        yield
    finally:
        run(restore_sql)


@pytest.fixture
def world(app, make_group, make_member):
    group = make_group()
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    tre = make_member(group, name="Tre", role="treasurer")
    with in_group(app, group):
        currency = ledger.default_currency()
        paid = ledger.pay(payer=fresh(ann), payee=fresh(ben), currency=currency, amount=60,
                          description="Work", starter=fresh(ann))
        db.session.commit()
        ann_account = ledger.account_for(fresh(ann), currency).id
        return {"group": group, "ann": ann, "ben": ben, "tre": tre, "paid": paid.id,
                "ann_account": ann_account}


def _rules(app) -> set[str]:
    """The rules the network's verify finds broken; each group's own verify (its checks'
    scans filtered to the group) must find exactly that group's share of them."""
    with app.app_context():
        network = verify_ledger()
        for group_id in {int(p.detail.split()[1]) for p in network
                         if p.detail.startswith("group ")}:
            assert {str(p) for p in verify_ledger(group_id=group_id)} == {
                str(p) for p in network if p.detail.startswith(f"group {group_id} ")}
        return {problem.rule for problem in network}


def test_a_sound_ledger_verifies(app, world):
    assert _rules(app) == set()


def test_a_limit_broken_without_a_recorded_change_is_reported(app, world):
    # The payment took Ann to -1:00; pretend her floor was -0:30 all along (no record of it).
    with tampered(app, "UPDATE accounts SET min_balance = -30 WHERE id = :a",
                  "UPDATE accounts SET min_balance = NULL WHERE id = :a", a=world["ann_account"]):
        assert "no transfer broke a limit in force when it was written" in _rules(app)


def test_a_limit_lowered_afterwards_is_explained(app, world):
    with in_group(app, world["group"]):
        account = ledger.account_for(fresh(world["ann"]), ledger.default_currency())
        ledger.set_limits(account=account, min_balance=-30, max_balance=None,
                          changed_by=fresh(world["tre"]))
        db.session.commit()
    assert _rules(app) == set()


def test_a_reversal_past_a_limit_is_explained(app, world):
    with in_group(app, world["group"]):
        currency = ledger.default_currency()
        ben_account = ledger.account_for(fresh(world["ben"]), currency)
        ledger.pay(payer=fresh(world["ben"]), payee=fresh(world["ann"]), currency=currency,
                   amount=60, description="Back", starter=fresh(world["ben"]))
        ledger.set_limits(account=ben_account, min_balance=0, max_balance=None)
        ledger.reverse_transfer(transfer=_transfer(world["paid"]), by=fresh(world["tre"]),
                                reason="Duplicate")
        db.session.commit()
        assert ben_account.balance == -60  # below its floor of 0, by a reversal
    assert _rules(app) == set()


def _transfer(transfer_id):
    return db.session.get(Transfer, transfer_id)


def test_issued_currency_rules(app, world):
    with in_group(app, world["group"]):
        tokens = currencies.create_currency(code="TOK", name="Tokens", symbol="T",
                                            kind=CurrencyKind.ISSUED, subunits_per_unit=1)
        account = ledger.account_for(fresh(world["ann"]), tokens)
        ledger.issue(currency=tokens, payee_account=account, amount=10, description="Batch",
                     starter=fresh(world["tre"]))
        db.session.commit()
        account_id = account.id
        issuer_id = ledger.issuer_account(currency=tokens).id
    assert _rules(app) == set()
    # A holder below zero (and, to keep sums at zero, the issuer above it): both reported.
    with tampered(app, "UPDATE accounts SET balance = balance - 20 WHERE id = :a;"
                       "UPDATE accounts SET balance = balance + 20 WHERE id = :i",
                  "UPDATE accounts SET balance = balance + 20 WHERE id = :a;"
                  "UPDATE accounts SET balance = balance - 20 WHERE id = :i",
                  a=account_id, i=issuer_id):
        rules = _rules(app)
        assert "issued currencies: no holder but the issuer goes below zero" in rules
        assert "issued currencies: the issuer's balance is minus what is in circulation" in rules


def test_a_reversal_that_does_not_mirror_is_reported(app, world):
    with in_group(app, world["group"]):
        reversal = ledger.reverse_transfer(transfer=_transfer(world["paid"]),
                                           by=fresh(world["tre"]), reason="Oops")
        db.session.commit()
        reversal_id = reversal.id
    with tampered(app, "UPDATE transfers SET description = 'x', amount = 61 WHERE id = :r",
                  "UPDATE transfers SET description = 'Oops', amount = 60 WHERE id = :r",
                  r=reversal_id):
        assert "a reversal is the exact opposite of a completed transfer" in _rules(app)


def test_cli_verify_reports_new_rules(app, world):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    with tampered(app, "UPDATE accounts SET min_balance = -30 WHERE id = :a",
                  "UPDATE accounts SET min_balance = NULL WHERE id = :a", a=world["ann_account"]):
        result = runner.invoke(args=["ledger", "verify"])
        assert result.exit_code == 1
        assert "with no limit change to explain it" in result.output


def test_nightly_job_mails_network_admins_only_when_broken(app, world, make_network_admin,
                                                          outbox):
    admin = make_network_admin("root@example.org")
    outbox.clear()  # the payment's own notice
    with app.app_context():
        assert jobs.nightly_verify() == 0
    assert outbox == []
    with tampered(app, "UPDATE accounts SET balance = balance + 5 WHERE id = :a",
                  "UPDATE accounts SET balance = balance - 5 WHERE id = :a",
                  a=world["ann_account"]):
        with app.app_context():
            assert jobs.nightly_verify() >= 1
    assert [message.recipients for message in outbox] == [[admin.email]]
    assert "cached balance equals the sum of entries" in outbox[0].body
    assert "Ledger check failed" in outbox[0].subject


def test_cron_config_registers_the_nightly_job():
    sys.modules.pop("timebank.ledger.cron", None)
    rq_cron._job_data_registry.clear()
    importlib.import_module("timebank.ledger.cron")
    [job] = [j for j in rq_cron._job_data_registry if j["name"] == "ledger-verify"]
    assert job["args"][0] == "timebank.ledger.jobs.nightly_verify"
    assert job["cron"] == "17 3 * * *" and job["queue_name"] == "timebank"


def test_one_groups_report_is_the_networks_narrowed_to_it(app, world, make_group, make_member):
    """One group's checks run fenced to that group (row-level security keeps the rest of the
    network out of them); its report is the network's report of that group's rows."""
    from timebank.ledger.verify import ACROSS_GROUPS, CHECKS

    assert ACROSS_GROUPS <= {rule for rule, _, _ in CHECKS}
    other = make_group("other")
    cleo, dan = make_member(other, name="Cleo"), make_member(other, name="Dan")
    with in_group(app, other):
        currency = ledger.default_currency()
        ledger.pay(payer=fresh(cleo), payee=fresh(dan), currency=currency, amount=45,
                   description="Garden", starter=fresh(cleo))
        db.session.commit()
        cleo_account = ledger.account_for(fresh(cleo), currency).id
    broken = "UPDATE accounts SET balance = balance + 1 WHERE id IN (:a, :c)"
    mended = "UPDATE accounts SET balance = balance - 1 WHERE id IN (:a, :c)"
    with tampered(app, broken, mended, a=world["ann_account"], c=cleo_account):
        with app.app_context():
            network = verify_ledger()
            for group in (world["group"], other):
                mine = verify_ledger(group_id=group.id)
                assert mine and {str(p) for p in mine} == {
                    str(p) for p in network if p.detail.startswith(f"group {group.id} ")}


@pytest.mark.parametrize(("rule", "break_sql", "restore_sql"), [
    ("completed transfer entries sum to zero",
     "UPDATE entries SET amount = amount + 1 WHERE transfer_id = :t AND amount > 0",
     "UPDATE entries SET amount = amount - 1 WHERE transfer_id = :t AND amount > 0"),
    ("pending and cancelled transfers have no entries",
     "UPDATE transfers SET state = 'pending', completed_at = NULL WHERE id = :t",
     "UPDATE transfers SET state = 'completed', completed_at = created_at WHERE id = :t"),
    ("completed transfer moves its amount from payer to payee",
     "UPDATE transfers SET amount = amount + 1 WHERE id = :t",
     "UPDATE transfers SET amount = amount - 1 WHERE id = :t"),
    ("each entry's balance_after is its account's running sum by entry id",
     "UPDATE entries SET balance_after = balance_after + 1 WHERE transfer_id = :t",
     "UPDATE entries SET balance_after = balance_after - 1 WHERE transfer_id = :t"),
    ("every currency's balances sum to zero",
     "UPDATE accounts SET balance = balance + 1 WHERE id = :a",
     "UPDATE accounts SET balance = balance - 1 WHERE id = :a"),
])
def test_each_rule_is_found_by_the_network_and_by_the_groups_own_verify(
        app, world, make_group, make_member, rule, break_sql, restore_sql):
    """A group's verify filters each check's scans to the group (issue 14: it costs the
    group's size, not the network's); ``_rules`` holds it to the network's report of the group.
    Another group with a history of its own must not show up in it."""
    other = make_group("bystander")
    cleo, dan = make_member(other, name="Cleo"), make_member(other, name="Dan")
    with in_group(app, other):
        ledger.pay(payer=fresh(cleo), payee=fresh(dan), currency=ledger.default_currency(),
                   amount=45, description="Garden", starter=fresh(cleo))
        db.session.commit()
    with tampered(app, break_sql, restore_sql, t=world["paid"], a=world["ann_account"]):
        assert rule in _rules(app)
        with app.app_context():
            assert verify_ledger(group_id=other.id) == []

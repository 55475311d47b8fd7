"""Command line: ``flask network create-admin|create-group`` and ``flask ledger verify``."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, as_superuser, row_counts
from timebank.extensions import db
from timebank.models import Account, Currency, Group, Membership, Role, User
from timebank.tenants import all_groups, group_context


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args, **kwargs):
        return runner.invoke(args=list(args), **kwargs)

    return invoke


def test_create_admin_who_can_then_log_in_on_the_apex(app, cli, client_for, login):
    result = cli("network", "create-admin", "--email", "Boss@Example.org", "--name", "Boss",
                 "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert "network admin: boss@example.org" in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "boss@example.org"))
        assert user.is_network_admin and user.name == "Boss"
    client = login(client_for(None), "boss@example.org")
    assert client.get("/network/groups/new").status_code == 200


def test_create_admin_asks_for_the_password_twice(app, cli):
    result = cli("network", "create-admin", "--email", "ask@example.org",
                 input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(
            sa.select(User.is_network_admin).where(User.email == "ask@example.org"))


def test_create_admin_promotes_an_existing_user(app, cli, make_group, make_member):
    member = make_member(make_group("oak"), email="promote@example.org")
    before = row_counts(app)
    result = cli("network", "create-admin", "--email", "promote@example.org",
                 "--password", "ignored-for-existing")
    assert result.exit_code == 0, result.output
    assert row_counts(app) == before
    with app.app_context():
        assert db.session.get(User, member.user_id).is_network_admin


def test_create_group(app, cli, client_for, login):
    result = cli("network", "create-group", "--name", "Hill Bank", "--slug", "hill",
                 "--locale", "de", "--coordinator-email", "hana@example.org",
                 "--coordinator-name", "Hana", "--coordinator-password", PASSWORD,
                 "--join-policy", "open")
    assert result.exit_code == 0, result.output
    assert "created hill: http://hill.localhost:5000/" in result.output
    with app.app_context():
        group = db.session.scalar(sa.select(Group).where(Group.slug == "hill"))
        assert (group.name, group.default_locale, group.join_policy) == ("Hill Bank", "de", "open")
        with group_context(group.id):
            currency = db.session.scalar(sa.select(Currency))
            assert (currency.code, currency.subunits_per_unit) == ("HOUR", 60)
            membership = db.session.scalar(sa.select(Membership))
            assert membership.role == Role.COORDINATOR and membership.is_active
            assert membership.user.email == "hana@example.org"
            assert db.session.scalar(
                sa.select(Account.balance).where(Account.membership_id == membership.id)) == 0
    login(client_for("hill"), "hana@example.org")


@pytest.mark.parametrize("slug,message", [
    ("www", "reserved"), ("api", "reserved"), ("bad_slug", "Use 1 to 63"),
    ("-x", "Use 1 to 63"), ("taken", "already taken"),
])
def test_create_group_refuses_a_bad_slug(app, cli, make_group, slug, message):
    make_group("taken")
    before = row_counts(app)
    result = cli("network", "create-group", "--name", "X", "--slug", slug,
                 "--coordinator-email", "x@example.org", "--coordinator-name", "X",
                 "--coordinator-password", PASSWORD)
    assert result.exit_code == 1
    assert message in result.output
    assert row_counts(app) == before


def test_create_group_needs_a_password_for_a_new_coordinator(app, cli):
    before = row_counts(app)
    result = cli("network", "create-group", "--name", "X", "--slug", "newone",
                 "--coordinator-email", "new@example.org", "--coordinator-name", "New")
    assert result.exit_code == 1
    assert "choose a first password" in result.output
    assert row_counts(app) == before


def test_ledger_verify_passes_on_a_sound_ledger(cli, make_group, make_member, make_transfer):
    group = make_group("sound")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    make_transfer(ann, ben, 90)
    make_transfer(ben, ann, 30)
    result = cli("ledger", "verify")
    assert result.exit_code == 0, result.output
    assert "ledger ok" in result.output


@contextmanager
def corrupted(app, break_sql: str, restore_sql: str, **params):
    """Break the ledger with raw SQL for the block, then put it back (the autouse fixture
    verifies the ledger after every test).

    The database's own guards (triggers that keep entries and completed transfers immutable
    and balanced) are switched off while breaking and mending, so that ``verify`` is shown to
    catch what slipped past them; ``SET LOCAL`` ends with the test's transaction anyway.
    """

    def run(sql: str) -> None:
        with app.app_context(), as_superuser(app):
            db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
            db.session.execute(sa.text(sql), params)
            db.session.execute(sa.text("SET LOCAL session_replication_role = origin"))
            db.session.commit()

    run(break_sql)
    try:
        yield
    finally:
        run(restore_sql)


@pytest.fixture
def paid(app, make_group, make_member, make_transfer):
    group = make_group("broken")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    transfer_id = make_transfer(ann, ben, 90)
    with app.app_context(), group_context(group.id):
        account_id = db.session.scalar(
            sa.select(Account.id).where(Account.membership_id == ann.id))
    return {"group": group.id, "transfer": transfer_id, "account": account_id}


def test_ledger_verify_names_a_wrong_cached_balance(app, cli, paid):
    with corrupted(app, "UPDATE accounts SET balance = balance + 1 WHERE id = :id",
                   "UPDATE accounts SET balance = balance - 1 WHERE id = :id",
                   id=paid["account"]):
        result = cli("ledger", "verify")
        assert result.exit_code == 1
        assert (f"FAIL cached balance equals the sum of entries: group {paid['group']} "
                f"account {paid['account']}: cached balance -89, entries sum to -90"
                in result.output)
        assert "every currency's balances sum to zero" in result.output
        assert "ledger ok" not in result.output
    assert cli("ledger", "verify").exit_code == 0


def test_ledger_verify_names_an_unbalanced_transfer(app, cli, paid):
    with corrupted(app, "UPDATE entries SET amount = amount + 5 WHERE transfer_id = :t "
                        "AND amount > 0",
                   "UPDATE entries SET amount = amount - 5 WHERE transfer_id = :t "
                   "AND amount > 0", t=paid["transfer"]):
        result = cli("ledger", "verify")
        assert result.exit_code == 1
        assert (f"completed transfer entries sum to zero: group {paid['group']} transfer "
                f"{paid['transfer']}: entries sum to 5" in result.output)


def test_ledger_verify_names_entries_on_a_pending_transfer(app, cli, paid):
    with app.app_context(), all_groups():
        completed_at = db.session.scalar(
            sa.text("SELECT completed_at FROM transfers WHERE id = :t"), {"t": paid["transfer"]})
    with corrupted(app, "UPDATE transfers SET state = 'pending', completed_at = NULL "
                        "WHERE id = :t",
                   "UPDATE transfers SET state = 'completed', completed_at = :at WHERE id = :t",
                   t=paid["transfer"], at=completed_at):
        result = cli("ledger", "verify")
        assert result.exit_code == 1
        assert f"transfer {paid['transfer']} is pending but has 2 entries" in result.output

"""Tenancy: one group per subdomain, nothing of group B is reachable from group A.

Covers host resolution (friendly 404 for an unknown slug, 410 for a suspended group), ids of
another group requested on this group's host (404), host-bound sessions, fail-closed query
scoping, stamping of new rows, and composite foreign keys that stop rows pointing across groups.
"""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.conftest import coordinator_of
from tests.group_admin_support import account_id
from timebank.extensions import db
from timebank.models import (
    Account,
    AccountKind,
    Currency,
    Entry,
    Group,
    GroupStatus,
    Membership,
    MembershipStatus,
    Transfer,
)
from timebank.tenants import TenantError, all_groups, group_context
from timebank.tenants.scoping import GROUP_PARAMETER, _scoped


@pytest.fixture
def groups(app, make_group, make_member, make_transfer):
    """Two groups, each with two members, one transfer and one pending join request."""
    alder, birch = make_group("alder"), make_group("birch")
    ann = make_member(alder, name="Ann Alder")
    amy = make_member(alder, name="Amy Alder")
    bob = make_member(birch, name="Bob Birch")
    bea = make_member(birch, name="Bea Birch")
    bill = make_member(birch, name="Bill Pending", status="pending")
    return SimpleNamespace(
        alder=alder, birch=birch, ann=ann, amy=amy, bob=bob, bea=bea, bill=bill,
        alder_coordinator=coordinator_of(app, alder),
        alder_transfer=make_transfer(ann, amy, 60, "Alder gardening"),
        birch_transfer=make_transfer(bob, bea, 90, "Birch secret sauce"),
    )


def _birch_secrets_absent(body: str) -> None:
    for secret in ("Bob Birch", "Bea Birch", "Bill Pending", "Birch secret sauce"):
        assert secret not in body


def test_pages_of_another_group_by_id_are_404(groups, client_for, login):
    client = login(client_for("alder"), groups.ann.user.email)
    for path in (
        f"/members/{groups.bob.id}",
        f"/members/{groups.bill.id}",
        f"/transfers/{groups.birch_transfer}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        _birch_secrets_absent(response.get_data(as_text=True))
    # The same routes work for this group's own rows, so the 404 above is about the group.
    assert client.get(f"/members/{groups.amy.id}").status_code == 200
    assert client.get(f"/transfers/{groups.alder_transfer}").status_code == 200


def test_coordinator_cannot_act_on_another_groups_members(app, groups, client_for, login):
    client = login(client_for("alder"), groups.alder_coordinator.user.email)
    limits = f"/accounts/{account_id(app, groups.bob)}/limits"
    assert client.get(limits).status_code == 404
    assert client.post(limits, data={"min_balance": "500"}).status_code == 404
    assert client.get(f"/members/{groups.bob.id}/limits").status_code == 404  # the old address
    response = client.post(f"/members/{groups.bill.id}/decision", data={"approve": "1"})
    assert response.status_code == 404
    with app.app_context(), group_context(groups.birch.id):
        bill = db.session.get(Membership, groups.bill.id)
        assert bill.status == MembershipStatus.PENDING
        bob_account = db.session.scalar(
            sa.select(Account).where(Account.membership_id == groups.bob.id)
        )
        assert bob_account.min_balance is None


def test_directory_and_statement_list_only_this_group(groups, client_for, login):
    client = login(client_for("alder"), groups.ann.user.email)
    directory = client.get("/members/").get_data(as_text=True)
    assert "Amy Alder" in directory
    _birch_secrets_absent(directory)
    statement = client.get("/statement").get_data(as_text=True)
    assert "Alder gardening" in statement
    _birch_secrets_absent(statement)
    pay_page = client.get("/pay").get_data(as_text=True)
    assert "Amy Alder" in pay_page
    _birch_secrets_absent(pay_page)


def test_member_of_a_logged_in_on_b_sees_nothing_of_b(groups, client_for, login):
    """Ann has an account on the network but no membership in Birch: she is sent to join."""
    client = login(client_for("birch"), groups.ann.user.email)
    for path in ("/members/", "/statement", "/dashboard", f"/members/{groups.bob.id}",
                 f"/transfers/{groups.birch_transfer}"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/join"), path
        _birch_secrets_absent(client.get(path, follow_redirects=True).get_data(as_text=True))


LOGGED_IN_ONLY = ["/dashboard", "/pay", "/statement", "/members/", "/members/1",
                  "/members/pending", "/transfers/1", "/members/1/limits", "/accounts/1/limits"]


@pytest.mark.parametrize("path", LOGGED_IN_ONLY)
def test_logged_out_visitor_is_sent_to_log_in(groups, client_for, path):
    response = client_for("birch").get(path)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=")
    assert "/login" in location


def test_session_cookie_from_a_is_anonymous_on_b(groups, app, client_for, login, make_member):
    # Ann belongs to both groups, so only the host binding can keep her out of Birch.
    make_member(groups.birch, email=groups.ann.user.email)
    alder = login(client_for("alder"), groups.ann.user.email)
    assert alder.get("/members/").status_code == 200
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookie = alder.get_cookie(cookie_name, domain="alder.localhost")
    assert cookie is not None, "logging in must set a host-only session cookie"
    assert cookie.domain == "alder.localhost" and cookie.origin_only  # no Domain: host-only

    birch = client_for("birch")
    birch.set_cookie(cookie_name, cookie.value, domain="birch.localhost")
    response = birch.get("/members/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert birch.get("/profile").status_code == 302  # anonymous: even the profile needs a login
    # The apex is another host too.
    apex = client_for(None)
    apex.set_cookie(cookie_name, cookie.value, domain="localhost")
    assert apex.get("/profile").status_code == 302
    # And the original browser is still logged in on its own host.
    assert alder.get("/profile").status_code == 200


def test_unknown_slug_gets_a_friendly_404(groups, client_for):
    response = client_for("nosuchgroup").get("/")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "There is no timebank at this address" in body
    assert 'href="http://localhost:5000/"' in body  # a way back to the network
    assert client_for("nosuchgroup").get("/login").status_code == 404


def test_foreign_host_is_404(app, groups):
    client = app.test_client()
    assert client.get("/", base_url="http://evil.example.com").status_code == 404
    assert client.get("/", base_url="http://a.b.localhost:5000").status_code == 404


def test_suspended_group_is_read_only(app, groups, client_for, login):
    """A suspended group stays readable with a notice; every write is refused (423)."""
    client = login(client_for("birch"), groups.bob.user.email)
    with app.app_context():  # through the ORM, as the app writes: the kept group ends
        db.session.get(Group, groups.birch.id).status = GroupStatus.SUSPENDED
        db.session.commit()
    response = client.get("/members/")
    assert response.status_code == 200
    assert "Suspended: read only" in response.get_data(as_text=True)
    refused = client.post("/pay", data={})
    assert refused.status_code == 423
    assert "suspended" in refused.get_data(as_text=True)
    assert client_for("alder").get("/").status_code == 200


def test_archived_group_is_410(app, groups, client_for):
    with app.app_context():
        db.session.execute(
            sa.update(Group).where(Group.id == groups.birch.id).values(status="archived"))
        db.session.commit()
    response = client_for("birch").get("/")
    assert response.status_code == 410
    assert "closed" in response.get_data(as_text=True)


def test_tenant_queries_fail_closed_without_a_group(app, groups):
    with app.app_context():
        for model in (Membership, Account, Currency, Transfer, Entry):
            assert db.session.scalars(sa.select(model)).all() == [], model
        assert db.session.get(Membership, groups.ann.id) is None
        # ORM updates are scoped too: with no group they touch nothing.
        result = db.session.execute(sa.update(Membership).values(role=40))
        assert result.rowcount == 0
        # Raw SQL, past the ORM hook, meets the database's fence (tests/test_row_security.py).
        assert db.session.scalar(sa.text("SELECT count(*) FROM memberships")) == 0
        with all_groups():
            total = db.session.scalar(sa.text("SELECT count(*) FROM memberships"))
        assert total >= 6  # the rows are there; the scoped queries just do not see them


def test_queries_see_only_the_group_in_context(app, groups):
    with app.app_context(), group_context(groups.alder.id):
        ids = set(db.session.scalars(sa.select(Membership.id)))
        assert {groups.ann.id, groups.amy.id, groups.alder_coordinator.id} == ids
        assert db.session.get(Membership, groups.bob.id) is None
        assert db.session.get(Transfer, groups.birch_transfer) is None
        assert db.session.get(Transfer, groups.alder_transfer) is not None
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
        assert count == 1


def test_a_statement_built_once_is_scoped_once_and_each_run_binds_its_own_group(app, groups):
    """The scoped copy of a statement is kept (tenants/scoping.py) but holds no group: each
    execution binds the group in context, so one statement object serves every group."""
    statement = sa.select(Membership.id)
    bound = []

    def record(conn, cursor, sql, parameters, context, executemany):
        if isinstance(parameters, dict) and GROUP_PARAMETER in parameters:
            bound.append(parameters[GROUP_PARAMETER])

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            with group_context(groups.alder.id):
                alder = set(db.session.scalars(statement))
                scoped = _scoped[statement]
            with group_context(groups.birch.id):
                birch = set(db.session.scalars(statement))
                assert _scoped[statement] is scoped
            nobody = set(db.session.scalars(statement))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert alder == {groups.ann.id, groups.amy.id, groups.alder_coordinator.id}
    assert groups.bob.id in birch and not birch & alder
    assert nobody == set()
    assert bound == [groups.alder.id, groups.birch.id, None]


def test_new_tenant_row_without_a_group_raises(app, groups):
    with app.app_context():
        db.session.add(Membership(user_id=groups.ann.user_id, status=MembershipStatus.ACTIVE))
        with pytest.raises(TenantError):
            db.session.flush()
        db.session.rollback()


def test_new_row_of_another_group_raises(app, groups):
    with app.app_context(), group_context(groups.alder.id):
        db.session.add(Membership(user_id=groups.ann.user_id, group_id=groups.birch.id))
        with pytest.raises(TenantError):
            db.session.flush()
        db.session.rollback()


def test_new_row_is_stamped_with_the_group_in_context(app, groups, make_member):
    carl = make_member(groups.birch, name="Carl")
    with app.app_context(), group_context(groups.alder.id):
        membership = Membership(user_id=carl.user_id, status=MembershipStatus.PENDING)
        db.session.add(membership)
        db.session.flush()
        assert membership.group_id == groups.alder.id
        db.session.rollback()


def test_account_cannot_point_at_another_groups_currency(app, groups):
    with app.app_context():
        with group_context(groups.birch.id):
            birch_currency_id = db.session.scalar(sa.select(Currency.id))
        with group_context(groups.alder.id):
            savepoint = db.session.begin_nested()
            db.session.add(Account(group_id=groups.alder.id, currency_id=birch_currency_id,
                                   membership_id=groups.ann.id, kind=AccountKind.MEMBER))
            with pytest.raises(IntegrityError, match="fk_accounts_group_id_currency_id"):
                db.session.flush()
            savepoint.rollback()


def test_entry_cannot_point_at_another_groups_account(app, groups):
    with app.app_context():
        with group_context(groups.birch.id):
            bob_account_id = db.session.scalar(
                sa.select(Account.id).where(Account.membership_id == groups.bob.id)
            )
        with group_context(groups.alder.id):
            savepoint = db.session.begin_nested()
            db.session.add(Entry(group_id=groups.alder.id, transfer_id=groups.alder_transfer,
                                 account_id=bob_account_id, amount=5))
            # Refused twice over: the composite key, and the entry is no leg of the transfer.
            with pytest.raises(IntegrityError,
                               match="fk_entries_group_id_account_id|is not a leg"):
                db.session.flush()
            savepoint.rollback()

"""Coordinators run their group (issue 6): join decisions with a message, roles and the last
coordinator, suspension, members without email, leaving with a balance."""

import sqlalchemy as sa

from tests.conftest import PASSWORD, coordinator_of, ledger_state
from tests.group_admin_support import account_id, audit_events, membership_row
from timebank.extensions import db
from timebank.models import Membership, MembershipStatus, Role, Transfer, User
from timebank.tenants import group_context


def _body(response) -> str:
    return response.get_data(as_text=True)


# --- join requests ------------------------------------------------------------------------


def test_approve_with_a_message_emails_the_person_and_is_audited(
        app, make_group, make_member, client_for, login, outbox):
    group = make_group("acacia")
    coordinator = coordinator_of(app, group)
    paul = make_member(group, name="Paul Pending", status="pending")
    client = login(client_for("acacia"), coordinator.user.email)
    response = client.post(f"/members/{paul.id}/decision",
                           data={"approve": "1", "message": "Welcome, Paul! Meeting on Friday."},
                           follow_redirects=True)
    assert "Paul Pending is now a member." in _body(response)
    assert membership_row(app, paul).status == MembershipStatus.ACTIVE
    mail = [m for m in outbox if m.recipients == [paul.user.email]]
    assert len(mail) == 1 and "Welcome, Paul! Meeting on Friday." in mail[0].body
    assert "approved" in mail[0].body
    (event,) = audit_events(app, group, "members.approve")
    assert event.actor_id == coordinator.id and event.object_id == paul.id
    assert event.before == {"status": "pending"}
    assert event.after == {"status": "active", "message": "Welcome, Paul! Meeting on Friday."}


def test_decline_with_a_message(app, make_group, make_member, client_for, login, outbox):
    group = make_group("alder2")
    coordinator = coordinator_of(app, group)
    paul = make_member(group, name="Paul Pending", status="pending")
    client = login(client_for("alder2"), coordinator.user.email)
    client.post(f"/members/{paul.id}/decision",
                data={"decline": "1", "message": "We only take people from Alder."})
    assert membership_row(app, paul).status == MembershipStatus.LEFT
    (mail,) = [m for m in outbox if m.recipients == [paul.user.email]]
    assert "declined" in mail.body and "We only take people from Alder." in mail.body
    (event,) = audit_events(app, group, "members.decline")
    assert event.after["message"] == "We only take people from Alder."


# --- roles and the last coordinator -------------------------------------------------------


def test_coordinator_makes_a_member_organizer(app, make_group, make_member, client_for, login,
                                              outbox):
    group = make_group("beech")
    coordinator = coordinator_of(app, group)
    ann = make_member(group, name="Ann")
    client = login(client_for("beech"), coordinator.user.email)
    response = client.post(f"/members/{ann.id}/role", data={"role": int(Role.ORGANIZER)},
                           follow_redirects=True)
    assert "Ann is now Organizer" in _body(response)
    assert membership_row(app, ann).role == Role.ORGANIZER
    (event,) = audit_events(app, group, "members.role")
    assert (event.before, event.after) == ({"role": "member"}, {"role": "organizer"})
    assert any("organizer" in m.body for m in outbox if m.recipients == [ann.user.email])


def test_the_last_coordinator_cannot_step_down_or_leave(app, make_group, client_for, login):
    group = make_group("birch2")
    coordinator = coordinator_of(app, group)
    client = login(client_for("birch2"), coordinator.user.email)
    response = client.post(f"/members/{coordinator.id}/role", data={"role": int(Role.MEMBER)},
                           follow_redirects=True)
    assert "at least one active coordinator" in _body(response)
    assert membership_row(app, coordinator).role == Role.COORDINATOR
    response = client.post("/members/leave", data={"confirm": "y"})
    assert "at least one active coordinator" in _body(response)
    assert membership_row(app, coordinator).status == MembershipStatus.ACTIVE
    assert audit_events(app, group, "members.role") == []


def test_with_two_coordinators_one_may_step_down(app, make_group, make_member, client_for,
                                                 login):
    group = make_group("cedar2")
    first = coordinator_of(app, group)
    second = make_member(group, name="Second", role="coordinator")
    client = login(client_for("cedar2"), first.user.email)
    client.post(f"/members/{first.id}/role", data={"role": int(Role.TREASURER)})
    assert membership_row(app, first).role == Role.TREASURER
    # Now the second is the last one: the first (a treasurer now) cannot touch roles at all.
    assert client.post(f"/members/{second.id}/role",
                       data={"role": int(Role.MEMBER)}).status_code == 403


def test_a_suspended_coordinator_does_not_count(app, make_group, make_member, client_for,
                                                login):
    group = make_group("dogwood2")
    first = coordinator_of(app, group)
    second = make_member(group, name="Second", role="coordinator")
    client = login(client_for("dogwood2"), first.user.email)
    client.post(f"/members/{second.id}/suspension", data={"suspend": "1", "reason": "Away"})
    assert membership_row(app, second).status == MembershipStatus.SUSPENDED
    response = client.post(f"/members/{first.id}/role", data={"role": int(Role.MEMBER)},
                           follow_redirects=True)
    assert "at least one active coordinator" in _body(response)


# --- suspension -------------------------------------------------------------------------


def test_suspend_and_reactivate(app, make_group, make_member, client_for, login, outbox):
    group = make_group("elm")
    coordinator = coordinator_of(app, group)
    bob = make_member(group, name="Bob")
    bob_client = login(client_for("elm"), bob.user.email)
    client = login(client_for("elm"), coordinator.user.email)
    response = client.post(f"/members/{bob.id}/suspension",
                           data={"suspend": "1", "reason": "Unpaid promises"},
                           follow_redirects=True)
    assert "Bob is suspended." in _body(response)
    assert membership_row(app, bob).status == MembershipStatus.SUSPENDED
    # Bob can no longer use the group's pages.
    response = bob_client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/join")
    assert "suspended" in _body(bob_client.get("/join"))
    assert any("Unpaid promises" in m.body for m in outbox if m.recipients == [bob.user.email])
    client.post(f"/members/{bob.id}/suspension", data={"reactivate": "1"})
    assert membership_row(app, bob).status == MembershipStatus.ACTIVE
    assert bob_client.get("/dashboard").status_code == 200
    (suspended,) = audit_events(app, group, "members.suspend")
    assert suspended.after == {"status": "suspended", "reason": "Unpaid promises"}
    (reactivated,) = audit_events(app, group, "members.reactivate")
    assert reactivated.actor_id == coordinator.id


def test_a_coordinator_cannot_suspend_themself(app, make_group, client_for, login):
    group = make_group("fir2")
    coordinator = coordinator_of(app, group)
    client = login(client_for("fir2"), coordinator.user.email)
    assert client.post(f"/members/{coordinator.id}/suspension",
                       data={"suspend": "1"}).status_code == 403
    assert membership_row(app, coordinator).status == MembershipStatus.ACTIVE


# --- members without email ------------------------------------------------------------------


def test_add_a_member_without_email_and_trade_on_their_behalf(
        app, make_group, make_member, client_for, login, outbox):
    group = make_group("ginkgo")
    coordinator = coordinator_of(app, group)
    treasurer = make_member(group, name="Tess Treasurer", role="treasurer")
    ann = make_member(group, name="Ann")
    client = login(client_for("ginkgo"), coordinator.user.email)
    response = client.post("/members/offline/new",
                           data={"name": "Olga Offline", "note": "Phone 555 0101"},
                           follow_redirects=True)
    assert "Olga Offline is a member." in _body(response)
    assert "no email" in _body(response)
    with app.app_context(), group_context(group.id):
        olga = db.session.scalar(
            sa.select(Membership).join(User).where(User.name == "Olga Offline"))
        assert olga.is_active and olga.user.is_offline
        assert olga.user.email.endswith("@offline.invalid")
        olga_id = olga.id
    (event,) = audit_events(app, group, "members.add_offline")
    assert event.object_id == olga_id
    # Nobody can log in as her.
    assert client_for("ginkgo").post("/login", data={"email": "", "password": PASSWORD}
                                     ).status_code == 200
    # The treasurer records a trade for her; she gets no mail (she has no address).
    outbox.clear()
    treasury = login(client_for("ginkgo"), treasurer.user.email)
    response = treasury.post("/on-behalf", data={
        "currency": "HOUR", "payer": olga_id, "payee": ann.id, "amount": "1:30",
        "description": "Ironing"})
    assert response.status_code == 302, _body(response)[:500]
    assert ledger_state(app, group)["Olga Offline"] == -90
    assert not any(m.recipients[0].endswith("@offline.invalid") for m in outbox)
    (on_behalf,) = audit_events(app, group, "ledger.on_behalf")
    assert on_behalf.actor_id == treasurer.id and on_behalf.after["amount"] == 90


# --- leaving ----------------------------------------------------------------------------


def test_leaving_with_a_balance_is_refused_until_a_treasurer_settles_it(
        app, make_group, make_member, make_transfer, client_for, login):
    group = make_group("hazel")
    treasurer = make_member(group, name="Tess Treasurer", role="treasurer")
    bob = make_member(group, name="Bob")
    ann = make_member(group, name="Ann")
    make_transfer(ann, bob, 120)  # Bob holds +2 hours
    bob_client = login(client_for("hazel"), bob.user.email)
    page = _body(bob_client.get("/members/leave"))
    assert 'id="balance-not-zero"' in page
    response = bob_client.post("/members/leave", data={"confirm": "y"})
    assert response.status_code == 200 and "balance must be zero" in _body(response)
    assert membership_row(app, bob).status == MembershipStatus.ACTIVE

    # A plain member cannot move the balance; the treasurer can.
    ann_client = login(client_for("hazel"), ann.user.email)
    assert ann_client.post(f"/members/{bob.id}/settle").status_code == 403
    treasury = login(client_for("hazel"), treasurer.user.email)
    response = treasury.post(f"/members/{bob.id}/settle", follow_redirects=True)
    assert "to the group account" in _body(response)
    assert ledger_state(app, group)["Bob"] == 0
    (settled,) = audit_events(app, group, "members.settle")
    assert settled.actor_id == treasurer.id
    assert settled.after["transfers"][0]["amount"] == 120
    assert settled.after["transfers"][0]["to_group_account"] is True
    # Recorded once, as a settlement, not a second time as an on-behalf entry.
    assert audit_events(app, group, "ledger.on_behalf") == []

    response = bob_client.post("/members/leave", data={"confirm": "y"})
    assert response.status_code == 302
    assert membership_row(app, bob).status == MembershipStatus.LEFT
    (left,) = audit_events(app, group, "members.leave")
    assert left.actor_id == bob.id
    # Gone from the directory; the ledger keeps his history.
    assert "Bob" not in _body(ann_client.get("/members/")).split('class="list-group"', 1)[1]
    with app.app_context(), group_context(group.id):
        assert db.session.scalar(sa.select(sa.func.count(Transfer.id))) == 2


def test_a_negative_balance_is_settled_by_the_group_account(
        app, make_group, make_member, make_transfer, client_for, login):
    group = make_group("holly")
    treasurer = make_member(group, name="Tess Treasurer", role="treasurer")
    bob = make_member(group, name="Bob")
    ann = make_member(group, name="Ann")
    make_transfer(bob, ann, 45)
    treasury = login(client_for("holly"), treasurer.user.email)
    treasury.post(f"/members/{bob.id}/settle")
    assert ledger_state(app, group)["Bob"] == 0
    with app.app_context(), group_context(group.id):
        pot = db.session.scalar(sa.text(
            "SELECT balance FROM accounts WHERE kind = 'group' AND NOT is_issuer"))
    assert pot == -45


def test_a_member_without_balance_leaves_and_may_ask_again(app, make_group, make_member,
                                                           client_for, login):
    group = make_group("ivy")
    bob = make_member(group, name="Bob")
    client = login(client_for("ivy"), bob.user.email)
    assert client.post("/members/leave", data={}).status_code == 200  # must tick the box
    assert membership_row(app, bob).status == MembershipStatus.ACTIVE
    client.post("/members/leave", data={"confirm": "y"})
    assert membership_row(app, bob).status == MembershipStatus.LEFT
    assert client.get("/dashboard").headers["Location"].endswith("/join")
    client.post("/join")
    assert membership_row(app, bob).status == MembershipStatus.PENDING


def test_leaving_needs_the_account_to_exist_only_in_this_group(app, make_group, make_member,
                                                               make_transfer, client_for,
                                                               login):
    """A balance in another group does not block leaving this one."""
    home, away = make_group("juniper"), make_group("jasmine")
    bob = make_member(home, name="Bob", email="bob@example.org")
    bob_away = make_member(away, name="Bob", email="bob@example.org")
    ann_away = make_member(away, name="Ann")
    make_transfer(ann_away, bob_away, 60)
    client = login(client_for("juniper"), "bob@example.org")
    client.post("/members/leave", data={"confirm": "y"})
    assert membership_row(app, bob).status == MembershipStatus.LEFT
    assert account_id(app, bob_away) is not None
    assert membership_row(app, bob_away).status == MembershipStatus.ACTIVE

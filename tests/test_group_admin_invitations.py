"""Invitations by email (issue 6): an expiring, single-use link; the "invitation only" policy."""

import re
from datetime import timedelta

import sqlalchemy as sa

from tests.conftest import PASSWORD, coordinator_of
from tests.group_admin_support import audit_events, invite, membership_row
from timebank.extensions import db
from timebank.models import Group, Invitation, JoinPolicy, Membership, MembershipStatus, Role, User
from timebank.tenants import group_context


def _body(response) -> str:
    return response.get_data(as_text=True)


def _link(outbox, email: str) -> str:
    (mail,) = [m for m in outbox if m.recipients == [email]]
    return re.search(r"http://\S+/invitations/(\S+)", mail.body).group(1)


def _set_policy(app, group, policy: JoinPolicy) -> None:
    with app.app_context():
        db.session.get(Group, group.id).join_policy = policy
        db.session.commit()


def _membership_of(app, group, email: str) -> Membership | None:
    with app.app_context(), group_context(group.id):
        row = db.session.scalar(sa.select(Membership).join(User).where(User.email == email))
        if row is not None:
            row.user
            db.session.expunge_all()
        return row


def test_invite_by_email_then_sign_up_through_the_link(app, make_group, client_for, login,
                                                       outbox):
    group = make_group("larch")
    coordinator = coordinator_of(app, group)
    client = login(client_for("larch"), coordinator.user.email)
    response = client.post("/members/invitations", data={
        "email": "Nina@Example.org", "role": int(Role.ORGANIZER),
        "message": "Come and help with the garden days!"}, follow_redirects=True)
    assert "Invitation sent to nina@example.org." in _body(response)
    assert "nina@example.org" in _body(client.get("/members/invitations"))
    token = _link(outbox, "nina@example.org")
    (mail,) = [m for m in outbox if m.recipients == ["nina@example.org"]]
    assert "Come and help with the garden days!" in mail.body and "14 days" in mail.body
    (event,) = audit_events(app, group, "members.invite")
    assert event.actor_id == coordinator.id and event.after["email"] == "nina@example.org"
    with app.app_context(), group_context(group.id):  # only a hash of the token is kept
        assert db.session.scalar(sa.select(Invitation.token_hash)) != token

    visitor = client_for("larch")
    page = _body(visitor.get(f"/invitations/{token}"))
    assert 'value="nina@example.org"' in page and "Organizer" in page
    response = visitor.post(f"/invitations/{token}", data={
        "name": "Nina", "email": "nina@example.org", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    nina = _membership_of(app, group, "nina@example.org")
    assert nina.status == MembershipStatus.ACTIVE and nina.role == Role.ORGANIZER
    assert visitor.get("/dashboard").status_code == 200
    (accepted,) = audit_events(app, group, "members.invitation_accepted")
    assert accepted.actor_id == nina.id

    # Single use: the link is dead now, for anyone.
    other = client_for("larch")
    response = other.get(f"/invitations/{token}")
    assert response.status_code == 404 and 'id="invitation-error"' in _body(response)


def test_an_existing_user_accepts_while_logged_in(app, make_group, make_member, client_for,
                                                  login, outbox):
    group, elsewhere = make_group("linden"), make_group("lotus")
    make_member(elsewhere, name="Omar", email="omar@example.org")
    _id, token = invite(app, coordinator_of(app, group), "omar@example.org")
    client = login(client_for("linden"), "omar@example.org")
    assert 'id="accept"' in _body(client.get(f"/invitations/{token}"))
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 302
    assert _membership_of(app, group, "omar@example.org").status == MembershipStatus.ACTIVE


def test_an_expired_invitation_does_not_work(app, make_group, client_for):
    group = make_group("maple")
    invitation_id, token = invite(app, coordinator_of(app, group), "late@example.org")
    with app.app_context(), group_context(group.id):
        invitation = db.session.get(Invitation, invitation_id)
        invitation.created_at -= timedelta(days=15)
        invitation.expires_at -= timedelta(days=15)  # the link was valid for 14 days
        db.session.commit()
    visitor = client_for("maple")
    assert visitor.get(f"/invitations/{token}").status_code == 404
    response = visitor.post(f"/invitations/{token}", data={
        "name": "Late", "email": "late@example.org", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 404
    assert _membership_of(app, group, "late@example.org") is None


def test_an_invitation_just_before_expiry_still_works(app, make_group, client_for):
    group = make_group("mulberry")
    invitation_id, token = invite(app, coordinator_of(app, group), "just@example.org")
    with app.app_context(), group_context(group.id):
        invitation = db.session.get(Invitation, invitation_id)
        invitation.created_at -= timedelta(days=14) - timedelta(minutes=5)
        invitation.expires_at -= timedelta(days=14) - timedelta(minutes=5)
        db.session.commit()
    assert client_for("mulberry").get(f"/invitations/{token}").status_code == 200


def test_a_revoked_invitation_does_not_work(app, make_group, client_for, login):
    group = make_group("oak")
    coordinator = coordinator_of(app, group)
    invitation_id, token = invite(app, coordinator, "nope@example.org")
    client = login(client_for("oak"), coordinator.user.email)
    client.post(f"/members/invitations/{invitation_id}/revoke")
    assert client_for("oak").get(f"/invitations/{token}").status_code == 404
    assert len(audit_events(app, group, "members.invitation_revoked")) == 1


def test_inviting_an_address_again_replaces_its_open_invitation(app, make_group, client_for,
                                                                login):
    """One open invitation per address, whatever its letter case: the newest link works, the
    earlier ones no longer do, and the coordinator's list shows the address once."""
    group = make_group("elm")
    coordinator = coordinator_of(app, group)
    first_id, first = invite(app, coordinator, "newbie@example.org")
    second_id, second = invite(app, coordinator, "NEWBIE@Example.org")
    assert client_for("elm").get(f"/invitations/{first}").status_code == 404
    assert client_for("elm").get(f"/invitations/{second}").status_code == 200
    with app.app_context(), group_context(group.id):
        open_ = db.session.scalars(sa.select(Invitation).where(
            Invitation.revoked_at.is_(None))).all()
        assert [i.id for i in open_] == [second_id]
    page = _body(login(client_for("elm"), coordinator.user.email).get("/members/invitations"))
    cells = [cell.lower() for cell in re.findall(r"<td>([^<]*)</td>", page)]
    assert cells.count("newbie@example.org") == 1  # one row for the address
    (event,) = [e for e in audit_events(app, group, "members.invite")
                if (e.after or {}).get("replaces")]
    assert event.after["replaces"] == [first_id]


def test_a_link_from_another_group_does_not_work_here(app, make_group, client_for):
    make_group("olive")
    away = make_group("orange")
    _id, token = invite(app, coordinator_of(app, away), "someone@example.org")
    assert client_for("olive").get(f"/invitations/{token}").status_code == 404
    assert client_for("orange").get(f"/invitations/{token}").status_code == 200


def test_invitation_only_groups_refuse_sign_up_and_join(app, make_group, make_member,
                                                        client_for, login, outbox):
    group = make_group("palm")
    _set_policy(app, group, JoinPolicy.INVITATION)
    visitor = client_for("palm")
    response = visitor.post("/signup", data={
        "name": "Sam", "email": "sam@example.org", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 200 and "by invitation only" in _body(response)
    with app.app_context():
        assert db.session.scalar(
            sa.select(User).where(User.email == "sam@example.org")) is None

    make_member(make_group("pine"), name="Pat", email="pat@example.org")
    pat = login(client_for("palm"), "pat@example.org")
    assert 'id="invitation-only"' in _body(pat.get("/join"))
    pat.post("/join")
    assert _membership_of(app, group, "pat@example.org") is None

    # With an invitation Pat gets in, straight to active.
    _id, token = invite(app, coordinator_of(app, group), "pat@example.org")
    pat.post(f"/invitations/{token}")
    assert _membership_of(app, group, "pat@example.org").status == MembershipStatus.ACTIVE


def test_inviting_a_current_member_is_refused(app, make_group, make_member, client_for, login):
    group = make_group("poplar")
    member = make_member(group, name="Already Here")
    client = login(client_for("poplar"), coordinator_of(app, group).user.email)
    response = client.post("/members/invitations", data={"email": member.user.email,
                                                          "role": int(Role.MEMBER)})
    assert response.status_code == 200 and "already has a membership" in _body(response)
    assert audit_events(app, group, "members.invite") == []


def test_accepting_twice_at_once_joins_once(app, make_group, make_member, client_for, login):
    """The second acceptance of a used link (e.g. a double click) changes nothing."""
    group = make_group("quince")
    _id, token = invite(app, coordinator_of(app, group), "quin@example.org")
    make_member(make_group("rowan"), name="Quin", email="quin@example.org")
    client = login(client_for("quince"), "quin@example.org")
    client.post(f"/invitations/{token}")
    assert client.post(f"/invitations/{token}").status_code == 404
    assert membership_row(app, _membership_of(app, group, "quin@example.org")).is_active
    assert len(audit_events(app, group, "members.invitation_accepted")) == 1

"""People: sign up and join, log in and out, reset and change passwords, edit the profile."""

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, row_counts
from tests.security_support import sign_up
from timebank.extensions import db
from timebank.mail import OUTBOX
from timebank.models import Account, MembershipStatus, Role, User
from timebank.people import service as people
from timebank.tenants import group_context

NEW_PASSWORD = "a much better passphrase"


def _signup(client, *, name="Dora Newcomer", email="dora@example.org", password=PASSWORD):
    """Sign up and follow the emailed confirmation link."""
    return sign_up(client, {"name": name, "email": email, "password": password,
                            "confirm": password})


def _membership(app, group, email) -> SimpleNamespace:
    """Return the user's membership in ``group`` as plain values, with its account balances."""
    with app.app_context(), group_context(group.id):
        user = people.find_user_by_email(email)
        membership = people.membership_of(user, group)
        balances = db.session.scalars(
            sa.select(Account.balance).where(Account.membership_id == membership.id)
        ).all()
        return SimpleNamespace(id=membership.id, status=membership.status,
                               approved_at=membership.approved_at, balances=balances)


def test_signup_under_open_policy_is_active_at_once(app, make_group, client_for):
    group = make_group("oak", join_policy="open")
    client = client_for("oak")
    response = _signup(client)
    assert response.status_code == 302
    membership = _membership(app, group, "dora@example.org")
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.balances == [0]
    # Logged in and straight into the group.
    dashboard = client.get("/", follow_redirects=True)
    assert "Welcome to Oak Timebank!" in dashboard.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 200


def test_signup_under_approval_policy_waits_for_a_coordinator(app, make_group, client_for,
                                                              login):
    group = make_group("elm", join_policy="approval")
    client = client_for("elm")
    assert _signup(client, name="Dora Waiting").status_code == 302
    page = client.get("/")
    assert "waiting for a coordinator" in page.get_data(as_text=True)
    membership = _membership(app, group, "dora@example.org")
    assert membership.status == MembershipStatus.PENDING
    assert membership.balances == []
    # A pending member cannot use the group yet.
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/join")

    coordinator = login(client_for("elm"), "coordinator@elm.example.org")
    pending = coordinator.get("/members/pending").get_data(as_text=True)
    assert "Dora Waiting" in pending
    response = coordinator.post(f"/members/{membership.id}/decision", data={"approve": "1"},
                                follow_redirects=True)
    assert "Dora Waiting is now a member." in response.get_data(as_text=True)
    approved = _membership(app, group, "dora@example.org")
    assert approved.status == MembershipStatus.ACTIVE
    assert approved.approved_at is not None
    assert approved.balances == [0]
    assert "Dora Waiting" not in coordinator.get("/members/pending").get_data(as_text=True)
    assert client.get("/dashboard").status_code == 200


def test_coordinator_declines_a_join_request(app, make_group, client_for, login):
    group = make_group("ash")
    _signup(client_for("ash"), name="Dora Declined")
    membership = _membership(app, group, "dora@example.org")
    coordinator = login(client_for("ash"), "coordinator@ash.example.org")
    response = coordinator.post(f"/members/{membership.id}/decision", data={"decline": "1"},
                                follow_redirects=True)
    assert "Request from Dora Declined declined." in response.get_data(as_text=True)
    declined = _membership(app, group, "dora@example.org")
    assert declined.status == MembershipStatus.LEFT
    assert declined.balances == []
    # Deciding again is refused and changes nothing.
    response = coordinator.post(f"/members/{membership.id}/decision", data={"approve": "1"},
                                follow_redirects=True)
    assert "not waiting for approval" in response.get_data(as_text=True)
    assert _membership(app, group, "dora@example.org").status == MembershipStatus.LEFT


def test_only_coordinators_decide_join_requests(app, make_group, make_member, client_for, login):
    group = make_group("fir")
    treasurer = make_member(group, role="treasurer")
    waiting = make_member(group, name="Wendy Waiting", status="pending")
    client = login(client_for("fir"), treasurer.user.email)
    assert client.get("/members/pending").status_code == 403
    assert client.post(f"/members/{waiting.id}/decision", data={"approve": "1"}).status_code == 403
    assert _membership(app, group, waiting.user.email).status == MembershipStatus.PENDING


def test_existing_user_joins_another_group(app, make_group, make_member, client_for, login):
    home, other = make_group("pine"), make_group("yew", join_policy="open")
    member = make_member(home, name="Paula")
    client = login(client_for("yew"), member.user.email)
    assert client.get("/dashboard").headers["Location"].endswith("/join")
    assert client.post("/join").status_code == 302
    assert _membership(app, other, member.user.email).status == MembershipStatus.ACTIVE
    assert client.get("/dashboard").status_code == 200


def test_email_is_unique_case_insensitively(app, make_group, client_for):
    make_group("lime", join_policy="open")
    assert _signup(client_for("lime"), email="Dora@Example.org").status_code == 302
    before = row_counts(app)
    response = _signup(client_for("lime"), name="Dora Twin", email="DORA@example.ORG")
    assert response.status_code == 302  # the same answer as for a new address
    assert "already has an account" in OUTBOX[-1].body  # the owner is told by email
    assert row_counts(app) == before
    with app.app_context():
        emails = db.session.scalars(sa.select(User.email).where(User.name.like("Dora%"))).all()
    assert emails == ["dora@example.org"]


def test_login_is_case_insensitive_and_logout_works(make_group, make_member, client_for, login):
    group = make_group("beech")
    make_member(group, name="Lena", email="lena@example.org")
    client = login(client_for("beech"), "LENA@Example.org")
    assert client.get("/dashboard").status_code == 200
    response = client.post("/logout", follow_redirects=True)
    assert "You are logged out." in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_wrong_password_is_refused_with_a_message(make_group, make_member, client_for):
    group = make_group("holly")
    member = make_member(group)
    client = client_for("holly")
    for email, password in ((member.user.email, "not the password"),
                            ("nobody@example.org", PASSWORD)):
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 200
        assert "Email or password is not right." in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_remembered_login_survives_the_end_of_the_browser_session(app, make_group,
                                                                  make_member, client_for):
    group = make_group("rowan")
    member = make_member(group)
    client = client_for("rowan")
    response = client.post("/login", data={"email": member.user.email, "password": PASSWORD,
                                           "remember": "y"})
    assert response.status_code == 302
    remember = client.get_cookie("remember_token", domain="rowan.localhost")
    assert remember is not None
    # Closing the browser drops the session cookie; the remember cookie logs the member back in.
    client.delete_cookie(app.config["SESSION_COOKIE_NAME"], domain="rowan.localhost")
    assert client.get("/dashboard").status_code == 200
    # ... but only on its own host.
    make_member(make_group("sorb"), email=member.user.email)
    other = client_for("sorb")
    other.set_cookie("remember_token", remember.value, domain="sorb.localhost")
    assert other.get("/dashboard").status_code == 302
    # Logging out forgets the remembered login too.
    client.post("/logout")
    client.delete_cookie(app.config["SESSION_COOKIE_NAME"], domain="rowan.localhost")
    assert client.get("/dashboard").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x",
                                    "https://evil.example/x", "/\t/evil.example"])
def test_login_never_redirects_to_another_site(make_group, make_member, client_for, target):
    group = make_group("cedar")
    member = make_member(group)
    response = client_for("cedar").post(
        "/login", query_string={"next": target},
        data={"email": member.user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(make_group, make_member, client_for):
    group = make_group("maple")
    member = make_member(group)
    client = client_for("maple")
    location = client.get("/statement").headers["Location"]
    response = client.post(location, data={"email": member.user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/statement"


def _reset_link(outbox, email) -> str:
    messages = [m for m in outbox if m.recipients == [email]]
    assert len(messages) == 1, [m.recipients for m in outbox]
    match = re.search(r"http://\S+/password/reset/\S+", messages[0].body)
    assert match, messages[0].body
    return match.group(0)


def _reset(client, link, password=NEW_PASSWORD):
    path = link.split("localhost:5000", 1)[1]
    return client.post(path, data={"password": password, "confirm": password},
                       follow_redirects=True)


def test_password_reset_by_emailed_link_works_once(app, make_group, make_member, client_for,
                                                   login, outbox):
    group = make_group("willow")
    member = make_member(group, email="rita@example.org")
    client = client_for("willow")
    response = client.post("/password/forgot", data={"email": "Rita@example.org"},
                           follow_redirects=True)
    assert "a link to reset the password is on its way" in response.get_data(as_text=True)
    link = _reset_link(outbox, "rita@example.org")
    assert link.startswith("http://willow.localhost:5000/password/reset/")

    page = _reset(client, link).get_data(as_text=True)
    assert "Your password is changed" in page
    login(client_for("willow"), member.user.email, NEW_PASSWORD)
    refused = client_for("willow").post("/login", data={"email": member.user.email,
                                                        "password": PASSWORD})
    assert refused.status_code == 200

    # The same link a second time: refused, and the password stays the new one.
    page = _reset(client, link, "yet another passphrase").get_data(as_text=True)
    assert "invalid or has expired" in page
    login(client_for("willow"), member.user.email, NEW_PASSWORD)


def test_password_reset_for_unknown_email_sends_nothing(make_group, client_for, outbox):
    make_group("alder")
    response = client_for("alder").post("/password/forgot",
                                        data={"email": "ghost@example.org"})
    assert response.status_code == 302  # same answer as for a known email
    assert outbox == []


def test_expired_reset_link_is_refused(app, make_group, make_member, client_for, login,
                                       outbox, monkeypatch):
    group = make_group("hazel")
    member = make_member(group, email="eve@example.org")
    client = client_for("hazel")
    client.post("/password/forgot", data={"email": "eve@example.org"})
    link = _reset_link(outbox, "eve@example.org")
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)  # every token is now too old
    assert "invalid or has expired" in _reset(client, link).get_data(as_text=True)
    login(client_for("hazel"), member.user.email, PASSWORD)


def test_tampered_reset_link_is_refused(make_group, make_member, client_for, login, outbox):
    group = make_group("larch")
    member = make_member(group, email="tom@example.org")
    client = client_for("larch")
    client.post("/password/forgot", data={"email": "tom@example.org"})
    link = _reset_link(outbox, "tom@example.org")
    assert "invalid or has expired" in _reset(client, link[:-3] + "xyz").get_data(as_text=True)
    login(client_for("larch"), member.user.email, PASSWORD)


def test_change_password(make_group, make_member, client_for, login):
    group = make_group("poplar")
    member = make_member(group)
    client = login(client_for("poplar"), member.user.email)
    response = client.post("/password/change", data={
        "current_password": "wrong guess", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 200
    assert "The current password is not right." in response.get_data(as_text=True)
    login(client_for("poplar"), member.user.email, PASSWORD)

    response = client.post("/password/change", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": "different"})
    assert "The passwords differ." in response.get_data(as_text=True)

    response = client.post("/password/change", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    login(client_for("poplar"), member.user.email, NEW_PASSWORD)
    old = client_for("poplar").post("/login", data={"email": member.user.email,
                                                    "password": PASSWORD})
    assert old.status_code == 200


def test_edit_profile(app, make_group, make_member, client_for, login):
    group = make_group("linden")
    member = make_member(group, name="Old Name")
    client = login(client_for("linden"), member.user.email)
    form = client.get("/profile").get_data(as_text=True)
    assert 'value="Old Name"' in form
    response = client.post("/profile", data={"name": "  New Name ", "bio": "I fix bikes.",
                                              "locale": "de"})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, member.user_id)
        assert (user.name, user.bio, user.locale) == ("New Name", "I fix bikes.", "de")
    # Others see the new name in the directory.
    other = login(client_for("linden"), "coordinator@linden.example.org")
    assert "New Name" in other.get("/members/").get_data(as_text=True)


def test_profile_refuses_an_empty_name(app, make_group, make_member, client_for, login):
    group = make_group("spruce")
    member = make_member(group, name="Kept Name")
    client = login(client_for("spruce"), member.user.email)
    response = client.post("/profile", data={"name": "", "bio": "x", "locale": ""})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(User, member.user_id).name == "Kept Name"


def test_simultaneous_signups_with_one_email_make_one_user(app, monkeypatch):
    """The check-then-insert race: the unique index on lower(email) turns it into EmailTaken."""
    from timebank.people.errors import EmailTaken

    with app.app_context():
        people.register_user(email="race@example.org", name="First", password=PASSWORD)
        monkeypatch.setattr(people, "find_user_by_email", lambda email: None)  # lost the race
        with pytest.raises(EmailTaken):
            people.register_user(email="RACE@example.org", name="Second", password=PASSWORD)
        names = db.session.scalars(sa.select(User.name).where(User.email.ilike("race@%"))).all()
        assert names == ["First"]  # the session is still usable, the first user kept


def test_former_treasurer_rejoins_as_a_member(app, make_group, make_member, client_for, login):
    group = make_group("aspen", join_policy="open")
    treasurer = make_member(group, name="Tess", role="treasurer", status="left")
    client = login(client_for("aspen"), treasurer.user.email)
    assert client.post("/join").status_code == 302
    with app.app_context(), group_context(group.id):
        membership = people.membership_of(db.session.get(User, treasurer.user_id), group)
        assert (membership.status, membership.role) == (MembershipStatus.ACTIVE, Role.MEMBER)
        account_id = db.session.scalar(
            sa.select(Account.id).where(Account.membership_id == membership.id))
    assert client.get(f"/accounts/{account_id}/limits").status_code == 403


def test_only_the_suite_hashes_passwords_with_argon2s_cheapest_parameters(app):
    """Outside ``TESTING`` a password is hashed with argon2-cffi's RFC 9106 parameters even when
    ``PASSWORD_HASH_CHEAPEST`` is set; any hash verifies under either app."""
    from flask import Flask

    from timebank.people.passwords import check_password, hash_password

    production = Flask("production")
    production.config.update(TESTING=False, PASSWORD_HASH_CHEAPEST=True)
    with production.app_context():
        real = hash_password(PASSWORD)
    with app.app_context():
        cheap = hash_password(PASSWORD)
        assert check_password(real, PASSWORD) and not check_password(real, NEW_PASSWORD)
    with production.app_context():
        assert check_password(cheap, PASSWORD) and not check_password(cheap, NEW_PASSWORD)
    assert real.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,")  # no app: the real one

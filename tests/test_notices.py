"""Notices (issue 17): coordinators hear of join requests, treasurers of balances to settle,
each as they chose — an email at once, a line in the daily digest, or nothing."""

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.ledger_support import deferred_constraints_hold  # noqa: F401
from tests.security_support import sign_up
from timebank.extensions import db
from timebank.models.notices import DigestNotice
from timebank.notices import jobs

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


def _signup(client, name, email):
    return sign_up(client, {"name": name, "email": email, "password": "a long password 1",
                            "confirm": "a long password 1"})


def test_a_join_request_mails_the_coordinator_and_shows_a_badge(app, group, client_for, login,
                                                                 outbox):
    coordinator = coordinator_of(app, group)
    assert _signup(client_for("greenvale"), "Nia New", "nia@example.org").status_code == 302
    mails = [m for m in outbox if m.recipients == [coordinator.user.email]]
    assert len(mails) == 1 and mails[0].subject == "Nia New asks to join Greenvale Timebank"
    assert "/members/pending" in mails[0].body
    page = login(client_for("greenvale"), coordinator.user.email).get("/dashboard")
    html = page.get_data(as_text=True)
    assert 'id="manage-badge"' in html


def test_a_member_chooses_digest_or_nothing(app, group, client_for, login, outbox):
    coordinator = coordinator_of(app, group)
    client = login(client_for("greenvale"), coordinator.user.email)
    page = client.get("/notices").get_data(as_text=True)
    assert "Requests to join" in page and "Balances to settle" in page
    assert client.post("/notices", data={"transfers": "off", "join_requests": "digest",
                                         "treasurer": "immediate"}).status_code == 302
    outbox.clear()
    _signup(client_for("greenvale"), "Nia New", "nia@example.org")
    assert not [m for m in outbox if m.recipients == [coordinator.user.email]]
    with app.app_context():
        (notice,) = db.session.scalars(sa.select(DigestNotice)).all()
        assert notice.text == "Nia New asks to join Greenvale Timebank"
        assert jobs.send_notice_digests() == 1
        db.session.commit()
    digest = [m for m in outbox if m.recipients == [coordinator.user.email]]
    assert len(digest) == 1 and "Nia New asks to join" in digest[0].body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(DigestNotice.id))) == 0


def test_a_member_is_not_offered_the_coordinators_kinds(group, make_member, client_for, login):
    ann = make_member(group, name="Ann")
    page = login(client_for("greenvale"), ann.user.email).get("/notices").get_data(as_text=True)
    assert "Payments and requests" in page and "Requests to join" not in page


def test_suspending_a_member_with_a_balance_tells_the_treasurer(app, group, make_member,
                                                                 make_transfer, client_for,
                                                                 login, outbox):
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    tess = make_member(group, name="Tess", role="treasurer")
    make_transfer(ann, ben, 60)
    coordinator = coordinator_of(app, group)
    client = login(client_for("greenvale"), coordinator.user.email)
    outbox.clear()
    client.post(f"/members/{ann.id}/suspension", data={"reason": "Away"})
    assert any(m.recipients == [tess.user.email] and "balance to settle" in m.subject
               for m in outbox)
    html = login(client_for("greenvale"), tess.user.email).get("/dashboard").get_data(
        as_text=True)
    assert 'id="balances-to-settle"' in html and f"/members/{ann.id}" in html

"""Messages without email addresses, unread counts, blocking, reports, favourites."""

import re

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of, walk_pager
from tests.marketplace_support import ad_ids, make_ad
from timebank.extensions import db
from timebank.models import Conversation, Group, Message, MessageReport
from timebank.tenants import group_context


@pytest.fixture
def people(make_group, make_member):
    group = make_group("greenvale")
    return (group, make_member(group, name="Ann", email="ann.secret@example.org"),
            make_member(group, name="Ben", email="ben.hidden@example.org"))


def _messages(app, group) -> list[Message]:
    with app.app_context(), group_context(group.id):
        rows = list(db.session.scalars(sa.select(Message).order_by(Message.id)))
        db.session.expunge_all()
        return rows


def test_message_an_ad_author_without_seeing_emails(app, people, client_for, login, outbox):
    group, ann, ben = people
    ad_id = make_ad(app, ann, "Bicycle repairs")
    ben_client = login(client_for("greenvale"), ben.user.email)
    ad_page = ben_client.get(f"/marketplace/ads/{ad_id}").get_data(as_text=True)
    assert "ann.secret@example.org" not in ad_page
    response = ben_client.post(f"/marketplace/messages/new/{ann.id}?ad={ad_id}",
                               data={"body": "Can you fix a flat tyre on Saturday?"})
    assert response.status_code == 302
    conversation_path = response.headers["Location"]
    [message] = _messages(app, group)
    assert (message.sender_id, message.recipient_id, message.ad_id) == (ben.id, ann.id, ad_id)

    [mail] = outbox
    assert mail.recipients == ["ann.secret@example.org"]
    assert "Ben" in mail.subject and "Ben" in mail.body and "Bicycle repairs" in mail.body
    assert "ben.hidden@example.org" not in mail.body + mail.subject + str(mail.reply_to)
    assert f"http://greenvale.localhost:5000{conversation_path}" in mail.body

    ann_client = login(client_for("greenvale"), ann.user.email)
    assert 'id="unread-count">1<' in ann_client.get("/marketplace/messages").get_data(
        as_text=True)
    thread = ann_client.get(conversation_path).get_data(as_text=True)
    assert "flat tyre" in thread and "ben.hidden@example.org" not in thread
    assert 'id="unread-count"' not in ann_client.get("/marketplace/messages").get_data(
        as_text=True)
    # Ann answers in the same thread; Ben is notified once, with no address either.
    ann_client.post(conversation_path, data={"body": "Yes, bring it at ten."})
    ann_client.post(conversation_path, data={"body": "Or eleven."})
    assert [m.recipients for m in outbox] == [["ann.secret@example.org"],
                                               ["ben.hidden@example.org"]]
    assert "ann.secret@example.org" not in outbox[1].body
    with app.app_context(), group_context(group.id):
        assert db.session.scalar(sa.select(sa.func.count(Conversation.id))) == 1


def test_viewing_a_conversation_of_a_suspended_group_leaves_it_unread(app, people, client_for,
                                                                     login):
    """A suspended group is read only: the thread shows, the messages stay unread."""
    group, ann, ben = people
    response = login(client_for("greenvale"), ben.user.email).post(
        f"/marketplace/messages/new/{ann.id}", data={"body": "Still on for Saturday?"})
    conversation_path = response.headers["Location"]
    with app.app_context():
        db.session.execute(sa.update(Group).where(Group.id == group.id)
                           .values(status="suspended"))
        db.session.commit()
    ann_client = login(client_for("greenvale"), ann.user.email)
    thread = ann_client.get(conversation_path)
    assert thread.status_code == 200 and "Still on for Saturday?" in thread.get_data(as_text=True)
    [message] = _messages(app, group)
    assert message.read_at is None
    assert 'id="unread-count">1<' in ann_client.get("/marketplace/messages").get_data(
        as_text=True)


def test_bad_messages_store_nothing(app, people, make_group, make_member, client_for, login,
                                    outbox):
    group, ann, ben = people
    other = make_group("faraway")
    stranger = make_member(other, name="Stranger")
    foreign_ad = make_ad(app, stranger, "Faraway ad")
    client = login(client_for("greenvale"), ben.user.email)
    assert client.post(f"/marketplace/messages/new/{ann.id}",
                       data={"body": "   "}).status_code == 200
    assert client.post(f"/marketplace/messages/new/{ann.id}",
                       data={"body": "x" * 5001}).status_code == 200
    assert client.post(f"/marketplace/messages/new/{ben.id}",
                       data={"body": "to myself"}).status_code == 404
    assert client.post(f"/marketplace/messages/new/{stranger.id}",
                       data={"body": "across groups"}).status_code == 404
    assert client.post(f"/marketplace/messages/new/{ann.id}?ad={foreign_ad}",
                       data={"body": "about a foreign ad"}).status_code == 404
    assert _messages(app, group) == [] and _messages(app, other) == [] and outbox == []


def test_blocked_sender_cannot_message(app, people, client_for, login, outbox):
    group, ann, ben = people
    ann_client = login(client_for("greenvale"), ann.user.email)
    ben_client = login(client_for("greenvale"), ben.user.email)
    ben_client.post(f"/marketplace/messages/new/{ann.id}", data={"body": "Hello"})
    assert ann_client.post(f"/marketplace/members/{ben.id}/block").status_code == 302
    response = ben_client.post(f"/marketplace/messages/new/{ann.id}", data={"body": "Again"})
    assert "does not accept messages from you" in response.get_data(as_text=True)
    assert [m.body for m in _messages(app, group)] == ["Hello"]
    # Ann can still write to Ben, and unblock him.
    ann_client.post(f"/marketplace/messages/new/{ben.id}", data={"body": "Please stop"})
    ann_client.post(f"/marketplace/members/{ben.id}/unblock")
    ben_client.post(f"/marketplace/messages/new/{ann.id}", data={"body": "Sorry"})
    assert [m.body for m in _messages(app, group)] == ["Hello", "Please stop", "Sorry"]


def test_recipient_reports_and_coordinator_sees_reports(app, people, client_for, login):
    group, ann, ben = people
    ben_client = login(client_for("greenvale"), ben.user.email)
    ben_client.post(f"/marketplace/messages/new/{ann.id}", data={"body": "Rude words"})
    [message] = _messages(app, group)
    # Only the recipient may report; the sender gets a 404.
    assert ben_client.post(f"/marketplace/messages/report/{message.id}",
                           data={"reason": "x"}).status_code == 404
    ann_client = login(client_for("greenvale"), ann.user.email)
    assert ann_client.get("/marketplace/reports").status_code == 403
    ann_client.post(f"/marketplace/messages/report/{message.id}", data={"reason": "Insults"})
    ann_client.post(f"/marketplace/messages/report/{message.id}", data={"reason": "Twice"})
    coordinator = coordinator_of(app, group)
    coord_client = login(client_for("greenvale"), coordinator.user.email)
    page = coord_client.get("/marketplace/reports").get_data(as_text=True)
    assert "Rude words" in page and "Insults" in page and "Twice" not in page
    # The Manage menu names the page as the page does, never a bare "Reports" (which the
    # activity report beside it could also be).
    menu = coord_client.get("/dashboard").get_data(as_text=True)
    assert 'href="/marketplace/reports" id="nav-reported-messages">Reported messages<' in menu
    assert ">Reports<" not in menu and "<title>Reported messages" in page
    with app.app_context(), group_context(group.id):
        report_id = db.session.scalar(sa.select(MessageReport.id))
    coord_client.post(f"/marketplace/reports/{report_id}/resolve")
    assert "Rude words" not in coord_client.get("/marketplace/reports").get_data(as_text=True)


def test_conversations_are_private_to_their_two_members(app, people, make_member, client_for,
                                                        login):
    group, ann, ben = people
    cai = make_member(group, name="Cai")
    login(client_for("greenvale"), ben.user.email).post(
        f"/marketplace/messages/new/{ann.id}", data={"body": "Between us"})
    [message] = _messages(app, group)
    cai_client = login(client_for("greenvale"), cai.user.email)
    assert cai_client.get(f"/marketplace/messages/{message.conversation_id}").status_code == 404
    assert cai_client.post(f"/marketplace/messages/{message.conversation_id}",
                           data={"body": "Intruding"}).status_code == 404
    assert cai_client.post(f"/marketplace/messages/report/{message.id}").status_code == 404
    assert "Between us" not in cai_client.get("/marketplace/messages").get_data(as_text=True)


def test_a_long_conversation_is_paged_by_key(app, people, client_for, login, monkeypatch):
    """A conversation shows its latest messages, oldest of them first, and "Older" pages
    back by key: a long conversation costs a page what a short one does (issue 14)."""
    group, ann, ben = people
    monkeypatch.setitem(app.config, "MESSAGES_PER_PAGE", 3)
    ben_client = login(client_for("greenvale"), ben.user.email)
    ben_client.post(f"/marketplace/messages/new/{ann.id}", data={"body": "Message 1"})
    path = f"/marketplace/messages/{_messages(app, group)[0].conversation_id}"
    for n in range(2, 8):
        ben_client.post(path, data={"body": f"Message {n}"})
    ann_client = login(client_for("greenvale"), ann.user.email)
    assert walk_pager(ann_client, path, r"Message (\d)") == [["5", "6", "7"], ["2", "3", "4"],
                                                           ["1"]]
    # Every message to Ann is read once she has opened the conversation, paged or not.
    assert all(m.read_at is not None for m in _messages(app, group))
    assert ann_client.get(f"{path}?before=99999999999999999999").status_code in (200, 400)
    assert ann_client.get(f"{path}?before=x&after=").status_code == 200


def test_favourite_ads_and_members_on_one_page(app, people, client_for, login):
    _group, ann, ben = people
    ad_id = make_ad(app, ann, "Knitting circle")
    client = login(client_for("greenvale"), ben.user.email)
    client.post(f"/marketplace/ads/{ad_id}/favourite")
    client.post(f"/marketplace/members/{ann.id}/favourite")
    page = client.get("/marketplace/favourites").get_data(as_text=True)
    assert ad_ids(page) == [ad_id] and "Ann" in page.split('id="favourite-members"')[1]
    assert "★" in client.get("/marketplace/").get_data(as_text=True)
    client.post(f"/marketplace/ads/{ad_id}/favourite")  # toggles off
    client.post(f"/marketplace/members/{ann.id}/favourite")
    page = client.get("/marketplace/favourites").get_data(as_text=True)
    assert ad_ids(page) == [] and "No favourite members yet." in page


def test_digest_preference(app, people, client_for, login):
    _group, ann, _ben = people
    client = login(client_for("greenvale"), ann.user.email)
    page = client.get("/marketplace/settings").get_data(as_text=True)
    assert re.search(r'<input checked [^>]*value="weekly"', page)  # the default
    client.post("/marketplace/settings", data={"digest_frequency": "daily"})
    from timebank.models import User

    with app.app_context():
        assert db.session.get(User, ann.user_id).digest_frequency == "daily"
    bad = client.post("/marketplace/settings", data={"digest_frequency": "hourly"})
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)

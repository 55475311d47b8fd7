"""The network marketplace on the apex (issue 18): which ads it shows (isolation), typo
tolerant search, filters, writing to an author in another group, "Pay for this" links and
other groups' matches in the digest.

Greenvale (Ann, Ada) and barrio (Luis) trade with every group (tests/trading_support.py);
closed (Carl) does not trade with the network at all.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import walk_pager
from tests.marketplace_support import make_ad, requires_trigram
from tests.trading_support import Network
from timebank.extensions import db
from timebank.mail import OUTBOX
from timebank.models import (
    Ad,
    Group,
    GroupStatus,
    NetworkConversation,
    NetworkMessage,
    User,
)
from timebank.tenants import all_groups


@pytest.fixture
def net(app, make_group, make_member):
    network = Network(app, make_group, make_member)
    network.closed = make_group("closed")
    network.carl = make_member(network.closed, name="Carl")
    with app.app_context(), all_groups():
        db.session.execute(sa.update(Group).where(Group.id == network.b.id)
                           .values(place="Lavapiés"))
        db.session.execute(sa.update(Group).where(Group.id == network.a.id)
                           .values(place="Greenvale"))
        db.session.commit()
    return network


def publish(app, member, title, **kwargs) -> int:
    """Post an ad and publish it to the network; return its id."""
    ad_id = make_ad(app, member, title, **kwargs)
    with app.app_context(), all_groups():
        db.session.execute(sa.update(Ad).where(Ad.id == ad_id).values(network_published=True))
        db.session.commit()
    return ad_id


def ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-ad-id="(\d+)"', html)]


def email_of(app, membership) -> str:
    with app.app_context():
        return db.session.get(User, membership.user_id).email


# --- isolation ------------------------------------------------------------------------------


def test_visitors_see_only_published_ads_of_trading_groups(app, net, client_for):
    shown = publish(app, net.luis, "Bicycle repair", kind="offer")
    unpublished = make_ad(app, net.luis, "Sourdough lessons")
    closed = publish(app, net.carl, "Bicycle parts")  # flag set, but the group does not trade
    apex = client_for(None)
    page = apex.get("/marketplace")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ids(html) == [shown]
    assert "Closed Timebank" not in html  # not even as a filter choice
    for hidden in (unpublished, closed):
        assert apex.get(f"/marketplace/network/ads/{hidden}").status_code == 404
    page = apex.get(f"/marketplace/network/ads/{shown}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bicycle repair" in html and "Barrio Timebank" in html and "Lavapiés" in html
    assert "@" not in re.sub(r"<head>.*</head>", "", html, flags=re.S).split("footer")[0]


def test_an_ad_leaves_the_network_when_its_group_stops_trading_or_is_suspended(
        app, net, client_for):
    ad_id = publish(app, net.luis, "Bicycle repair")
    apex = client_for(None)
    assert ids(apex.get("/marketplace").get_data(as_text=True)) == [ad_id]
    net.set_trading(net.b, trades=False)
    assert ids(apex.get("/marketplace").get_data(as_text=True)) == []
    assert apex.get(f"/marketplace/network/ads/{ad_id}").status_code == 404
    net.set_trading(net.b, trades=True)
    with app.app_context(), all_groups():
        db.session.execute(sa.update(Group).where(Group.id == net.b.id)
                           .values(status=GroupStatus.SUSPENDED))
        db.session.commit()
    assert ids(apex.get("/marketplace").get_data(as_text=True)) == []


def test_paused_ads_and_ads_of_departed_members_are_not_shown(app, net, client_for):
    publish(app, net.luis, "Paused offer", status="paused")
    assert ids(client_for(None).get("/marketplace").get_data(as_text=True)) == []


def test_the_network_pages_do_not_exist_on_a_group_site(net, client_for):
    site = client_for("greenvale")
    assert site.get("/marketplace").status_code == 404
    assert site.get("/marketplace/network/messages").status_code == 404


# --- search and filters ---------------------------------------------------------------------


def test_a_misspelled_word_finds_the_ad(app, net, client_for):
    requires_trigram(app)
    ad_id = publish(app, net.luis, "Bicycle repair", body="Brakes, gears, punctures.")
    publish(app, net.ada, "Piano lessons")
    html = client_for(None).get("/marketplace?q=bicycel").get_data(as_text=True)
    assert ids(html) == [ad_id]


def test_search_without_trigrams_matches_accents_and_partial_words(app, net, client_for):
    app.config["MARKETPLACE_TRIGRAM"] = False
    try:
        ad_id = publish(app, net.luis, "Clases de guitarra española")
        publish(app, net.ada, "Piano lessons")
        apex = client_for(None)
        assert ids(apex.get("/marketplace?q=espanola").get_data(as_text=True)) == [ad_id]
        assert ids(apex.get("/marketplace?q=guitar").get_data(as_text=True)) == [ad_id]
    finally:
        app.config["MARKETPLACE_TRIGRAM"] = None


def test_filters_group_place_category_and_kind(app, net, client_for):
    offer = publish(app, net.luis, "Bicycle repair", kind="offer")
    want = publish(app, net.luis, "Need a ladder", kind="want")
    ann = publish(app, net.ann, "Garden help", kind="offer")
    apex = client_for(None)

    def found(query):
        return set(ids(apex.get("/marketplace?" + query).get_data(as_text=True)))

    assert found("") == {offer, want, ann}
    assert found(f"group={net.b.id}") == {offer, want}
    assert found("place=lavapi%C3%A9s") == {offer, want}
    assert found("place=Greenvale") == {ann}
    assert found("kind=want") == {want}
    assert found(f"kind=offer&group={net.a.id}") == {ann}


def test_category_filter_by_name_across_groups(app, net, client_for):
    from timebank.marketplace import service as marketplace
    from timebank.tenants import group_context

    for group in (net.a, net.b):
        with app.test_request_context(), group_context(group.id):
            marketplace.create_category(name="Repairs")
            db.session.commit()
    fixed = publish(app, net.luis, "Bicycle repair", category="Repairs")
    mended = publish(app, net.ann, "Mending clothes", category="Repairs")
    publish(app, net.ann, "Garden help")
    html = client_for(None).get("/marketplace?category=repairs").get_data(as_text=True)
    assert set(ids(html)) == {fixed, mended}


def test_i_can_pay_for_it_shows_only_partner_groups(app, net, make_group, make_member,
                                                    client_for, login):
    third = make_group("third")
    thea = make_member(third, name="Thea")
    net.set_trading(third, with_all=False, partners=[net.b])  # trades with barrio only
    barrio = publish(app, net.luis, "Bicycle repair")
    third_ad = publish(app, thea, "Pottery class")
    ann_ad = publish(app, net.ann, "Garden help")
    apex = login(client_for(None), email_of(app, net.ann))
    assert set(ids(apex.get("/marketplace").get_data(as_text=True))) == {
        barrio, third_ad, ann_ad}
    # Ann's greenvale trades with every group, but third chose only barrio: no trade there;
    # her own group's ads are paid at home, not across groups.
    assert set(ids(apex.get("/marketplace?payable=1").get_data(as_text=True))) == {barrio}
    carl = login(client_for(None), email_of(app, net.carl))
    assert ids(carl.get("/marketplace?payable=1").get_data(as_text=True)) == []
    # Logged out, the filter means nothing: every network ad.
    assert len(ids(client_for(None).get("/marketplace?payable=1").get_data(as_text=True))) == 3


# --- pay from the ad ------------------------------------------------------------------------


def test_pay_for_this_links_to_the_payers_own_group(app, net, client_for, login):
    ad_id = publish(app, net.luis, "Bicycle repair", price=90)
    apex = login(client_for(None), email_of(app, net.ann))
    html = apex.get(f"/marketplace/network/ads/{ad_id}").get_data(as_text=True)
    links = re.findall(r'class="btn btn-success w-100 pay-link" href="([^"]+)"', html)
    assert len(links) == 1
    url = urlsplit(links[0].replace("&amp;", "&"))
    assert url.netloc.startswith("greenvale.") and url.path == "/trading/pay"
    assert parse_qs(url.query) == {"group": ["barrio"], "member": [str(net.luis.id)],
                                   "amount": ["90"], "description": ["Bicycle repair"],
                                   "ad": [str(ad_id)]}
    # A want is not paid for; a visitor is asked to log in; Carl's group does not trade.
    want = publish(app, net.luis, "Need a ladder", kind="want")
    assert "pay-link" not in apex.get(f"/marketplace/network/ads/{want}").get_data(as_text=True)
    visitor = client_for(None).get(f"/marketplace/network/ads/{ad_id}").get_data(as_text=True)
    assert "pay-link" not in visitor and "log-in-to-trade" in visitor
    carl = login(client_for(None), email_of(app, net.carl))
    page = carl.get(f"/marketplace/network/ads/{ad_id}").get_data(as_text=True)
    assert "pay-link" not in page and "cannot-trade" in page


# --- messages across groups -----------------------------------------------------------------


def _write(client, ad_id, body, sender_id):
    page = client.get(f"/marketplace/network/ads/{ad_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    data = {"body": body, "sender": sender_id}
    if token:
        data["csrf_token"] = token.group(1)
    return client.post(f"/marketplace/network/ads/{ad_id}/write", data=data)


def test_a_member_writes_to_an_author_in_another_group(app, net, client_for, login):
    ad_id = publish(app, net.luis, "Bicycle repair")
    OUTBOX.clear()
    ann = login(client_for(None), email_of(app, net.ann))
    response = _write(ann, ad_id, "Could you fix my brakes on Saturday?", net.ann.id)
    assert response.status_code == 302
    conversation_url = response.headers["Location"]
    # Luis is told by email, with a link to the network site, and no address of Ann's.
    assert len(OUTBOX) == 1 and OUTBOX[0].recipients == [email_of(app, net.luis)]
    assert "/marketplace/network/messages/" in OUTBOX[0].body
    assert email_of(app, net.ann) not in OUTBOX[0].body
    luis = login(client_for(None), email_of(app, net.luis))
    inbox = luis.get("/marketplace/network/messages").get_data(as_text=True)
    assert "Ann, Greenvale Timebank" in inbox
    page = luis.get(conversation_url).get_data(as_text=True)
    assert "Could you fix my brakes on Saturday?" in page
    assert email_of(app, net.ann) not in page
    reply = luis.post(conversation_url, data={"body": "Yes, at ten."})
    assert reply.status_code == 302
    assert "Yes, at ten." in ann.get(conversation_url).get_data(as_text=True)
    with app.app_context():
        conversation = db.session.scalar(sa.select(NetworkConversation))
        assert {conversation.low_group_id, conversation.high_group_id} == {net.a.id, net.b.id}
        assert conversation.ad_id == ad_id
        assert db.session.scalar(sa.select(sa.func.count(NetworkMessage.id))) == 2


def test_a_long_conversation_between_groups_is_paged_by_key(app, net, client_for, login,
                                                            monkeypatch):
    """Like a conversation in a group (issue 14): the latest messages, oldest of them first,
    and "Older" / "Newer" by key; the inbox costs the same few statements however many
    conversations it lists."""
    monkeypatch.setitem(app.config, "MESSAGES_PER_PAGE", 3)
    ad_id = publish(app, net.luis, "Bicycle repair")
    ann = login(client_for(None), email_of(app, net.ann))
    url = _write(ann, ad_id, "Message 1", net.ann.id).headers["Location"]
    for n in range(2, 8):
        ann.post(url, data={"body": f"Message {n}"})
    luis = login(client_for(None), email_of(app, net.luis))
    assert walk_pager(luis, url, r"Message (\d)") == [["5", "6", "7"], ["2", "3", "4"], ["1"]]
    with app.app_context(), all_groups():
        assert db.session.scalar(sa.select(sa.func.count(NetworkMessage.id))
                                 .where(NetworkMessage.read_at.is_(None))) == 0
    assert luis.get(f"{url}?before=99999999999999999999").status_code in (200, 400)
    assert luis.get(f"{url}?before=x&after=").status_code == 200
    inbox = luis.get("/marketplace/network/messages").get_data(as_text=True)
    assert "Ann, Greenvale Timebank" in inbox and "Message 7" in inbox


def test_the_inbox_between_groups_costs_the_same_however_many_conversations(
        app, net, client_for, login, count_queries):
    ad_id = publish(app, net.luis, "Bicycle repair")
    ann = login(client_for(None), email_of(app, net.ann))
    _write(ann, ad_id, "From Ann", net.ann.id)
    luis = login(client_for(None), email_of(app, net.luis))
    luis.get("/marketplace/network/messages")  # warm up (the login, kept)
    with count_queries() as one:
        luis.get("/marketplace/network/messages")
    ada = login(client_for(None), email_of(app, net.ada))
    _write(ada, ad_id, "From Ada", net.ada.id)
    luis.get("/marketplace/network/messages")
    with count_queries() as two:
        inbox = luis.get("/marketplace/network/messages").get_data(as_text=True)
    assert "From Ann" in inbox and "From Ada" in inbox
    assert two.count == one.count, two.statements


def test_nobody_else_reads_or_writes_a_conversation(app, net, client_for, login):
    ad_id = publish(app, net.luis, "Bicycle repair")
    ann = login(client_for(None), email_of(app, net.ann))
    url = _write(ann, ad_id, "Hello", net.ann.id).headers["Location"]
    ada = login(client_for(None), email_of(app, net.ada))
    assert ada.get(url).status_code == 404
    assert ada.post(url, data={"body": "Me too"}).status_code == 404
    assert "Hello" not in ada.get("/marketplace/network/messages").get_data(as_text=True)
    assert client_for(None).get(url).status_code == 302  # to the login page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(NetworkMessage.id))) == 1


def test_only_members_of_trading_groups_write_across(app, net, client_for, login):
    ad_id = publish(app, net.luis, "Bicycle repair")
    carl = login(client_for(None), email_of(app, net.carl))
    # Carl's group does not trade: no form, and a forged post is refused.
    assert "message-form" not in carl.get(
        f"/marketplace/network/ads/{ad_id}").get_data(as_text=True)
    assert carl.post(f"/marketplace/network/ads/{ad_id}/write",
                     data={"body": "Hi", "sender": net.carl.id}).status_code == 404
    # Ann may not write as somebody else's membership.
    ann = login(client_for(None), email_of(app, net.ann))
    assert ann.post(f"/marketplace/network/ads/{ad_id}/write",
                    data={"body": "Hi", "sender": net.ada.id}).status_code == 404
    # Luis writing to himself, or a member of his own group, uses the group's messages.
    luis = login(client_for(None), email_of(app, net.luis))
    assert "message-form" not in luis.get(
        f"/marketplace/network/ads/{ad_id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(NetworkMessage.id))) == 0


def test_messages_stop_when_the_authors_group_stops_trading(app, net, client_for, login):
    from timebank.marketplace.errors import RecipientUnavailable
    from timebank.marketplace.network import messaging

    ad_id = publish(app, net.luis, "Bicycle repair")
    ann = login(client_for(None), email_of(app, net.ann))
    url = _write(ann, ad_id, "Hello", net.ann.id).headers["Location"]
    net.set_trading(net.b, trades=False)
    response = ann.post(url, data={"body": "Still there?"})
    assert response.status_code == 200
    assert str(RecipientUnavailable.message) in response.get_data(as_text=True)
    assert messaging  # the path that refused


# --- digest ---------------------------------------------------------------------------------


def test_digest_lists_other_groups_matches_for_those_who_ask(app, net):
    from timebank.marketplace import digest

    make_ad(app, net.ann, "Looking for bicycle repair", kind="want")
    publish(app, net.luis, "Bicycle repair and servicing", kind="offer")
    make_ad(app, net.carl, "Bicycle repair workshop", kind="offer")  # not published
    with app.app_context():
        db.session.execute(sa.update(User).values(digest_frequency="weekly"))
        db.session.commit()
    OUTBOX.clear()
    with app.app_context():
        digest.send_digest(net.ann.user_id, "weekly")
        db.session.commit()
    mine = [m for m in OUTBOX if m.recipients == [email_of(app, net.ann)]]
    assert not mine or "network marketplace" not in mine[0].body
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == net.ann.user_id).values(
            digest_includes_network=True, digest_sent_at=None))
        db.session.commit()
    OUTBOX.clear()
    with app.app_context():
        assert digest.send_digest(net.ann.user_id, "weekly")
        db.session.commit()
    [mail] = [m for m in OUTBOX if m.recipients == [email_of(app, net.ann)]]
    assert "Bicycle repair and servicing (Luis, Barrio Timebank)" in mail.body
    assert "/marketplace/network/ads/" in mail.body
    assert "workshop" not in mail.body


# --- publishing from the ad form --------------------------------------------------------------


def test_the_ad_form_offers_publishing_only_when_the_group_trades(app, net, client_for, login):
    closed = login(client_for("closed"), email_of(app, net.carl))
    assert "network_published" not in closed.get("/marketplace/new").get_data(as_text=True)
    site = login(client_for("barrio"), email_of(app, net.luis))
    assert "network_published" in site.get("/marketplace/new").get_data(as_text=True)
    response = site.post("/marketplace/new", data={
        "kind": "offer", "title": "Bicycle repair", "goods_or_service": "service",
        "category": "0", "price_unit": "one_off", "network_published": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    ad_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert ids(client_for(None).get("/marketplace").get_data(as_text=True)) == [ad_id]
    edit = site.get(f"/marketplace/ads/{ad_id}/edit").get_data(as_text=True)
    assert re.search(r"<input checked[^>]*id=\"network_published\"", edit)
    site.post(f"/marketplace/ads/{ad_id}/edit", data={
        "kind": "offer", "title": "Bicycle repair", "goods_or_service": "service",
        "category": "0", "price_unit": "one_off"})
    assert ids(client_for(None).get("/marketplace").get_data(as_text=True)) == []

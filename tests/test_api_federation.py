"""Following a group from the fediverse (issue 19), against a real HTTP peer.

The peer is a small ``http.server`` in a thread playing a Mastodon account: it serves its actor
document (with its public key) and an inbox that checks the HTTP signature of whatever the
group sends, with its own few lines of draft-cavage-http-signatures-12 (not the app's code).
The group verifies the peer's signed ``Follow``, answers with a signed ``Accept`` delivered by a
job, then delivers each new ad as a signed ``Create``.
"""

import json
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import rsa

from tests import federation_support
from tests.conftest import BASE_DOMAIN
from tests.federation_support import GROUP_ACTOR, body_digest, follower_actors, post_ad
from tests.group_admin_support import in_request
from timebank.extensions import db
from timebank.tenants import group_context

peer, fedi = federation_support.peer, federation_support.fedi  # the fixtures


def test_actor_has_a_public_key(app, fedi, client_for):
    body = client_for("fedi").get("/ap/actor").get_json()
    key = body["publicKey"]
    assert key["id"] == GROUP_ACTOR + "#main-key" and key["owner"] == GROUP_ACTOR
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "private" not in json.dumps(body).lower()
    followers = client_for("fedi").get("/ap/followers").get_json()
    assert followers["type"] == "OrderedCollection" and followers["totalItems"] == 0


def test_follow_is_verified_accepted_signed_and_new_ads_delivered(app, fedi, peer, client_for):
    group, ann = fedi
    client = client_for("fedi")
    peer.group_key_pem = client.get("/ap/actor").get_json()["publicKey"]["publicKeyPem"]
    body = peer.follow()
    response = client.post("/ap/inbox", data=body, headers=peer.signed_headers(body))
    assert response.status_code == 202, response.get_data(as_text=True)
    assert follower_actors(app, group) == [peer.actor]
    # The Accept reached the follower's inbox, signed with the group's key.
    accepts = [r for r in peer.received if r["activity"]["type"] == "Accept"]
    assert len(accepts) == 1 and accepts[0]["verified"], accepts
    accept = accepts[0]["activity"]
    assert accept["actor"] == GROUP_ACTOR
    assert accept["object"]["id"] == f"{peer.actor}#follows/1"
    assert accept["object"]["actor"] == peer.actor
    # A new offer goes to the follower as a signed Create of a Note.
    post_ad(app, group, ann.id, "Sourdough loaves")
    creates = [r for r in peer.received if r["activity"]["type"] == "Create"]
    assert len(creates) == 1 and creates[0]["verified"], creates
    note = creates[0]["activity"]["object"]
    assert note["type"] == "Note" and "Sourdough loaves" in note["content"]
    assert note["attributedTo"] == GROUP_ACTOR
    assert "ann" not in json.dumps(creates[0]["activity"]).lower()  # no member named
    # Following twice keeps one follower; Undo stops the deliveries.
    again = peer.follow(2)
    assert client.post("/ap/inbox", data=again,
                       headers=peer.signed_headers(again)).status_code == 202
    assert follower_actors(app, group) == [peer.actor]
    undo = json.dumps({"id": f"{peer.actor}#undo/1", "type": "Undo", "actor": peer.actor,
                       "object": json.loads(body)}).encode()
    assert client.post("/ap/inbox", data=undo,
                       headers=peer.signed_headers(undo)).status_code == 202
    assert follower_actors(app, group) == []
    before = len(peer.received)
    post_ad(app, group, ann.id, "Rye bread")
    assert len(peer.received) == before


def test_no_delivery_when_the_group_stops_publishing(app, fedi, peer, client_for):
    from timebank.federation.service import set_publishing

    group, ann = fedi
    client = client_for("fedi")
    peer.group_key_pem = client.get("/ap/actor").get_json()["publicKey"]["publicKeyPem"]
    body = peer.follow()
    assert client.post("/ap/inbox", data=body,
                       headers=peer.signed_headers(body)).status_code == 202
    with in_request(app, group):
        set_publishing(False)
        db.session.commit()
    before = len(peer.received)
    post_ad(app, group, ann.id, "Quiet bread")
    assert len(peer.received) == before
    assert client.post("/ap/inbox", data=body,
                       headers=peer.signed_headers(body)).status_code == 404


def test_bad_inbox_requests_are_refused_never_500(app, fedi, peer, client_for):
    group, _ann = fedi
    client = client_for("fedi")
    body = peer.follow()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = peer.signed_headers(body)
    cases = {
        "unsigned": (body, {"Content-Type": "application/activity+json"}, 401),
        "malformed signature": (body, {**headers, "Signature": "keyId=nope,,="}, 401),
        "signed by another key": (body, peer.signed_headers(body, key=stranger), 401),
        "body changed after signing": (body.replace(b"follows/1", b"follows/9"), headers, 401),
        "digest of another body": (body, peer.signed_headers(body, digest=body_digest(b"x")), 401),
        "stale date": (body, peer.signed_headers(
            body, date=datetime.now(UTC) - timedelta(days=2)), 401),
        "key that cannot be fetched": (body, peer.signed_headers(
            body, key_id=f"{peer.base}/users/nobody#main-key"), 401),
        "another actor's key": (body.replace(b"/users/alice\"", b"/users/mallory\""),
                                peer.signed_headers(body.replace(b"/users/alice\"",
                                                                 b"/users/mallory\"")), 401),
        "not json": (b"{not json", peer.signed_headers(b"{not json"), 400),
        "a list": (b"[1, 2]", peer.signed_headers(b"[1, 2]"), 400),
        "no actor": (b'{"type": "Follow"}', peer.signed_headers(b'{"type": "Follow"}'), 400),
        "oversized": (b" " * (70 * 1024), {"Content-Type": "application/activity+json"}, 413),
    }
    wrong_object = json.dumps({"id": f"{peer.actor}#f", "type": "Follow", "actor": peer.actor,
                               "object": "http://elsewhere.example/actor"}).encode()
    cases["follows someone else"] = (wrong_object, peer.signed_headers(wrong_object), 400)
    for name, (data, sent, expected) in cases.items():
        response = client.post("/ap/inbox", data=data, headers=sent)
        assert response.status_code == expected, (name, response.status_code,
                                                  response.get_data(as_text=True)[:300])
    assert follower_actors(app, group) == []
    assert not [r for r in peer.received if r["activity"]["type"] == "Accept"]


def test_keys_on_private_addresses_are_not_fetched_by_default(app, fedi, peer, client_for,
                                                              monkeypatch):
    group, _ann = fedi
    monkeypatch.setitem(app.config, "FEDERATION_ALLOW_PRIVATE_HOSTS", False)
    body = peer.follow()
    response = client_for("fedi").post("/ap/inbox", data=body, headers=peer.signed_headers(body))
    assert response.status_code == 401
    assert follower_actors(app, group) == []


def test_inbox_of_a_group_that_does_not_publish_is_404(app, make_group, peer, client_for):
    make_group("quietinbox")
    body = peer.follow()
    response = client_for("quietinbox").post("/ap/inbox", data=body,
                                             headers=peer.signed_headers(body))
    assert response.status_code == 404
    assert client_for("quietinbox").get("/ap/followers").status_code == 404


def test_the_coordinator_turns_publishing_on_from_the_settings(
        app, make_group, make_member, client_for, login):
    group = make_group("fedisettings")
    boss = make_member(group, name="Boss", role="coordinator")
    client = login(client_for(group.slug), boss.user.email)
    settings = client.get("/settings").get_data(as_text=True)
    assert "/settings/fediverse" in settings  # reachable by clicking
    page = client.get("/settings/fediverse")
    assert page.status_code == 200
    response = client.post("/settings/fediverse", data={"publishes": "y"})
    assert response.status_code == 302
    page = client.get("/settings/fediverse").get_data(as_text=True)
    domain = BASE_DOMAIN.split(":")[0]
    assert f"@fedisettings@{domain}" in page
    actor = client_for(group.slug).get("/ap/actor")
    assert actor.status_code == 200 and actor.get_json()["publicKey"]["publicKeyPem"]
    assert client.post("/settings/fediverse", data={}).status_code == 302
    assert client_for(group.slug).get("/ap/actor").status_code == 404


def test_members_other_groups_and_visitors_cannot_toggle_it(
        app, make_group, make_member, client_for, login):
    from timebank.federation.service import publishes

    group = make_group("fedilocked")
    member = make_member(group, name="Mia")
    other = make_group("fediother")
    outsider = make_member(other, name="Otto", role="coordinator")
    as_member = login(client_for(group.slug), member.user.email)
    assert as_member.get("/settings/fediverse").status_code == 403
    assert as_member.post("/settings/fediverse", data={"publishes": "y"}).status_code == 403
    assert "/settings/fediverse" not in as_member.get("/dashboard").get_data(as_text=True)
    as_outsider = login(client_for(group.slug), outsider.user.email)
    response = as_outsider.post("/settings/fediverse", data={"publishes": "y"})
    assert response.status_code in (302, 403, 404)
    assert "/join" in response.headers.get("Location", "/join")
    visitor = client_for(group.slug)
    response = visitor.post("/settings/fediverse", data={"publishes": "y"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context(), group_context(group.id):
        assert not publishes()
    assert client_for(group.slug).get("/ap/actor").status_code == 404

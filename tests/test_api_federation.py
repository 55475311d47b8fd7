"""Following a group from the fediverse (issue 19), against a real HTTP peer.

The peer is a small ``http.server`` in a thread playing a Mastodon account: it serves its actor
document (with its public key) and an inbox that checks the HTTP signature of whatever the
group sends, with its own few lines of draft-cavage-http-signatures-12 (not the app's code).
The group verifies the peer's signed ``Follow``, answers with a signed ``Accept`` delivered by a
job, then delivers each new ad as a signed ``Create``.
"""

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.conftest import BASE_DOMAIN
from tests.group_admin_support import in_request
from timebank.extensions import db
from timebank.models import AdKind, Membership
from timebank.models.api import FederationFollower
from timebank.tenants import group_context

GROUP_HOST = f"fedi.{BASE_DOMAIN}"
GROUP_ACTOR = f"http://{GROUP_HOST}/ap/actor"


def _digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def _pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Peer:
    """A fediverse account at ``http://127.0.0.1:<port>/users/alice`` and its inbox."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.received: list[dict] = []  # {"activity", "verified", "problem"}
        self.group_key_pem: str | None = None
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/users/alice":
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(peer.actor_document()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                problem = peer.check_signature("post", self.path, self.headers, body)
                peer.received.append({"activity": json.loads(body), "verified": problem is None,
                                      "problem": problem, "path": self.path})
                self.send_response(202 if problem is None else 401)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.actor = f"{self.base}/users/alice"
        self.inbox = f"{self.actor}/inbox"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def actor_document(self) -> dict:
        return {"@context": ["https://www.w3.org/ns/activitystreams",
                             "https://w3id.org/security/v1"],
                "id": self.actor, "type": "Person", "preferredUsername": "alice",
                "inbox": self.inbox,
                "publicKey": {"id": f"{self.actor}#main-key", "owner": self.actor,
                              "publicKeyPem": _pem(self.key)}}

    def check_signature(self, method: str, path: str, headers, body: bytes) -> str | None:
        """What Mastodon checks on a delivery; None when it holds."""
        params = dict(part.split("=", 1) for part in headers.get("Signature", "").split(","))
        params = {k: v.strip('"') for k, v in params.items()}
        if params.get("keyId") != f"{GROUP_ACTOR}#main-key":
            return f"keyId {params.get('keyId')}"
        names = params["headers"].split()
        if not {"(request-target)", "host", "date", "digest"} <= set(names):
            return f"covers only {names}"
        if headers.get("Digest") != _digest(body):
            return "digest"
        lines = [f"(request-target): {method} {path}" if name == "(request-target)"
                 else f"{name}: {headers.get(name)}" for name in names]
        key = serialization.load_pem_public_key(self.group_key_pem.encode())
        try:
            key.verify(base64.b64decode(params["signature"]), "\n".join(lines).encode(),
                       padding.PKCS1v15(), hashes.SHA256())
        except Exception as error:  # noqa: BLE001 - any failure is a bad signature
            return f"signature: {error!r}"
        return None

    def signed_headers(self, body: bytes, *, key=None, date: datetime | None = None,
                       key_id: str | None = None, digest: str | None = None) -> dict:
        """Headers of a POST to the group's inbox, signed as Mastodon signs."""
        headers = {"host": GROUP_HOST,
                   "date": format_datetime(date or datetime.now(UTC), usegmt=True),
                   "digest": digest or _digest(body)}
        text = "\n".join(["(request-target): post /ap/inbox"]
                         + [f"{name}: {headers[name]}" for name in ("host", "date", "digest")])
        signature = (key or self.key).sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {"Date": headers["date"], "Digest": headers["digest"],
                "Content-Type": "application/activity+json",
                "Signature": f'keyId="{key_id or self.actor + "#main-key"}",'
                             f'algorithm="rsa-sha256",headers="(request-target) host date '
                             f'digest",signature="{base64.b64encode(signature).decode()}"'}

    def follow(self, number: int = 1) -> bytes:
        return json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                           "id": f"{self.actor}#follows/{number}", "type": "Follow",
                           "actor": self.actor, "object": GROUP_ACTOR}).encode()


@pytest.fixture
def peer():
    peer = Peer()
    yield peer
    peer.close()


@pytest.fixture
def fedi(app, make_group, make_member, monkeypatch):
    from timebank.federation.service import set_publishing

    monkeypatch.setitem(app.config, "FEDERATION_ALLOW_PRIVATE_HOSTS", True)
    group = make_group("fedi")
    ann = make_member(group, name="Ann")
    with in_request(app, group):
        set_publishing(True)
        db.session.commit()
    return group, ann


def _post_ad(app, group, author_id: int, title: str) -> None:
    from timebank.marketplace import service as marketplace

    with in_request(app, group):
        author = db.session.get(Membership, author_id)
        marketplace.create_ad(author=author, kind=AdKind.OFFER, title=title, tags=["bread"])
        db.session.commit()


def _followers(app, group) -> list[str]:
    with app.app_context(), group_context(group.id):
        return list(db.session.scalars(sa.select(FederationFollower.actor_url)))


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
    assert _followers(app, group) == [peer.actor]
    # The Accept reached the follower's inbox, signed with the group's key.
    accepts = [r for r in peer.received if r["activity"]["type"] == "Accept"]
    assert len(accepts) == 1 and accepts[0]["verified"], accepts
    accept = accepts[0]["activity"]
    assert accept["actor"] == GROUP_ACTOR
    assert accept["object"]["id"] == f"{peer.actor}#follows/1"
    assert accept["object"]["actor"] == peer.actor
    # A new offer goes to the follower as a signed Create of a Note.
    _post_ad(app, group, ann.id, "Sourdough loaves")
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
    assert _followers(app, group) == [peer.actor]
    undo = json.dumps({"id": f"{peer.actor}#undo/1", "type": "Undo", "actor": peer.actor,
                       "object": json.loads(body)}).encode()
    assert client.post("/ap/inbox", data=undo,
                       headers=peer.signed_headers(undo)).status_code == 202
    assert _followers(app, group) == []
    before = len(peer.received)
    _post_ad(app, group, ann.id, "Rye bread")
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
    _post_ad(app, group, ann.id, "Quiet bread")
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
        "digest of another body": (body, peer.signed_headers(body, digest=_digest(b"x")), 401),
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
    assert _followers(app, group) == []
    assert not [r for r in peer.received if r["activity"]["type"] == "Accept"]


def test_keys_on_private_addresses_are_not_fetched_by_default(app, fedi, peer, client_for,
                                                              monkeypatch):
    group, _ann = fedi
    monkeypatch.setitem(app.config, "FEDERATION_ALLOW_PRIVATE_HOSTS", False)
    body = peer.follow()
    response = client_for("fedi").post("/ap/inbox", data=body, headers=peer.signed_headers(body))
    assert response.status_code == 401
    assert _followers(app, group) == []


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

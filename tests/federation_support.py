"""A real fediverse peer for the federation tests, and a publishing group.

The peer is a small ``http.server`` in a thread playing a Mastodon account: it serves its actor
document (with its public key) and an inbox that checks the HTTP signature of whatever the
group sends, with its own few lines of draft-cavage-http-signatures-12 (not the app's code).
"""

import base64
import hashlib
import json
import threading
import time
from datetime import UTC, datetime
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


def body_digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def _pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Peer:
    """A fediverse account at ``http://127.0.0.1:<port>/users/alice`` and its inbox."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.received: list[dict] = []  # {"activity", "verified", "problem", "status"}
        self.answers: list[int] = []  # statuses the inbox answers first, one per POST
        self.on_fetch = None  # called (no arguments) as a document is fetched, before answering
        self.group_key_pem: str | None = None
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if peer.on_fetch is not None:
                    peer.on_fetch()
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
                status = peer.answers.pop(0) if peer.answers else 202 if problem is None else 401
                peer.received.append(
                    {
                        "activity": json.loads(body),
                        "verified": problem is None,
                        "problem": problem,
                        "path": self.path,
                        "status": status,
                    }
                )
                self.send_response(status)
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
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor,
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": self.inbox,
            "publicKey": {
                "id": f"{self.actor}#main-key",
                "owner": self.actor,
                "publicKeyPem": _pem(self.key),
            },
        }

    def check_signature(self, method: str, path: str, headers, body: bytes) -> str | None:
        """What Mastodon checks on a delivery; None when it holds."""
        params = dict(part.split("=", 1) for part in headers.get("Signature", "").split(","))
        params = {k: v.strip('"') for k, v in params.items()}
        if params.get("keyId") != f"{GROUP_ACTOR}#main-key":
            return f"keyId {params.get('keyId')}"
        names = params["headers"].split()
        if not {"(request-target)", "host", "date", "digest"} <= set(names):
            return f"covers only {names}"
        if headers.get("Digest") != body_digest(body):
            return "digest"
        lines = [
            f"(request-target): {method} {path}"
            if name == "(request-target)"
            else f"{name}: {headers.get(name)}"
            for name in names
        ]
        key = serialization.load_pem_public_key(self.group_key_pem.encode())
        try:
            key.verify(
                base64.b64decode(params["signature"]),
                "\n".join(lines).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception as error:  # noqa: BLE001 - any failure is a bad signature
            return f"signature: {error!r}"
        return None

    def signed_headers(
        self,
        body: bytes,
        *,
        key=None,
        date: datetime | None = None,
        key_id: str | None = None,
        digest: str | None = None,
    ) -> dict:
        """Headers of a POST to the group's inbox, signed as Mastodon signs."""
        headers = {
            "host": GROUP_HOST,
            "date": format_datetime(date or datetime.now(UTC), usegmt=True),
            "digest": digest or body_digest(body),
        }
        text = "\n".join(
            ["(request-target): post /ap/inbox"]
            + [f"{name}: {headers[name]}" for name in ("host", "date", "digest")]
        )
        signature = (key or self.key).sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {
            "Date": headers["date"],
            "Digest": headers["digest"],
            "Content-Type": "application/activity+json",
            "Signature": f'keyId="{key_id or self.actor + "#main-key"}",'
            f'algorithm="rsa-sha256",headers="(request-target) host date '
            f'digest",signature="{base64.b64encode(signature).decode()}"',
        }

    def taken(self, kind: str) -> list[dict]:
        """The activities of type ``kind`` the inbox took (answered 2xx), with a valid signature."""
        return [
            r["activity"]
            for r in self.received
            if r["activity"]["type"] == kind and r["verified"] and 200 <= r["status"] < 300
        ]

    def follow(self, number: int = 1) -> bytes:
        return json.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{self.actor}#follows/{number}",
                "type": "Follow",
                "actor": self.actor,
                "object": GROUP_ACTOR,
            }
        ).encode()


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


def post_ad(app, group, author_id: int, title: str) -> int:
    """Post an offer as member ``author_id`` (committed to the test's transaction); its id."""
    from timebank.marketplace import service as marketplace

    with in_request(app, group):
        author = db.session.get(Membership, author_id)
        ad = marketplace.create_ad(author=author, kind=AdKind.OFFER, title=title, tags=["bread"])
        db.session.commit()
        return ad.id


def follower_actors(app, group) -> list[str]:
    with app.app_context(), group_context(group.id):
        return list(db.session.scalars(sa.select(FederationFollower.actor_url)))


def follow_group(peer: Peer, client) -> None:
    """Follow the group as ``peer`` through ``client`` (on the group's host); the group's
    ``Accept`` is then delivered by a job."""
    peer.group_key_pem = client.get("/ap/actor").get_json()["publicKey"]["publicKeyPem"]
    body = peer.follow()
    response = client.post("/ap/inbox", data=body, headers=peer.signed_headers(body))
    assert response.status_code == 202, response.get_data(as_text=True)


def wait_until(condition, timeout: float = 15) -> bool:
    """Poll ``condition()`` until it is true (True) or ``timeout`` seconds pass (False): for
    deliveries that a thread or a worker process makes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

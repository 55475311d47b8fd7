"""A group's offers followable from the fediverse (issue 19): WebFinger, actor and outbox,
opt-in, checked against the ActivityStreams 2.0 vocabulary."""

from urllib.parse import urlsplit

import pytest

from tests.conftest import BASE_DOMAIN
from tests.group_admin_support import in_request
from timebank.extensions import db
from timebank.models import AdKind, Membership

AS = "https://www.w3.org/ns/activitystreams"
# ActivityStreams 2.0 vocabulary (W3C Activity Vocabulary): the types and properties used.
AS_TYPES = {"Group", "OrderedCollection", "OrderedCollectionPage", "Create", "Note", "Hashtag"}
AS_PROPERTIES = {
    "@context", "id", "type", "name", "summary", "url", "inbox", "outbox", "preferredUsername",
    "totalItems", "first", "last", "next", "prev", "partOf", "orderedItems", "actor", "object",
    "attributedTo", "content", "published", "updated", "endTime", "to", "cc", "tag",
    "followers",
}
# The W3C security vocabulary (https://w3id.org/security/v1), in the actor's @context.
SECURITY = "https://w3id.org/security/v1"
SECURITY_PROPERTIES = {"publicKey", "owner", "publicKeyPem"}


def _check_as2(node, path="$"):
    """Every key is an AS2 term (or an extension in a namespace), every type an AS2 type,
    every id an absolute URL."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_as2(item, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in SECURITY_PROPERTIES:
            continue  # checked by test_actor_and_paged_outbox_are_activitystreams
        assert key in AS_PROPERTIES, f"{path}.{key} is not an ActivityStreams 2.0 term"
        if key == "type":
            assert value in AS_TYPES, f"{path}.type {value!r} is not an AS2 type"
        if key == "id":
            assert urlsplit(value).scheme in ("http", "https"), f"{path}.id {value!r}"
        _check_as2(value, f"{path}.{key}")


@pytest.fixture
def published(app, make_group, make_member, client_for):
    from timebank.federation.service import set_publishing
    from timebank.marketplace import service as marketplace

    group = make_group("fedi")
    ann = make_member(group, name="Ann")
    with in_request(app, group):
        set_publishing(True)
        author = db.session.get(Membership, ann.id)
        for number in range(25):
            marketplace.create_ad(author=author, kind=AdKind.OFFER if number % 2 else AdKind.WANT,
                                  title=f"Bread baking {number}", tags=["food"])
        db.session.commit()
    return group


def test_webfinger_answers_the_groups_acct_address(app, published, client_for):
    domain = BASE_DOMAIN.split(":")[0]
    response = client_for(None).get(f"/.well-known/webfinger?resource=acct:fedi@{domain}")
    assert response.status_code == 200
    assert response.content_type == "application/jrd+json"
    body = response.get_json()
    assert body["subject"] == f"acct:fedi@{domain}"
    self_link = next(link for link in body["links"] if link["rel"] == "self")
    assert self_link["type"] == "application/activity+json"
    assert self_link["href"].endswith("fedi." + BASE_DOMAIN + "/ap/actor")
    unknown = client_for(None).get(f"/.well-known/webfinger?resource=acct:nobody@{domain}")
    assert unknown.status_code == 404


def test_actor_and_paged_outbox_are_activitystreams(app, published, client_for):
    client = client_for("fedi")
    actor = client.get("/ap/actor")
    assert actor.status_code == 200 and actor.content_type == "application/activity+json"
    body = actor.get_json()
    _check_as2(body)
    assert AS in body["@context"] and body["type"] == "Group"
    assert SECURITY in body["@context"]
    assert set(body["publicKey"]) == {"id", "owner", "publicKeyPem"}
    assert body["outbox"].endswith("/ap/outbox") and body["inbox"].endswith("/ap/inbox")
    outbox = client.get("/ap/outbox").get_json()
    _check_as2(outbox)
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 25
    first = client.get("/ap/outbox?page=1").get_json()
    _check_as2(first)
    assert first["type"] == "OrderedCollectionPage" and len(first["orderedItems"]) == 20
    assert first["next"].endswith("?page=2")
    item = first["orderedItems"][0]
    assert item["type"] == "Create" and item["object"]["type"] == "Note"
    assert item["object"]["attributedTo"] == body["id"]
    assert "Bread baking 24" in item["object"]["content"]
    second = client.get("/ap/outbox?page=2").get_json()
    assert len(second["orderedItems"]) == 5 and "next" not in second
    note_path = urlsplit(item["object"]["id"]).path
    assert client.get(note_path).get_json()["type"] == "Note"


def test_a_group_that_did_not_choose_it_publishes_nothing(app, make_group, client_for):
    make_group("quiet")
    client = client_for("quiet")
    for path in ("/ap/actor", "/ap/outbox", "/ap/outbox?page=1"):
        assert client.get(path).status_code == 404
    domain = BASE_DOMAIN.split(":")[0]
    assert client_for(None).get(
        f"/.well-known/webfinger?resource=acct:quiet@{domain}").status_code == 404


def test_profile_page_makes_a_token_shown_once_and_revokes_it(app, make_group, make_member,
                                                              client_for, login):
    group = make_group("tokenpage")
    ann = make_member(group, name="Ann")
    client = login(client_for(group.slug), ann.user.email)
    page = client.get("/profile").get_data(as_text=True)
    assert "Access tokens" in page
    made = client.post("/profile/tokens", data={"name": "phone", "scopes": ["read", "write"],
                                                "days": "30"})
    assert made.status_code == 200
    html = made.get_data(as_text=True)
    raw = html.split("user-select-all\">")[1].split("<")[0]
    assert raw.startswith("tb_")
    api = client_for(group.slug)
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    page = client.get("/profile").get_data(as_text=True)
    assert raw not in page and "phone" in page
    from timebank.models.api import AccessToken
    from timebank.tenants import group_context

    with app.app_context(), group_context(group.id):
        token_id = db.session.query(AccessToken.id).scalar()
    assert client.post(f"/profile/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401

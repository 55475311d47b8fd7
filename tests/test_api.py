"""The public API (issue 19): tokens, problems, transfers, idempotency, isolation, ETags."""

import pytest

from tests.api_support import bearer, token_for
from tests.conftest import ledger_state
from timebank.extensions import db
from timebank.models import utcnow
from timebank.models.api import AccessToken
from timebank.tenants import group_context

PROBLEM = "application/problem+json"


@pytest.fixture
def pair(app, make_group, make_member):
    group = make_group("apigroup")
    ann = make_member(group, name="Ann")
    ben = make_member(group, name="Ben")
    return group, ann, ben


def test_me_with_a_token_and_401_without(app, pair, client_for):
    group, ann, _ben = pair
    client = client_for(group.slug)
    raw = token_for(app, ann, scopes=("read",))
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/api/v1/me", headers=bearer(raw))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["name"] == "Ann" and body["membership"]["id"] == ann.id
    assert body["token"]["scopes"] == ["read"]
    assert "RateLimit" in response.headers and "RateLimit-Policy" in response.headers
    assert response.headers.get("ETag")
    again = client.get("/api/v1/me", headers={**bearer(raw),
                                              "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_pay_through_the_api(app, pair, client_for):
    group, ann, ben = pair
    raw = token_for(app, ann)
    client = client_for(group.slug)
    response = client.post("/api/v1/transfers", headers=bearer(raw), json={
        "kind": "payment", "counterpart_id": ben.id, "amount": 90, "description": "Gardening"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["amount"] == 90 and body["currency"] and body["state"] == "completed"
    assert body["payee"]["membership_id"] == ben.id
    assert response.headers["Location"].endswith(f"/api/v1/transfers/{body['id']}")
    assert ledger_state(app, group) == {"Ann": -90, "Ben": 90, **{
        k: v for k, v in ledger_state(app, group).items() if k not in ("Ann", "Ben")}}
    listed = client.get("/api/v1/transfers?limit=1", headers=bearer(raw)).get_json()
    assert listed["items"][0]["id"] == body["id"]
    accounts = client.get("/api/v1/accounts", headers=bearer(raw)).get_json()
    assert accounts[0]["balance"] == -90 and accounts[0]["can_still_spend"] is not None


def test_validation_and_refusals_name_the_field(app, pair, client_for):
    group, ann, ben = pair
    raw = token_for(app, ann)
    client = client_for(group.slug)
    response = client.post("/api/v1/transfers", headers=bearer(raw), json={
        "kind": "payment", "counterpart_id": ben.id, "amount": "lots", "description": "x"})
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert response.get_json()["field"] == "amount"
    response = client.post("/api/v1/transfers", headers=bearer(raw), json={
        "kind": "payment", "counterpart_id": ben.id, "amount": 10**9, "description": "x"})
    assert response.status_code == 422
    assert response.get_json()["field"] == "amount"  # CreditLimitExceeded from the ledger
    response = client.post("/api/v1/transfers", headers=bearer(raw), json={
        "kind": "payment", "counterpart_id": ann.id, "amount": 5, "description": "x"})
    assert response.status_code == 422
    assert response.get_json()["field"] == "counterpart_id"  # SameAccount


def test_read_token_cannot_write_revoked_and_expired_get_401(app, pair, client_for):
    group, ann, ben = pair
    client = client_for(group.slug)
    read_only = token_for(app, ann, scopes=("read",))
    response = client.post("/api/v1/transfers", headers=bearer(read_only), json={
        "kind": "payment", "counterpart_id": ben.id, "amount": 5, "description": "x"})
    assert response.status_code == 403
    revoked, expired = token_for(app, ann), token_for(app, ann)
    from timebank.api.tokens import hash_token

    with app.app_context(), group_context(group.id):
        db.session.query(AccessToken).filter_by(token_hash=hash_token(revoked)).update(
            {"revoked_at": utcnow()})
        db.session.query(AccessToken).filter_by(token_hash=hash_token(expired)).update(
            {"expires_at": utcnow()})
        db.session.commit()
    for raw in (revoked, expired, "tb_nonsense", "nonsense"):
        assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401


def test_another_groups_token_is_worthless_and_its_objects_not_found(
        app, pair, make_group, make_member, make_transfer, client_for):
    group, ann, ben = pair
    transfer_id = make_transfer(ann, ben, 30)
    other = make_group("apiother")
    zoe, yan = make_member(other, name="Zoe"), make_member(other, name="Yan")
    theirs = token_for(app, zoe)
    # Zoe's token on Ann's group's host: unknown there.
    assert client_for(group.slug).get("/api/v1/me", headers=bearer(theirs)).status_code == 401
    # On her own host, Ann's group's objects do not exist.
    client = client_for(other.slug)
    for path in (f"/api/v1/transfers/{transfer_id}", f"/api/v1/members/{ann.id}"):
        assert client.get(path, headers=bearer(theirs)).status_code == 404, path
    response = client.post(f"/api/v1/transfers/{transfer_id}/accept", headers=bearer(theirs))
    assert response.status_code == 404
    response = client.post("/api/v1/transfers", headers=bearer(theirs), json={
        "kind": "payment", "counterpart_id": ben.id, "amount": 5, "description": "x"})
    assert response.status_code == 422 and response.get_json()["field"] == "counterpart_id"
    assert yan  # a member of her own group exists


def test_idempotency_key_replays_and_refuses_another_body(app, pair, client_for):
    group, ann, ben = pair
    raw = token_for(app, ann)
    client = client_for(group.slug)
    headers = {**bearer(raw), "Idempotency-Key": "pay-ben-1"}
    body = {"kind": "payment", "counterpart_id": ben.id, "amount": 15, "description": "Tea"}
    first = client.post("/api/v1/transfers", headers=headers, json=body)
    second = client.post("/api/v1/transfers", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert ledger_state(app, group)["Ben"] == 15
    other = client.post("/api/v1/transfers", headers=headers, json={**body, "amount": 16})
    assert other.status_code == 422 and other.get_json()["field"] == "Idempotency-Key"
    # A refused first attempt keeps nothing: the key can be used for a good request.
    headers = {**bearer(raw), "Idempotency-Key": "pay-ben-2"}
    bad = client.post("/api/v1/transfers", headers=headers, json={**body, "amount": 10**9})
    assert bad.status_code == 422
    good = client.post("/api/v1/transfers", headers=headers, json=body)
    assert good.status_code == 201


def test_transfer_life_over_the_api(app, pair, client_for):
    group, ann, ben = pair
    ann_token, ben_token = token_for(app, ann), token_for(app, ben)
    client = client_for(group.slug)
    request = client.post("/api/v1/transfers", headers=bearer(ben_token), json={
        "kind": "request", "counterpart_id": ann.id, "amount": 45, "description": "Lesson"})
    assert request.status_code == 201 and request.get_json()["state"] == "pending"
    transfer_id = request.get_json()["id"]
    edited = client.patch(f"/api/v1/transfers/{transfer_id}", headers=bearer(ben_token),
                          json={"amount": 50, "description": "Lesson, longer"})
    assert edited.status_code == 200 and edited.get_json()["amount"] == 50
    assert client.patch(f"/api/v1/transfers/{transfer_id}", headers=bearer(ann_token),
                        json={"amount": 5, "description": "no"}).status_code == 403
    accepted = client.post(f"/api/v1/transfers/{transfer_id}/accept", headers=bearer(ann_token))
    assert accepted.status_code == 200 and accepted.get_json()["state"] == "completed"
    withdrawn = client.post(f"/api/v1/transfers/{transfer_id}/withdraw",
                            headers=bearer(ben_token))
    assert withdrawn.status_code == 409  # NotPending: a completed transfer stays
    # Reversal is for treasurers: Ann is a member.
    response = client.post(f"/api/v1/transfers/{transfer_id}/reverse",
                           headers=bearer(ann_token), json={"reason": "oops"})
    assert response.status_code == 403


def test_openapi_document_and_docs_page(app, client_for):
    client = client_for(None)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/transfers" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html and "<script>" not in html
    assert "cdn" not in html.lower()
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_unknown_api_path_is_a_problem(app, pair, client_for):
    group, ann, _ = pair
    response = client_for(group.slug).get("/api/v1/nothing", headers=bearer(token_for(app, ann)))
    assert response.status_code == 404 and response.content_type == PROBLEM


def test_a_conversations_messages_come_newest_first_a_page_at_a_time(
        app, pair, make_group, make_member, make_transfer, client_for):
    """``GET /conversations/{id}/messages`` pages by key like ``/transfers`` (issue 14): a long
    conversation costs a request what a short one does. Only its two members read it; a
    cursor the API did not give is a 400 naming the field."""
    group, ann, ben = pair
    cai = make_member(group, name="Cai")
    client = client_for(group.slug)
    ann_token, ben_token = token_for(app, ann), token_for(app, ben)
    for n in range(1, 6):
        response = client.post("/api/v1/messages", headers=bearer(ann_token),
                               json={"recipient_id": ben.id, "body": f"Message {n}"})
        assert response.status_code == 201, response.get_data(as_text=True)
    conversation_id = response.get_json()["conversation_id"]
    path = f"/api/v1/conversations/{conversation_id}/messages"

    bodies, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = client.get(path + query, headers=bearer(ben_token))
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        assert len(body["items"]) <= 2
        bodies += [item["body"] for item in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert bodies == [f"Message {n}" for n in range(5, 0, -1)]
    read = client.get(path, headers=bearer(ben_token)).get_json()["items"]
    assert all(item["read_at"] is not None for item in read)  # Ben has opened it

    for bad in ("x", "-1", "99999999999999999999", "%C2%B2"):  # "²" is a digit, not ASCII
        response = client.get(f"{path}?cursor={bad}", headers=bearer(ben_token))
        assert response.status_code == 400 and response.content_type == PROBLEM
        assert response.get_json()["field"] == "cursor"
    assert client.get(path, headers=bearer(token_for(app, cai))).status_code == 404
    assert client.get(path).status_code == 401
    other = make_group("apimessages")
    zoe = make_member(other, name="Zoe")
    assert client_for(other.slug).get(path, headers=bearer(token_for(app, zoe))).status_code \
        == 404

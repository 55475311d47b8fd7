"""The apex's API with apex tokens (issue 19): bound to a person, not a membership, so a network
admin who belongs to no group uses the network's operations; a member sees their memberships.
A group's token is unknown on the apex and an apex token on a group's host."""

from tests.api_support import apex_token_for, bearer, token_for
from timebank.extensions import db
from timebank.models import utcnow
from timebank.models.api import ApexToken

PROBLEM = "application/problem+json"


def test_a_network_admin_without_membership_uses_the_network_api(
        app, make_group, make_network_admin, client_for):
    make_group("apexone")
    admin = make_network_admin()
    raw = apex_token_for(app, admin.id)
    apex = client_for(None)
    groups = apex.get("/api/v1/network/groups", headers=bearer(raw))
    assert groups.status_code == 200, groups.get_data(as_text=True)
    assert "apexone" in [row["slug"] for row in groups.get_json()["items"]]
    assert apex.get("/api/v1/network/requests", headers=bearer(raw)).status_code == 200
    suspended = apex.post("/api/v1/network/groups/apexone/suspend", headers=bearer(raw))
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    back = apex.post("/api/v1/network/groups/apexone/reactivate", headers=bearer(raw))
    assert back.status_code == 200 and back.get_json()["status"] == "active"
    me = apex.get("/api/v1/me", headers=bearer(raw)).get_json()
    assert me["membership"] is None and me["memberships"] == [] and me["is_network_admin"]


def test_a_members_apex_token_reads_their_memberships_not_the_network(
        app, make_group, make_member, client_for):
    group = make_group("apextwo")
    ann = make_member(group, name="Ann")
    raw = apex_token_for(app, ann.user_id)
    apex = client_for(None)
    me = apex.get("/api/v1/me", headers=bearer(raw))
    assert me.status_code == 200, me.get_data(as_text=True)
    body = me.get_json()
    assert body["membership"] is None and not body["is_network_admin"]
    assert [m["id"] for m in body["memberships"]] == [ann.id]
    for path in ("/api/v1/network/groups", "/api/v1/network/requests"):
        response = apex.get(path, headers=bearer(raw))
        assert response.status_code == 403 and response.content_type == PROBLEM
    assert apex.post("/api/v1/network/groups/apextwo/suspend",
                     headers=bearer(raw)).status_code == 403
    # Only on the apex: on the group's host the apex token is unknown, and vice versa.
    assert client_for(group.slug).get("/api/v1/me", headers=bearer(raw)).status_code == 401
    group_token = token_for(app, ann)
    assert apex.get("/api/v1/me", headers=bearer(group_token)).status_code == 401


def test_read_revoked_and_expired_apex_tokens(app, make_network_admin, make_group, client_for):
    make_group("apexthree")
    admin = make_network_admin()
    apex = client_for(None)
    read_only = apex_token_for(app, admin.id, scopes=("read",))
    assert apex.get("/api/v1/network/groups", headers=bearer(read_only)).status_code == 200
    assert apex.post("/api/v1/network/groups/apexthree/suspend",
                     headers=bearer(read_only)).status_code == 403
    from timebank.api.tokens import hash_token

    revoked, expired = apex_token_for(app, admin.id), apex_token_for(app, admin.id)
    with app.app_context():
        db.session.query(ApexToken).filter_by(token_hash=hash_token(revoked)).update(
            {"revoked_at": utcnow()})
        db.session.query(ApexToken).filter_by(token_hash=hash_token(expired)).update(
            {"expires_at": utcnow()})
        db.session.commit()
    for raw in (revoked, expired, "tb_nonsense", ""):
        assert apex.get("/api/v1/network/groups", headers=bearer(raw)).status_code == 401


def test_the_cli_makes_an_apex_token_without_a_group(app, make_network_admin, client_for):
    admin = make_network_admin("cliadmin@example.org")
    result = app.test_cli_runner().invoke(args=[
        "api", "create-token", "--email", admin.email, "--scopes", "read"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert client_for(None).get("/api/v1/network/groups",
                                headers=bearer(raw)).status_code == 200
    unknown = app.test_cli_runner().invoke(args=[
        "api", "create-token", "--email", "nobody@example.org"])
    assert unknown.exit_code != 0


def test_profile_on_the_apex_makes_and_revokes_apex_tokens(
        app, make_network_admin, make_group, client_for, login):
    admin = make_network_admin("pageadmin@example.org")
    client = login(client_for(None), admin.email)
    assert "Access tokens" in client.get("/profile").get_data(as_text=True)
    made = client.post("/profile/apex-tokens", data={"name": "script", "scopes": ["read"],
                                                     "days": "30"})
    assert made.status_code == 200
    raw = made.get_data(as_text=True).split("user-select-all\">")[1].split("<")[0]
    apex = client_for(None)
    assert apex.get("/api/v1/network/groups", headers=bearer(raw)).status_code == 200
    with app.app_context():
        token_id = db.session.query(ApexToken.id).filter_by(user_id=admin.id).scalar()
    assert client.post(f"/profile/apex-tokens/{token_id}/revoke").status_code == 302
    assert apex.get("/api/v1/network/groups", headers=bearer(raw)).status_code == 401


def test_apex_token_pages_are_for_their_owner_on_the_apex_only(
        app, make_network_admin, make_group, make_member, client_for, login):
    admin = make_network_admin("owner@example.org")
    apex_token_for(app, admin.id)
    with app.app_context():
        token_id = db.session.query(ApexToken.id).filter_by(user_id=admin.id).scalar()
    visitor = client_for(None)
    response = visitor.post("/profile/apex-tokens", data={"name": "x", "scopes": ["read"]})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    group = make_group("apexpages")
    mallory = make_member(group, name="Mallory")
    as_mallory = login(client_for(None), mallory.user.email)
    as_mallory.post(f"/profile/apex-tokens/{token_id}/revoke")
    with app.app_context():
        assert db.session.get(ApexToken, token_id).revoked_at is None  # not hers to revoke
    on_group = login(client_for(group.slug), mallory.user.email)
    assert on_group.post("/profile/apex-tokens", data={"name": "x"}).status_code == 404

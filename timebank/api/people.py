"""You and the group's members over the API (the directory's rules: active members only;
others only to coordinators, who approve them)."""

import sqlalchemy as sa
from flask import g

from timebank.api import schemas
from timebank.api.core import ApiBlueprint, fail
from timebank.api.serialize import member_json, membership_json
from timebank.extensions import db
from timebank.marketplace import search
from timebank.models import Membership
from timebank.policy import can

blp = ApiBlueprint("people_api", __name__, url_prefix="/api/v1",
                   description="You and the group's members")


@blp.route("/me", methods=["GET"])
@blp.operation("dashboard.view", also_apex=True)
@blp.response(200, schemas.MeSchema)
def me():
    """Who the token acts as: the person, this membership, all their memberships.

    On the apex (with an apex token) ``membership`` is null.
    """
    from flask_login import current_user

    from timebank.tenants import all_groups

    membership = g.membership
    user = current_user._get_current_object()
    with all_groups():  # one's own memberships in every group, as "My timebanks" shows
        memberships = list(db.session.scalars(
            sa.select(Membership).where(Membership.user_id == user.id)
            .order_by(Membership.id)))
        listed = [membership_json(m) for m in memberships]
    token = g.api_token
    return {
        "user_id": user.id, "name": user.name, "email": user.email, "locale": user.locale,
        "membership": membership_json(membership) if membership is not None else None,
        "memberships": listed, "is_network_admin": bool(user.is_network_admin),
        "token": {"name": token.name, "scopes": list(token.scopes),
                  "expires_at": token.expires_at},
    }


@blp.route("/members", methods=["GET"])
@blp.operation("members.list")
@blp.arguments(schemas.MemberQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.MemberSchema(many=True))
def members(q: str = ""):
    """The group's active members by name; ``q`` searches names, skills and ads."""
    found = search.search_members(query=q, limit=500)
    return [member_json(m) for m in found]


@blp.route("/members/<int(max=2147483647):membership_id>", methods=["GET"])
@blp.operation("members.view")
@blp.response(200, schemas.MemberSchema)
def member(membership_id: int):
    """One member (others than active ones only to those who approve members)."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or (not membership.is_active
                              and not can(g.membership, "members.approve")):
        fail(404)
    return member_json(membership)

"""The network's own resources on the apex, for network admins: groups with their figures
(suspend, reactivate) and requests to start a timebank (the console's services)."""

import math

import sqlalchemy as sa
from flask import current_app
from flask_login import current_user

from timebank.api import schemas
from timebank.api.core import ApiBlueprint, fail, refuse
from timebank.extensions import db
from timebank.models import Group
from timebank.provisioning import lifecycle, overview
from timebank.user_errors import UserError

blp = ApiBlueprint("network_api", __name__, url_prefix="/api/v1/network",
                   description="The network's groups and requests (apex; network admins)")
PER_PAGE = 50


def _row_json(row) -> dict:
    return {"id": row.id, "slug": row.slug, "name": row.name, "status": str(row.status.value),
            "members": row.members, "active_members_30_days": row.active_members,
            "transfers_30_days": row.transfers, "created_at": row.created_at}


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PER_PAGE))


@blp.route("/groups", methods=["GET"])
@blp.operation(None, apex=True)
@blp.arguments(schemas.GroupQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.GroupPageSchema)
def groups(q: str = "", status=None, page: int = 1):
    """The network's groups with members, activity and transfers in the last 30 days."""
    rows, total = overview.groups_page(search=q, status=status, page=page, per_page=PER_PAGE)
    return {"items": [_row_json(r) for r in rows], "page": page, "pages": _pages(total),
            "total": total}


def _change(slug: str, change):
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is None:
        fail(404)
    try:
        change(group=group, actor=current_user._get_current_object(), reason="API")
    except UserError as error:
        refuse(error)
    row = overview.group_row(group.id)
    return _row_json(row)


@blp.route("/groups/<string(maxlength=63):slug>/suspend", methods=["POST"])
@blp.operation(None, apex=True, scope="write")
@blp.response(200, schemas.GroupRowSchema)
def suspend(slug: str):
    """Suspend an active group: readable with a notice, every write refused."""
    return _change(slug, lifecycle.suspend_group)


@blp.route("/groups/<string(maxlength=63):slug>/reactivate", methods=["POST"])
@blp.operation(None, apex=True, scope="write")
@blp.response(200, schemas.GroupRowSchema)
def reactivate(slug: str):
    """Make a suspended or archived group active again."""
    return _change(slug, lifecycle.reactivate_group)


@blp.route("/requests", methods=["GET"])
@blp.operation(None, apex=True)
@blp.arguments(schemas.RequestQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.GroupRequestPageSchema)
def requests(status=None, page: int = 1):
    """Requests to start a timebank, newest first."""
    items, total = overview.requests_page(status=status, page=page, per_page=PER_PAGE)
    return {"items": [{"id": r.id, "name": r.name, "slug": r.slug,
                       "status": str(getattr(r.status, "value", r.status)),
                       "created_at": r.created_at} for r in items],
            "page": page, "pages": _pages(total), "total": total}


__all__ = ["blp", "current_app"]

"""A group's offers and wants, followable from the fediverse (read-only, opt-in).

* ``/.well-known/webfinger?resource=acct:<slug>@<BASE_DOMAIN>`` (on the apex, and on the
  group's host) names the group's actor;
* ``/ap/actor`` on the group's host: an ActivityStreams 2.0 ``Group`` actor;
* ``/ap/outbox``: an ``OrderedCollection`` whose pages (``?page=N``) hold one ``Create`` of a
  ``Note`` per visible offer or want, newest first.

Only a group whose coordinators chose it publishes (:class:`FederationSettings`); others answer
404 everywhere here. What is published is what the marketplace shows its members (visible ads:
active, unexpired, by an active member), without any member's email.
"""

import math

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, jsonify, request
from markupsafe import escape

from timebank.extensions import db
from timebank.marketplace.search import visible_ads
from timebank.models import Ad, AdKind, Group, GroupStatus
from timebank.models.api import FederationSettings
from timebank.tenants import group_context
from timebank.tenants.urls import group_url

bp = Blueprint("activitypub", __name__)
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"
JRD_JSON = "application/jrd+json"
PAGE_SIZE = 20


def publishes() -> bool:
    """Whether the current group publishes over ActivityPub."""
    return bool(db.session.scalar(sa.select(FederationSettings.publishes_offers)))


def set_publishing(value: bool) -> FederationSettings:
    """Turn the current group's ActivityPub presence on or off."""
    row = db.session.scalar(sa.select(FederationSettings))
    if row is None:
        row = FederationSettings(publishes_offers=value)
        db.session.add(row)
    row.publishes_offers = value
    db.session.flush()
    return row


def _json(body: dict, content_type: str = ACTIVITY_JSON):
    response = jsonify(body)
    response.content_type = content_type
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _base() -> str:
    return current_app.config["BASE_DOMAIN"].split(":")[0]


@bp.route("/.well-known/webfinger")
def webfinger():
    """Answer ``acct:<slug>@<BASE_DOMAIN>`` with the group's actor (RFC 7033)."""
    resource = request.args.get("resource", "")
    if not resource.startswith("acct:") or "@" not in resource:
        abort(400)
    slug, _, domain = resource[5:].partition("@")
    host = current_app.config["BASE_DOMAIN"]
    if domain.lower() not in {host.lower(), _base().lower()}:
        abort(404)
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug.lower()))
    if group is None or group.status != GroupStatus.ACTIVE:
        abort(404)
    if getattr(g, "group", None) is not None and g.group.id != group.id:
        abort(404)
    with group_context(group.id):
        if not publishes():
            abort(404)
    actor = group_url(group.slug, "/ap/actor")
    return _json({
        "subject": f"acct:{group.slug}@{_base()}",
        "aliases": [actor, group_url(group.slug, "/")],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
             "href": group_url(group.slug, "/")},
        ],
    }, JRD_JSON)


def _published_group() -> Group:
    group = getattr(g, "group", None)
    if group is None or not publishes():
        abort(404)
    return group


@bp.route("/ap/actor")
def actor():
    """The group as an ActivityStreams 2.0 ``Group`` actor."""
    group = _published_group()
    actor_id = group_url(group.slug, "/ap/actor")
    return _json({
        "@context": [AS_CONTEXT],
        "id": actor_id,
        "type": "Group",
        "preferredUsername": group.slug,
        "name": group.name,
        "summary": str(escape(group.description or "")),
        "url": group_url(group.slug, "/"),
        "inbox": group_url(group.slug, "/ap/inbox"),
        "outbox": group_url(group.slug, "/ap/outbox"),
    })


@bp.route("/ap/inbox", methods=["POST"])
def inbox():
    """This presence is read-only: nothing sent here is kept."""
    _published_group()
    return "", 202


def _note(ad: Ad, actor_id: str) -> dict:
    url = group_url(g.group.slug, f"/marketplace/ads/{ad.id}")
    label = "Offer" if ad.kind == AdKind.OFFER else "Want"
    content = f"<p><strong>{escape(label)}: {escape(ad.title)}</strong></p>"
    if ad.body:
        content += f"<p>{escape(ad.body[:1000])}</p>"
    tags = [{"type": "Hashtag", "name": f"#{tag}"} for tag in (ad.tags or [])]
    note = {
        "id": group_url(g.group.slug, f"/ap/ads/{ad.id}"),
        "type": "Note",
        "attributedTo": actor_id,
        "name": f"{label}: {ad.title}",
        "content": content,
        "url": url,
        "published": ad.created_at.isoformat(),
        "updated": ad.updated_at.isoformat(),
        "endTime": ad.expires_at.isoformat(),
        "to": [PUBLIC],
        "tag": tags,
    }
    return {
        "id": note["id"] + "#create",
        "type": "Create",
        "actor": actor_id,
        "published": note["published"],
        "to": [PUBLIC],
        "object": note,
    }


@bp.route("/ap/outbox")
def outbox():
    """The group's visible offers and wants, paged (``?page=1`` is the newest)."""
    group = _published_group()
    actor_id = group_url(group.slug, "/ap/actor")
    outbox_id = group_url(group.slug, "/ap/outbox")
    total = db.session.scalar(sa.select(sa.func.count()).select_from(visible_ads().subquery()))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = request.args.get("page", type=int)
    if page is None:
        return _json({"@context": AS_CONTEXT, "id": outbox_id, "type": "OrderedCollection",
                      "totalItems": total, "first": f"{outbox_id}?page=1",
                      "last": f"{outbox_id}?page={pages}"})
    if not 1 <= page <= pages:
        abort(404)
    ads = db.session.scalars(visible_ads().order_by(Ad.created_at.desc(), Ad.id.desc())
                             .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    body = {"@context": AS_CONTEXT, "id": f"{outbox_id}?page={page}",
            "type": "OrderedCollectionPage", "partOf": outbox_id,
            "orderedItems": [_note(ad, actor_id) for ad in ads]}
    if page < pages:
        body["next"] = f"{outbox_id}?page={page + 1}"
    if page > 1:
        body["prev"] = f"{outbox_id}?page={page - 1}"
    return _json(body)


@bp.route("/ap/ads/<int(max=2147483647):ad_id>")
def note(ad_id: int):
    """One published ad as its ``Note`` (so the ids in the outbox resolve)."""
    group = _published_group()
    ad = db.session.scalar(visible_ads().where(Ad.id == ad_id))
    if ad is None:
        abort(404)
    activity = _note(ad, group_url(group.slug, "/ap/actor"))
    return _json({"@context": AS_CONTEXT, **activity["object"]})

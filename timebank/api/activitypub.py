"""A group's offers and wants, followable from the fediverse (opt-in): the HTTP endpoints.

* ``/.well-known/webfinger?resource=acct:<slug>@<BASE_DOMAIN>`` (on the apex, and on the
  group's host) names the group's actor;
* ``/ap/actor`` on the group's host: an ActivityStreams 2.0 ``Group`` actor with its public key;
* ``/ap/outbox``: an ``OrderedCollection`` whose pages (``?page=N``) hold one ``Create`` of a
  ``Note`` per visible offer or want, newest first;
* ``/ap/inbox``: takes a ``Follow`` (and its ``Undo``) whose HTTP signature is the follower's;
  the group answers with a signed ``Accept``, then sends each new offer or want to its
  followers (:mod:`timebank.federation`, :mod:`timebank.marketplace.fediverse`);
* ``/ap/followers``: how many follow (no list: who follows is nobody's business).

Only a group whose coordinators chose it publishes (the settings page, or ``flask api
federation``); others answer 404 everywhere here. What is published is what the marketplace
shows its members (visible ads: active, unexpired, by an active member), without any member's
email.
"""

import json
import math

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, jsonify, request

from timebank.api.core import problem_response
from timebank.boundary import in_steps, run_in_transaction
from timebank.extensions import db
from timebank.federation import activities, jobs
from timebank.federation.activities import AS_CONTEXT
from timebank.federation.remote import (
    ACTIVITY_JSON,
    RemoteError,
    Signer,
    inbox_of,
    is_url,
    signing_actor,
)
from timebank.federation.service import (
    add_follower,
    follower_count,
    key_pair,
    publishes,
    remove_follower,
    signer,
)
from timebank.federation.signatures import SignatureError
from timebank.marketplace.search import visible_ads
from timebank.models import Ad, Group, GroupStatus
from timebank.tenants import group_context
from timebank.tenants.urls import group_url

bp = Blueprint("activitypub", __name__)
JRD_JSON = "application/jrd+json"
PAGE_SIZE = 20
INBOX_MAX_BYTES = 64 * 1024  # a Follow is a few hundred bytes


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
    """The group as an ActivityStreams 2.0 ``Group`` actor, with its public key."""
    group = _published_group()
    keys = key_pair()
    return _json(activities.actor(group, keys[0] if keys else None))


@bp.route("/ap/followers")
def followers():
    """The group's followers as a collection: how many, not who."""
    group = _published_group()
    return _json({"@context": AS_CONTEXT, "id": group_url(group.slug, "/ap/followers"),
                  "type": "OrderedCollection", "totalItems": follower_count()})


def _read_body() -> bytes | None:
    """The request's body, or None when it is larger than :data:`INBOX_MAX_BYTES`."""
    if (request.content_length or 0) > INBOX_MAX_BYTES:
        return None
    body = request.stream.read(INBOX_MAX_BYTES + 1)
    return None if len(body) > INBOX_MAX_BYTES else body


def _inbox_reads() -> tuple[int, str, Signer | None]:
    """Step 1 of the inbox: the publishing group's id, its actor's URL and its signer (404
    when it does not publish)."""
    group = _published_group()
    return group.id, group_url(group.slug, "/ap/actor"), signer()


def _take_activity(activity: dict, *, inbox_url: str | None, group_id: int) -> None:
    """Step 2 of the inbox: record a ``Follow`` and send its ``Accept`` (``inbox_url`` given),
    or forget the follower of an ``Undo``."""
    if activity["type"] == "Follow":
        add_follower(actor=activity["actor"], inbox=inbox_url)
        jobs.send(activities.accept(follow_id=activity["id"], follower=activity["actor"]),
                  [inbox_url], group_id=group_id)
    else:
        remove_follower(actor=activity["actor"])


@bp.route("/ap/inbox", methods=["POST"])
@in_steps
def inbox():
    """Take a signed ``Follow`` (answered by a signed ``Accept``) or its ``Undo``.

    401 for a missing or wrong HTTP signature (it must be the sending actor's); 400 for a body
    that is not an activity; 413 past :data:`INBOX_MAX_BYTES`; other activities are taken and
    ignored (202). The sender's key is fetched between two transactions (one reads, one
    writes), so a slow or unreachable key host holds no database connection.
    """
    group_id, me, group_signer = run_in_transaction(_inbox_reads)
    body = _read_body()
    if body is None:
        return problem_response(413, detail="This activity is too large.")
    try:
        activity = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past reason
        return problem_response(400, detail="The body is not JSON.")
    if not isinstance(activity, dict) or not is_url(activity.get("actor")):
        return problem_response(400, detail="The body is not an activity whose actor is a URL.",
                                field="actor")
    if not isinstance(activity.get("type"), str):
        return problem_response(400, detail="The activity has no type.", field="type")
    target = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    try:
        sender = signing_actor(method=request.method, target=target, headers=request.headers,
                               body=body, actor=activity["actor"], signer=group_signer)
    except SignatureError as error:
        return problem_response(401, detail=str(error))
    except RemoteError as error:
        return problem_response(401, detail=f"The signing key could not be fetched: {error}")
    kind, target_object = activity["type"], activity.get("object")
    inbox_url = None
    if kind == "Follow":
        follow_id = activity.get("id")
        if target_object != me or not isinstance(follow_id, str) or len(follow_id) > 500 \
                or not follow_id.isprintable():
            return problem_response(400, detail="A Follow has an id and names this group's "
                                    "actor as its object.", field="object")
        try:
            inbox_url = inbox_of(sender)
        except RemoteError as error:
            return problem_response(400, detail=f"The follower has no usable inbox: {error}")
    elif not (kind == "Undo" and isinstance(target_object, dict)
              and target_object.get("type") == "Follow"):
        return "", 202
    run_in_transaction(_take_activity, activity, inbox_url=inbox_url, group_id=group_id)
    return "", 202


@bp.route("/ap/outbox")
def outbox():
    """The group's visible offers and wants, paged (``?page=1`` is the newest)."""
    group = _published_group()
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
            "orderedItems": [activities.create_note(ad) for ad in ads]}
    if page < pages:
        body["next"] = f"{outbox_id}?page={page + 1}"
    if page > 1:
        body["prev"] = f"{outbox_id}?page={page - 1}"
    return _json(body)


@bp.route("/ap/ads/<int(max=2147483647):ad_id>")
def note(ad_id: int):
    """One published ad as its ``Note`` (so the ids in the outbox resolve)."""
    _published_group()
    ad = db.session.scalar(visible_ads().where(Ad.id == ad_id))
    if ad is None:
        abort(404)
    return _json({"@context": AS_CONTEXT, **activities.create_note(ad)["object"]})

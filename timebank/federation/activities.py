"""The ActivityStreams 2.0 documents the group publishes and sends: its actor, one ``Note`` per
offer or want (its ``Create``, then an ``Update`` when it is edited, a ``Delete`` when it is
closed or expires), the ``Accept`` of a ``Follow``."""

import hashlib
from datetime import datetime

from markupsafe import escape

from timebank.federation import service
from timebank.models import Ad, AdKind, Group
from timebank.tenants.urls import group_url

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def actor(group: Group, public_key_pem: str | None) -> dict:
    """The group as a ``Group`` actor, with its public key (how followers check what it
    signs) and its followers' collection."""
    actor_id = service.actor_url(group.slug)
    document = {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": actor_id,
        "type": "Group",
        "preferredUsername": group.slug,
        "name": group.name,
        "summary": str(escape(group.description or "")),
        "url": group_url(group.slug, "/"),
        "inbox": group_url(group.slug, "/ap/inbox"),
        "outbox": group_url(group.slug, "/ap/outbox"),
        "followers": group_url(group.slug, "/ap/followers"),
    }
    if public_key_pem:
        document["publicKey"] = {"id": service.key_id(group.slug), "owner": actor_id,
                                 "publicKeyPem": public_key_pem}
    return document


def note(ad: Ad) -> dict:
    """The ``Note`` that shows ``ad`` (of the current group), to the public and the group's
    followers."""
    slug = service.current_slug()
    label = "Offer" if ad.kind == AdKind.OFFER else "Want"
    content = f"<p><strong>{escape(label)}: {escape(ad.title)}</strong></p>"
    if ad.body:
        content += f"<p>{escape(ad.body[:1000])}</p>"
    return {
        "id": note_id(ad.id),
        "type": "Note",
        "attributedTo": service.actor_url(slug),
        "name": f"{label}: {ad.title}",
        "content": content,
        "url": group_url(slug, f"/marketplace/ads/{ad.id}"),
        "published": ad.created_at.isoformat(),
        "updated": ad.updated_at.isoformat(),
        "endTime": ad.expires_at.isoformat(),
        "to": [PUBLIC],
        "cc": [group_url(slug, "/ap/followers")],
        "tag": [{"type": "Hashtag", "name": f"#{tag}"} for tag in (ad.tags or [])],
    }


def note_id(ad_id: int) -> str:
    """The id (a URL) of the ``Note`` of the current group's ad ``ad_id``."""
    return group_url(service.current_slug(), f"/ap/ads/{ad_id}")


def create_note(ad: Ad) -> dict:
    """A ``Create`` of the ``Note`` that shows ``ad`` (of the current group)."""
    shown = note(ad)
    return {"id": shown["id"] + "#create", "type": "Create", "actor": shown["attributedTo"],
            "published": shown["published"], "to": shown["to"], "cc": shown["cc"],
            "object": shown}


def update_note(ad: Ad) -> dict:
    """An ``Update`` of ``ad``'s ``Note`` to what the ad now says (an edit); its id names the
    edit's time, so that each edit is a new activity."""
    shown = note(ad)
    return {"id": f"{shown['id']}#update-{ad.updated_at:%Y%m%dT%H%M%S%f}", "type": "Update",
            "actor": shown["attributedTo"], "published": shown["updated"], "to": shown["to"],
            "cc": shown["cc"], "object": shown}


def delete_note(ad_id: int, *, at: datetime) -> dict:
    """A ``Delete`` of the ``Note`` of ad ``ad_id`` (closed or expired at ``at``), whose
    object is a ``Tombstone``, as Mastodon sends it."""
    actor_id = service.actor_url()
    deleted = note_id(ad_id)
    return {"id": f"{deleted}#delete-{at:%Y%m%dT%H%M%S%f}", "type": "Delete",
            "actor": actor_id, "published": at.isoformat(), "to": [PUBLIC],
            "cc": [group_url(service.current_slug(), "/ap/followers")],
            "object": {"id": deleted, "type": "Tombstone"}}


def accept(*, follow_id: str, follower: str) -> dict:
    """The current group's ``Accept`` of the ``Follow`` ``follow_id`` sent by ``follower``."""
    actor_id = service.actor_url()
    return {
        "@context": AS_CONTEXT,
        "id": f"{actor_id}#accept-{hashlib.sha256(follow_id.encode()).hexdigest()[:16]}",
        "type": "Accept",
        "actor": actor_id,
        "object": {"id": follow_id, "type": "Follow", "actor": follower, "object": actor_id},
    }

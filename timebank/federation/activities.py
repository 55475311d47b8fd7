"""The ActivityStreams 2.0 documents the group publishes and sends: its actor, one ``Create``
of a ``Note`` per offer or want, the ``Accept`` of a ``Follow``."""

import hashlib

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


def create_note(ad: Ad) -> dict:
    """A ``Create`` of the ``Note`` that shows ``ad`` (of the current group), to the public
    and the group's followers."""
    slug = service.current_slug()
    actor_id = service.actor_url(slug)
    url = group_url(slug, f"/marketplace/ads/{ad.id}")
    label = "Offer" if ad.kind == AdKind.OFFER else "Want"
    content = f"<p><strong>{escape(label)}: {escape(ad.title)}</strong></p>"
    if ad.body:
        content += f"<p>{escape(ad.body[:1000])}</p>"
    tags = [{"type": "Hashtag", "name": f"#{tag}"} for tag in (ad.tags or [])]
    audience = [PUBLIC]
    followers = [group_url(slug, "/ap/followers")]
    note = {
        "id": group_url(slug, f"/ap/ads/{ad.id}"),
        "type": "Note",
        "attributedTo": actor_id,
        "name": f"{label}: {ad.title}",
        "content": content,
        "url": url,
        "published": ad.created_at.isoformat(),
        "updated": ad.updated_at.isoformat(),
        "endTime": ad.expires_at.isoformat(),
        "to": audience,
        "cc": followers,
        "tag": tags,
    }
    return {
        "id": note["id"] + "#create",
        "type": "Create",
        "actor": actor_id,
        "published": note["published"],
        "to": audience,
        "cc": followers,
        "object": note,
    }


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

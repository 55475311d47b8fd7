"""Whether the current group publishes over ActivityPub, its actor's key pair, its followers.

Everything here acts on the current group (tenant-scoped tables); nothing commits.
"""

import sqlalchemy as sa

from timebank.audit.service import record
from timebank.extensions import db
from timebank.federation.remote import Signer
from timebank.federation.signatures import new_key_pair
from timebank.models import Group, Membership
from timebank.models.api import FederationFollower, FederationSettings
from timebank.tenants import current_group_id
from timebank.tenants.urls import group_url


def _settings() -> FederationSettings | None:
    return db.session.scalar(sa.select(FederationSettings))


def publishes() -> bool:
    """Whether the current group publishes its offers and wants over ActivityPub."""
    return bool(db.session.scalar(sa.select(FederationSettings.publishes_offers)))


def set_publishing(value: bool, *, by: Membership | None = None) -> FederationSettings:
    """Turn the current group's ActivityPub presence on or off (in the audit trail, by ``by``;
    None: a command); the first time it is turned on, make the actor's RSA key pair (kept when
    it is turned off: followers know the key)."""
    row = _settings()
    if row is None:
        row = FederationSettings(publishes_offers=False)
        db.session.add(row)
    if row.publishes_offers != bool(value):
        record(action="settings.change", object_type="group", object_id=current_group_id(),
               actor=by, before={"fediverse": row.publishes_offers}, after={"fediverse": value})
    row.publishes_offers = bool(value)
    if value and row.private_key_pem is None:
        row.public_key_pem, row.private_key_pem = new_key_pair()
    db.session.flush()
    return row


def key_pair() -> tuple[str, str] | None:
    """The current group actor's (public, private) key, PEM; None before it first published."""
    row = _settings()
    if row is None or row.private_key_pem is None:
        return None
    return row.public_key_pem, row.private_key_pem


def signer() -> Signer | None:
    """The current group actor's key, to sign a fetch with; None before it first published."""
    keys = key_pair()
    return None if keys is None else Signer(key_id=key_id(), private_key_pem=keys[1])


def current_slug() -> str:
    """The current group's slug (in a request, a job or a command)."""
    return db.session.get(Group, current_group_id()).slug


def actor_url(slug: str | None = None) -> str:
    """The URL of the group's actor (the current group's by default)."""
    return group_url(slug or current_slug(), "/ap/actor")


def key_id(slug: str | None = None) -> str:
    """The URL naming the group actor's public key (``keyId`` of its signatures)."""
    return actor_url(slug) + "#main-key"


def add_follower(*, actor: str, inbox: str) -> FederationFollower:
    """Record that ``actor`` follows the group, delivering to ``inbox`` (idempotent)."""
    row = db.session.scalar(sa.select(FederationFollower)
                            .where(FederationFollower.actor_url == actor))
    if row is None:
        row = FederationFollower(actor_url=actor, inbox_url=inbox)
        db.session.add(row)
    row.inbox_url = inbox
    db.session.flush()
    return row


def remove_follower(*, actor: str) -> bool:
    """Forget ``actor`` as a follower; whether it was one."""
    result = db.session.execute(sa.delete(FederationFollower)
                                .where(FederationFollower.actor_url == actor))
    return bool(result.rowcount)


def follower_inboxes() -> list[str]:
    """The inboxes to deliver the group's activities to, each once (shared inboxes)."""
    return list(db.session.scalars(sa.select(FederationFollower.inbox_url).distinct()
                                   .order_by(FederationFollower.inbox_url)))


def follower_count() -> int:
    """How many fediverse actors follow the current group."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(FederationFollower)) or 0

"""Jobs: tell the group's fediverse followers about its offers and wants (issue 19).

The marketplace enqueues them when the group publishes over ActivityPub
(:mod:`timebank.marketplace.service`, :mod:`timebank.marketplace.jobs`):

* :func:`announce_ad` — a new ad, as a ``Create`` of its ``Note``;
* :func:`announce_ad_update` — an edited ad, as an ``Update`` with the new ``Note``;
* :func:`announce_ad_removal` — an ad that leaves the outbox (closed or expired, or its
  author suspended or gone: :func:`timebank.marketplace.service.withdraw_ads_of`), as a
  ``Delete`` of its ``Note``.

Each looks again when it runs, after the transaction that enqueued it committed: it sends
only what the group's outbox then shows (an ad still visible for a ``Create`` or an
``Update``, no longer visible for a ``Delete``), as one signed delivery per follower inbox
(:func:`timebank.federation.jobs.send`, retried while an inbox is down).
"""

import sqlalchemy as sa

from timebank.extensions import db
from timebank.federation import activities, jobs, service
from timebank.marketplace.search import visible_ads
from timebank.models import Ad, utcnow
from timebank.models.api import FederationSettings
from timebank.tasks import enqueue
from timebank.tenants import current_group_id


def _send(activity: dict) -> int:
    """Deliver ``activity`` to every follower inbox of the current group; return how many."""
    inboxes = service.follower_inboxes()
    if inboxes:
        jobs.send({"@context": activities.AS_CONTEXT, **activity}, inboxes,
                  group_id=current_group_id())
    return len(inboxes)


def _visible_ad(ad_id: int) -> Ad | None:
    return db.session.scalar(visible_ads().where(Ad.id == ad_id))


def announce_ad(ad_id: int) -> int:
    """Job: deliver a ``Create`` of ad ``ad_id`` to every follower inbox; return how many."""
    if not service.publishes():
        return 0
    ad = _visible_ad(ad_id)
    return 0 if ad is None else _send(activities.create_note(ad))


def announce_ad_update(ad_id: int) -> int:
    """Job: deliver an ``Update`` of edited ad ``ad_id`` (its new ``Note``) to every follower
    inbox; return how many (0 when the ad is no longer visible: its ``Delete`` is coming)."""
    if not service.publishes():
        return 0
    ad = _visible_ad(ad_id)
    return 0 if ad is None else _send(activities.update_note(ad))


def announce_ad_removal(ad_id: int) -> int:
    """Job: deliver a ``Delete`` of the ``Note`` of ad ``ad_id``, closed or expired, to every
    follower inbox; return how many (0 when the ad is visible again: renewed meanwhile)."""
    if not service.publishes() or _visible_ad(ad_id) is not None:
        return 0
    return _send(activities.delete_note(ad_id, at=utcnow()))


def announce_expired_ads(expired: list[tuple[int, int]]) -> int:
    """Enqueue :func:`announce_ad_removal` for each ``(ad id, group id)`` of ``expired`` whose
    group publishes over ActivityPub; return how many. Runs across groups (the expiry job)."""
    group_ids = {group_id for _ad_id, group_id in expired}
    publishing = set(db.session.scalars(
        sa.select(FederationSettings.group_id)
        .where(FederationSettings.publishes_offers, FederationSettings.group_id.in_(group_ids))
    )) if group_ids else set()
    removals = [(ad_id, group_id) for ad_id, group_id in expired if group_id in publishing]
    for ad_id, group_id in removals:
        enqueue(announce_ad_removal, ad_id, group_id=group_id)
    return len(removals)

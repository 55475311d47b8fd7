"""Job: send a new offer or want to the group's fediverse followers (issue 19).

Enqueued by :func:`timebank.marketplace.service.create_ad` when the group publishes over
ActivityPub; it renders the ad only if it is still visible when the job runs (what the
group's outbox shows) and enqueues one signed delivery per follower inbox
(:func:`timebank.federation.jobs.deliver`).
"""

from timebank.extensions import db
from timebank.federation import activities, jobs, service
from timebank.marketplace.search import visible_ads
from timebank.models import Ad


def announce_ad(ad_id: int) -> int:
    """Job: deliver a ``Create`` of ad ``ad_id`` to every follower inbox; return how many."""
    if not service.publishes():
        return 0
    ad = db.session.scalar(visible_ads().where(Ad.id == ad_id))
    inboxes = service.follower_inboxes()
    if ad is None or not inboxes:
        return 0
    activity = {"@context": activities.AS_CONTEXT, **activities.create_note(ad)}
    jobs.send(activity, inboxes, group_id=ad.group_id)
    return len(inboxes)


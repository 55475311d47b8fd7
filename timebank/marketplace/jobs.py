"""Marketplace jobs run by ``rq cron``: expire lapsed ads and remind authors before they lapse.

Both run across all groups (they are network housekeeping) and are safe to run repeatedly:
an ad is reminded once per lifetime (``expiry_reminded_at``, cleared on renewal) and expiring
an already expired ad changes nothing.
"""

import math
from datetime import timedelta

import sqlalchemy as sa

from timebank.extensions import db
from timebank.i18n import N_
from timebank.marketplace.fediverse import announce_expired_ads
from timebank.models import Ad, AdStatus, Group, Membership, MembershipStatus, utcnow
from timebank.tasks import enqueue
from timebank.tenants import all_groups

REMIND_DAYS_BEFORE = 3
REMINDER_SUBJECT = N_("Your ad ends soon")


def expire_ads() -> int:
    """Job: mark active ads past their ``expires_at`` as expired; return how many.

    The fediverse followers of groups that publish are then sent a ``Delete`` of each
    (:func:`timebank.marketplace.fediverse.announce_expired_ads`).
    """
    with all_groups():
        expired = db.session.execute(
            sa.update(Ad)
            .where(Ad.status == AdStatus.ACTIVE, Ad.expires_at <= utcnow())
            .values(status=AdStatus.EXPIRED)
            .returning(Ad.id, Ad.group_id)
            .execution_options(synchronize_session=False)
        ).all()
        announce_expired_ads([tuple(row) for row in expired])
    return len(expired)


def remind_expiring_ads() -> int:
    """Job: email each author whose active ad ends within ``REMIND_DAYS_BEFORE`` days, once.

    Returns how many reminders were enqueued (sent after this job commits).
    """
    from timebank.mail import send_templated_mail

    now = utcnow()
    with all_groups():
        rows = db.session.execute(
            sa.select(Ad, Membership.user_id, Group)
            .join(Membership, sa.and_(Membership.id == Ad.author_id,
                                      Membership.group_id == Ad.group_id))
            .join(Group, Group.id == Ad.group_id)
            .where(
                Ad.status == AdStatus.ACTIVE,
                Ad.expires_at > now,
                Ad.expires_at <= now + timedelta(days=REMIND_DAYS_BEFORE),
                Ad.expiry_reminded_at.is_(None),
                Membership.status == MembershipStatus.ACTIVE,
            )
            .with_for_update(of=Ad, skip_locked=True)
        ).all()
        for ad, user_id, group in rows:
            ad.expiry_reminded_at = now
            days = max(1, math.ceil((ad.expires_at - now) / timedelta(days=1)))
            enqueue(send_templated_mail, user_id, "marketplace_expiry", REMINDER_SUBJECT, {
                "ad_id": ad.id, "ad_title": ad.title, "days": days,
                "group_name": group.name, "group_slug": group.slug,
            })
        db.session.flush()
    return len(rows)


def expire_and_remind() -> None:
    """Job (rq cron, hourly): expire lapsed ads and drop their possible trades, then send due
    reminders."""
    from timebank.marketplace.matching import drop_invisible_matches

    expire_ads()
    drop_invisible_matches()
    remind_expiring_ads()

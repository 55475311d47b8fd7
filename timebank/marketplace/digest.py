"""The marketplace digest: one email per member per period listing new ads and possible trades
across **all** the member's groups, in the member's language.

* ``User.digest_frequency`` is ``daily``, ``weekly`` (the default) or ``never``.
* ``rq cron`` (see :mod:`timebank.marketplace.cron`) runs :func:`send_digests` once a day for
  ``daily`` and once a week for ``weekly``; it fans out one :func:`send_digest` job per user.
* "Once per period" holds even if the cron job runs twice or two workers race: each user's
  digest is claimed by one conditional ``UPDATE users SET digest_sent_at = now() ...`` that
  only matches when the last digest is older than the period (minus an hour of slack), and the
  email is enqueued in the same transaction, so it leaves only when the claim commits.
* The digest covers what appeared since the previous digest (or one period back, the first time).
* A member who asks for it (``User.digest_includes_network``) also gets possible trades with
  other groups' network ads (:mod:`timebank.marketplace.network.matching`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from timebank.extensions import db
from timebank.i18n import N_
from timebank.models import (
    Ad,
    DigestFrequency,
    Group,
    GroupStatus,
    Membership,
    MembershipStatus,
    User,
    utcnow,
)
from timebank.tasks import enqueue
from timebank.tenants import all_groups, group_context

PERIODS = {DigestFrequency.DAILY: timedelta(days=1), DigestFrequency.WEEKLY: timedelta(days=7)}
SLACK = timedelta(hours=1)  # a cron run a little early still counts as the next period
ADS_PER_GROUP = 10
MATCHES_PER_GROUP = 5
SUBJECT = N_("What is new in your timebanks")


def send_digests(frequency: str) -> int:
    """Job (rq cron): enqueue a digest for every user who chose ``frequency`` and is due.

    Returns how many were enqueued. Users are found across all groups on purpose.
    """
    frequency = DigestFrequency(frequency)
    if frequency not in PERIODS:
        return 0
    due_before = utcnow() - PERIODS[frequency] + SLACK
    user_ids = db.session.scalars(
        sa.select(User.id)
        .where(
            User.digest_frequency == frequency.value,
            sa.or_(User.digest_sent_at.is_(None), User.digest_sent_at <= due_before),
        )
        .order_by(User.id)
    ).all()
    for user_id in user_ids:
        enqueue(send_digest, user_id, frequency.value)
    return len(user_ids)


def _claim(user_id: int, frequency: DigestFrequency, now: datetime) -> datetime | None | bool:
    """Mark the user's digest sent at ``now``; return the previous send time (None: never), or
    False when it is not due (another run already sent this period's digest).

    The row lock makes a concurrent run wait, then see this run's committed claim.
    """
    user = db.session.execute(
        sa.select(User.digest_frequency, User.digest_sent_at)
        .where(User.id == user_id)
        .with_for_update()
    ).first()
    if user is None or user.digest_frequency != frequency.value:
        return False
    previous = user.digest_sent_at
    if previous is not None and previous > now - PERIODS[frequency] + SLACK:
        return False
    db.session.execute(
        sa.update(User).where(User.id == user_id).values(digest_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return previous


def _group_section(membership: Membership, group: Group, since: datetime) -> dict | None:
    from timebank.marketplace import matching, search

    with group_context(group.id):
        member = db.session.get(Membership, membership.id)
        ads = db.session.scalars(
            search.visible_ads()
            .where(Ad.created_at > since, Ad.author_id != member.id)
            .order_by(Ad.created_at.desc())
            .limit(ADS_PER_GROUP)
        ).all()
        matches = matching.possible_trades(membership=member, since=since,
                                           limit=MATCHES_PER_GROUP)
        if not ads and not matches:
            return None
        return {
            "group_name": group.name,
            "group_slug": group.slug,
            "ads": [{"id": ad.id, "title": ad.title, "kind": ad.kind.value,
                     "author": ad.author.user.name} for ad in ads],
            "matches": [{"mine_title": m.mine.title, "other_id": m.other.id,
                         "other_title": m.other.title,
                         "other_author": m.other.author.user.name} for m in matches],
        }


def send_digest(user_id: int, frequency: str) -> bool:
    """Job: claim this period's digest for ``user_id`` and enqueue the email, if anything is
    new in any of their groups. Returns whether an email was enqueued."""
    frequency = DigestFrequency(frequency)
    if frequency not in PERIODS:
        return False
    now = utcnow()
    previous = _claim(user_id, frequency, now)
    if previous is False:
        return False
    since = previous or now - PERIODS[frequency]
    with all_groups():  # the digest is the one place that reads every group of a user
        rows = db.session.execute(
            sa.select(Membership, Group)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Membership.user_id == user_id,
                Membership.status == MembershipStatus.ACTIVE,
                Group.status == GroupStatus.ACTIVE,
            )
            .order_by(Group.name)
        ).all()
    sections = [
        section for membership, group in rows
        if (section := _group_section(membership, group, since)) is not None
    ]
    network_matches = []
    if db.session.scalar(sa.select(User.digest_includes_network).where(User.id == user_id)):
        from timebank.marketplace.network.matching import network_matches as matches_of

        seen = set()
        for membership, _group in rows:
            for match in matches_of(membership=membership, since=since,
                                    limit=MATCHES_PER_GROUP):
                if match["other_id"] not in seen:
                    seen.add(match["other_id"])
                    network_matches.append(match)
    if not sections and not network_matches:
        return False
    from timebank.mail import send_templated_mail

    enqueue(
        send_templated_mail,
        user_id,
        "marketplace_digest",
        SUBJECT,
        {
            "sections": sections,
            "network_matches": network_matches,
            "frequency": frequency.value,
            "settings_slug": rows[0][1].slug,
        },
    )
    return True

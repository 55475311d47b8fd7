"""The daily digest of notices: one email per person listing what waited for it, then gone.

``rq cron`` (:mod:`timebank.notices.cron`) runs :func:`send_notice_digests` every day; it
queues one :func:`send_notice_digest` per person with notices waiting. Rows are claimed with
``FOR UPDATE SKIP LOCKED`` and deleted in the transaction that queues the email, so a notice
is sent once even if two runs race.
"""

import sqlalchemy as sa

from timebank.extensions import db
from timebank.i18n import N_
from timebank.models.notices import DigestNotice
from timebank.tasks import enqueue

SUBJECT = N_("Your notices of the day")


def send_notice_digests() -> int:
    """Job (rq cron, daily): queue a digest for everyone with notices waiting; how many."""
    user_ids = db.session.scalars(
        sa.select(DigestNotice.user_id).distinct().order_by(DigestNotice.user_id)).all()
    for user_id in user_ids:
        enqueue(send_notice_digest, user_id)
    return len(user_ids)


def send_notice_digest(user_id: int) -> int:
    """Job: email user ``user_id`` their waiting notices in one message; how many it held."""
    from timebank.mail import send_templated_mail

    notices = db.session.scalars(
        sa.select(DigestNotice).where(DigestNotice.user_id == user_id)
        .order_by(DigestNotice.id).with_for_update(skip_locked=True)).all()
    if not notices:
        return 0
    lines = [{"group_name": n.group_name, "text": n.text, "link": n.link} for n in notices]
    for notice in notices:
        db.session.delete(notice)
    enqueue(send_templated_mail, user_id, "notice_digest", SUBJECT, {"notices": lines})
    return len(lines)

"""Email: jobs that render a message in the recipient's language and send it through Flask-Mail.

Every feature writes mail through these jobs, queued with :func:`timebank.tasks.enqueue`, so a
message leaves only after the transaction that caused it commits (:mod:`timebank.boundary`).

With ``MAIL_SUPPRESS_SEND`` (development and tests) nothing leaves the machine: messages are
logged and kept in :data:`OUTBOX`, which tests read.
"""

import logging

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext
from flask_mail import Message

from timebank.extensions import db, mail
from timebank.i18n import context_group, locale_for_user
from timebank.models import Group, Membership, MembershipStatus, User
from timebank.tenants import all_groups

log = logging.getLogger(__name__)
OUTBOX: list[Message] = []


def send_mail(to: str, subject: str, body: str) -> None:
    """Send (or capture) one plain-text message."""
    message = Message(subject=subject, recipients=[to], body=body)
    if current_app.config.get("MAIL_SUPPRESS_SEND"):
        OUTBOX.append(message)
        log.info("mail to %s: %s\n%s", to, subject, body)
        return
    mail.send(message)


def recipient_group(user: User, context: dict) -> Group | None:
    """Return the group a mail to ``user`` speaks for: the job's group, else the group named
    in ``context`` (``group_slug``/``settings_slug``), else the user's oldest active group."""
    group = context_group()
    if group is not None:
        return group
    slug = context.get("group_slug") or context.get("settings_slug")
    if slug:
        group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
        if group is not None:
            return group
    with all_groups():  # the user's memberships span groups: an explicit, read-only escape
        return db.session.scalar(
            sa.select(Group)
            .join(Membership, Membership.group_id == Group.id)
            .where(Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE)
            .order_by(Membership.created_at, Membership.id)
            .limit(1)
        )


def recipient_locale(user: User, context: dict) -> str:
    """Return the language to write to ``user`` in: their saved preference if their group
    offers it, else that group's default language (never the sender's language)."""
    return locale_for_user(user, recipient_group(user, context))


def send_templated_mail(user_id: int, template: str, subject_key: str, context: dict) -> None:
    """Job: render ``mail/<template>.txt`` in user ``user_id``'s language and send it.

    ``subject_key`` is an untranslated msgid (marked with ``N_``), translated here in the
    recipient's language (:func:`recipient_locale`). ``context`` holds plain values only; a
    ``locale`` in it is ignored, since the job decides.
    """
    user = db.session.get(User, user_id)
    if user is None or user.is_offline:  # a member without email: nothing can reach them
        return
    with force_locale(recipient_locale(user, context)):
        subject = gettext(subject_key, **context)
        body = render_template(f"mail/{template}.txt", user=user, **context)
    send_mail(user.email, subject, body)

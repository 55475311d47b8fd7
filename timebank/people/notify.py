"""Email people about their membership, after the transaction commits.

Each message is an rq job (:func:`timebank.tasks.enqueue`) rendered in the recipient's
language. Members without email (``User.is_offline``) are skipped: nothing can reach them.
"""

from timebank.extensions import db
from timebank.mail import send_templated_mail
from timebank.models import Group, Membership
from timebank.tasks import enqueue


def tell_member(membership: Membership, template: str, subject_key: str, context: dict,
                *, path: str = "/") -> None:
    """Enqueue ``mail/<template>.txt`` to ``membership``'s person (subject: an ``N_`` msgid).

    ``context`` holds plain values; ``group_name``, ``group_slug`` and ``link`` (``path`` on
    the group's site) are added.
    """
    from timebank.tenants.urls import group_url

    user = membership.user
    if user is None or user.is_offline:
        return
    group = db.session.get(Group, membership.group_id)
    enqueue(
        send_templated_mail, user.id, template, subject_key,
        {**context, "group_name": group.name, "group_slug": group.slug,
         "link": group_url(group.slug, path)},
        group_id=group.id,
    )


def send_invitation_mail(email: str, subject_key: str, context: dict) -> None:
    """Job: render ``mail/invitation.txt`` in the group's default language and send it.

    ``email`` is the invitee's address (they may have no account yet); ``context`` holds
    ``group_name``, ``inviter``, ``message``, ``link`` and ``days``.
    """
    from flask import render_template
    from flask_babel import force_locale, gettext

    from timebank.i18n import context_group
    from timebank.mail import send_mail

    group = context_group()
    locale = group.default_locale if group is not None else "en"
    with force_locale(locale):
        subject = gettext(subject_key, **context)
        body = render_template("mail/invitation.txt", **context)
    send_mail(email, subject, body)

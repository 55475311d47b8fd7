"""Email jobs. Mail is rendered in the recipient's language, then sent through Flask-Mail.

With ``MAIL_SUPPRESS_SEND`` (development and tests) nothing leaves the machine: messages are
logged and kept in :data:`OUTBOX`, which tests read.
"""

import logging

from flask import render_template
from flask_babel import force_locale
from flask_mail import Message

from timebank.extensions import db, mail
from timebank.models import User

log = logging.getLogger(__name__)
OUTBOX: list[Message] = []


def send_mail(to: str, subject: str, body: str) -> None:
    """Send (or capture) one plain-text message."""
    message = Message(subject=subject, recipients=[to], body=body)
    from flask import current_app

    if current_app.config.get("MAIL_SUPPRESS_SEND"):
        OUTBOX.append(message)
        log.info("mail to %s: %s\n%s", to, subject, body)
        return
    mail.send(message)


def send_templated_mail(user_id: int, template: str, subject_key: str, context: dict) -> None:
    """Job: render ``mail/<template>.txt`` in user ``user_id``'s locale and send it.

    ``subject_key`` is an untranslated msgid, translated here in the recipient's locale.
    ``context`` holds plain values only.
    """
    from flask_babel import gettext

    user = db.session.get(User, user_id)
    if user is None:
        return
    with force_locale(user.locale or context.get("locale") or "en"):
        subject = gettext(subject_key, **context)
        body = render_template(f"mail/{template}.txt", user=user, **context)
    send_mail(user.email, subject, body)

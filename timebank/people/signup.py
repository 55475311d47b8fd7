"""Sign-up that confirms the email address before any account or membership exists.

:func:`start_signup` creates nothing: it emails a signed link to the address. For a new address
the link carries the name, the argon2 hash of the chosen password and the group (itsdangerous
signs it, valid :data:`CONFIRM_MAX_AGE` seconds); :func:`confirm_signup` then creates the
account and the membership request. For an address that already has an account the owner is
emailed instead (log in and join, or reset the password), and the page answers exactly as for a
new address, so the form reveals nobody's account.
"""

import secrets

from flask import url_for
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeTimedSerializer

from timebank.i18n import N_
from timebank.models import Group, JoinPolicy, Membership, User
from timebank.people import service as people
from timebank.people.errors import AlreadyMember, InvalidToken, InvitationOnly
from timebank.people.passwords import hash_password

CONFIRM_MAX_AGE = 24 * 60 * 60  # seconds


def _serializer() -> URLSafeTimedSerializer:
    from timebank.security.secrets import signing_keys

    return URLSafeTimedSerializer(signing_keys(), salt="signup-confirm")


def start_signup(*, email: str, name: str, password: str, group: Group, locale: str) -> None:
    """Email ``email`` the next step of joining ``group``; create nothing.

    Raises :class:`InvitationOnly` when the group takes members by invitation only (that is
    public, so saying it at once reveals nothing).
    """
    from timebank.mail import send_templated_mail
    from timebank.tasks import enqueue

    if group.join_policy == JoinPolicy.INVITATION:
        raise InvitationOnly()
    existing = people.find_user_by_email(email)
    if existing is not None:
        hash_password(password)  # the same work as for a new address: no timing hint
        enqueue(send_templated_mail, existing.id, "signup_existing",
                N_("Joining %(group_name)s with your account"),
                {"group_name": group.name,
                 "login_link": url_for("auth.login", next=url_for("auth.join"),
                                       _external=True),
                 "reset_link": url_for("auth.forgot_password", _external=True)},
                group_id=group.id)
        return
    token = _serializer().dumps({"email": people.normalize_email(email), "name": name.strip(),
                                 "pw": hash_password(password), "group": group.id})
    enqueue(send_signup_confirmation, email, locale, group.name,
            url_for("auth.confirm_signup", token=token, _external=True), group_id=group.id)


def send_signup_confirmation(email: str, locale: str, group_name: str, link: str) -> None:
    """Job: email the confirmation link to an address that has no account (in ``locale``)."""
    from flask import render_template
    from flask_babel import gettext

    from timebank.mail import send_mail

    with force_locale(locale):
        subject = gettext("Confirm your email to join %(group_name)s", group_name=group_name)
        body = render_template("mail/signup_confirm.txt", group_name=group_name, link=link,
                               hours=CONFIRM_MAX_AGE // 3600)
    send_mail(email, subject, body)


def confirm_signup(*, token: str, group: Group) -> tuple[User, Membership | None]:
    """Create the account and the membership request from a confirmation link.

    Returns (user, membership); membership is None when the user was already a member. A
    second click of the same link finds the account made by the first and goes on. Raises
    :class:`InvalidToken` for a bad, expired or other group's link, or when the address got an
    account another way meanwhile, and :class:`InvitationOnly`.
    """
    try:
        data = _serializer().loads(token, max_age=CONFIRM_MAX_AGE)
    except BadSignature as error:
        raise InvalidToken() from error
    if data.get("group") != group.id:
        raise InvalidToken()
    user = people.find_user_by_email(data["email"])
    if user is None:
        user = people.register_user(email=data["email"], name=data["name"],
                                    password=secrets.token_urlsafe(32))
        user.password_hash = data["pw"]
    elif user.password_hash != data["pw"]:
        raise InvalidToken()
    try:
        return user, people.request_membership(user=user, group=group)
    except AlreadyMember:
        return user, None

"""Logging in: a password checked within the abuse limits of :mod:`timebank.security.throttle`
(a growing delay and then a lock per account; failures only count)."""

from timebank.models import User
from timebank.people import service as people
from timebank.people.passwords import check_password, hash_password
from timebank.security.throttle import (
    AccountLocked,
    check_login_allowed,
    clear_failed_logins,
    record_failed_login,
    send_unlock_link,
)


def authenticate(*, email: str, password: str) -> User | None:
    """Return the user when ``email`` and ``password`` match, else None, within the limits.

    Raises :class:`AccountLocked` (the lock may be the one this wrong password caused: the
    owner is then emailed the unlock link) or :class:`TryLater`.
    """
    user = people.find_user_by_email(email)
    if user is None:
        hash_password(password)  # same work either way: no timing hint that the email exists
        return None
    check_login_allowed(user)
    if check_password(user.password_hash, password):
        clear_failed_logins(user)
        return user
    if record_failed_login(user):
        send_unlock_link(user)
        raise AccountLocked()
    return None

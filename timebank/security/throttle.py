"""Abuse limits that don't hurt members.

Per account (:class:`~timebank.models.LoginFailures`): the first :data:`FREE_FAILURES` wrong
passwords cost nothing; after that each further try must wait ``2 ** (failures - FREE_FAILURES)``
seconds (1, 2, 4, 8 s), and at :data:`LOCK_AFTER` failures the account locks: even the right
password is refused until the owner follows the link emailed to them (or resets the password).
A successful login clears the count. Whatever the client IP: guesses spread over many addresses
still lock the account.

Per client IP (Flask-Limiter, the IP as ``ProxyFix`` gives it behind ``PROXY_FIX_HOPS``
proxies): only *failed* logins count, so a whole village hall on one Wi-Fi logs in freely.

:data:`RATE_LIMITS`: every other limit, per IP and per logged-in user, applied by endpoint so
that all the numbers live here (and in the README's Security section).
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app, request
from flask_login import current_user

from timebank.extensions import db, limiter
from timebank.models import LoginFailures, User, utcnow

FREE_FAILURES = 5
LOCK_AFTER = 10
UNLOCK_LINK_MAX_AGE = 24 * 60 * 60  # seconds
# Failed logins per client IP (successful ones are not counted).
LOGIN_FAILURES_PER_IP = "10 per minute;100 per day"

# endpoint -> (limit per client IP, limit per logged-in user or None); POST only.
RATE_LIMITS = {
    "auth.signup": ("5 per hour;20 per day", None),
    "auth.forgot_password": ("5 per minute;20 per hour", None),
    "network.start": ("5 per hour;20 per day", None),
    "ledger.pay": ("60 per minute", "30 per minute;300 per day"),
    "ledger.request_payment": ("60 per minute", "30 per minute;300 per day"),
    "marketplace.new_message": ("60 per minute", "10 per minute;100 per day"),
    "marketplace.conversation": ("60 per minute", "20 per minute;300 per day"),
    # messages between groups (the network marketplace) and payments across them
    "network.marketplace_write": ("60 per minute", "10 per minute;100 per day"),
    "network.marketplace_conversation": ("60 per minute", "20 per minute;300 per day"),
    "trading.pay": ("60 per minute", "30 per minute;300 per day"),
}


class AccountLocked(Exception):
    """Too many wrong passwords: only the emailed link (or a reset) opens the account."""


class TryLater(Exception):
    """A wrong password came too recently; ``seconds`` to wait before the next try."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def _per_user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


def _failed_login(response) -> bool:
    """A login POST that did not log anyone in (the page is shown again, or refused)."""
    return response.status_code != 302


def install_rate_limits(app: Flask) -> None:
    """Put :data:`RATE_LIMITS` and the failed-login limit on their views (after blueprints)."""
    for endpoint, (per_ip, per_user) in RATE_LIMITS.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        view = limiter.limit(per_ip, methods=["POST"])(view)
        if per_user:
            view = limiter.limit(per_user, methods=["POST"], key_func=_per_user_key)(view)
        app.view_functions[endpoint] = view
    login = app.view_functions["auth.login"]
    app.view_functions["auth.login"] = limiter.limit(
        LOGIN_FAILURES_PER_IP, methods=["POST"], deduct_when=_failed_login)(login)


def check_login_allowed(user: User) -> None:
    """Raise :class:`AccountLocked` or :class:`TryLater` when ``user`` may not try now."""
    failures = db.session.get(LoginFailures, user.id)
    if failures is None:
        return
    if failures.locked_at is not None:
        raise AccountLocked()
    wait = failure_delay(failures.count)
    if wait:
        ready_at = failures.last_failed_at + timedelta(seconds=wait)
        remaining = (ready_at - utcnow()).total_seconds()
        if remaining > 0:
            raise TryLater(int(remaining) + 1)


def failure_delay(count: int) -> int:
    """Seconds to wait after ``count`` wrong passwords (0 for the first few)."""
    if count < FREE_FAILURES:
        return 0
    scale = current_app.config.get("LOGIN_FAILURE_DELAY_SCALE", 1)
    return int(scale * 2 ** (count - FREE_FAILURES))


def record_failed_login(user: User) -> bool:
    """Count a wrong password for ``user``; return True when this one locked the account."""
    now = utcnow()
    failures = db.session.get(LoginFailures, user.id)
    if failures is None:
        failures = LoginFailures(user_id=user.id, count=0, last_failed_at=now)
        db.session.add(failures)
    failures.count += 1
    failures.last_failed_at = now
    just_locked = failures.count >= LOCK_AFTER and failures.locked_at is None
    if just_locked:
        failures.locked_at = now
    db.session.flush()
    return just_locked


def clear_failed_logins(user: User) -> None:
    """Forget ``user``'s wrong passwords (a successful login, the unlock link, a reset)."""
    db.session.execute(sa.delete(LoginFailures).where(LoginFailures.user_id == user.id))


def _unlock_serializer():
    from itsdangerous import URLSafeTimedSerializer

    from timebank.security.secrets import signing_keys

    return URLSafeTimedSerializer(signing_keys(), salt="unlock-account")


def unlock_token(user: User) -> str:
    """Return the signed token of the emailed unlock link (valid one day, for this lock)."""
    failures = db.session.get(LoginFailures, user.id)
    locked_at = failures.locked_at.isoformat() if failures and failures.locked_at else ""
    return _unlock_serializer().dumps({"user": user.id, "locked": locked_at})


def unlock(token: str) -> User | None:
    """Lift the lock named by ``token``; return the user, or None if the link is not valid."""
    from itsdangerous import BadSignature

    try:
        data = _unlock_serializer().loads(token, max_age=UNLOCK_LINK_MAX_AGE)
    except BadSignature:
        return None
    failures = db.session.get(LoginFailures, data.get("user"))
    if failures is None or failures.locked_at is None:
        return db.session.get(User, data.get("user")) if failures is None else None
    if failures.locked_at.isoformat() != data.get("locked"):
        return None
    clear_failed_logins(failures_user := db.session.get(User, failures.user_id))
    return failures_user


def send_unlock_link(user: User) -> None:
    """Email ``user`` the link that lifts the lock (after commit)."""
    from flask import g, url_for

    from timebank.i18n import N_
    from timebank.mail import send_templated_mail
    from timebank.tasks import enqueue

    link = url_for("auth.unlock_account", token=unlock_token(user), _external=True)
    group = getattr(g, "group", None)
    enqueue(send_templated_mail, user.id, "account_locked",
            N_("Your timebank account is locked"),
            {"link": link, "failures": LOCK_AFTER, "hours": UNLOCK_LINK_MAX_AGE // 3600},
            group_id=group.id if group is not None else None)

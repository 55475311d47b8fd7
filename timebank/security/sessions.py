"""Sessions that end: every login is a :class:`~timebank.models.LoginSession` row.

The id Flask-Login keeps in the session and in the remember-me cookie is
``"<user id>@<host>#<token>"``: the host binds the login to its subdomain, the random token
names the row (only its SHA-256 is stored). Deleting the row ends both cookies for good, even
copies made before: at logout (that login), after a password change (every other login), after a
password reset and on "log out everywhere" (all of them). A login without "keep me logged in"
lasts at most :data:`SESSION_HOURS` hours, one with it :data:`REMEMBER_DAYS` days.

Cookies: HttpOnly, SameSite=Lax, host-only; under https also Secure and named ``__Host-…``
(the browser then refuses the cookie from http or with a Domain, so a sibling subdomain cannot
plant one).
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, request, session

from timebank.extensions import db
from timebank.models import LoginSession, Membership, User, utcnow
from timebank.tenants.cache import kept_while_unchanged

SESSION_HOURS = 24
REMEMBER_DAYS = 30


def configure_cookies(app: Flask) -> None:
    """Set the session and remember-me cookie attributes (``__Host-`` names under https)."""
    config = app.config
    https = config.get("PREFERRED_URL_SCHEME") == "https" or config.get("SESSION_COOKIE_SECURE")
    config["SESSION_COOKIE_SECURE"] = bool(https)
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_DURATION"] = timedelta(days=REMEMBER_DAYS)
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_SECURE"] = bool(https)
    config["REMEMBER_COOKIE_PATH"] = "/"
    config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = False
    # __Host- requires Secure, Path=/ and no Domain (all true here), so only under https.
    prefix = "__Host-" if https else ""
    config["SESSION_COOKIE_NAME"] = prefix + "session"
    config["REMEMBER_COOKIE_NAME"] = prefix + "remember_token"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_login_session(user: User, *, remember: bool) -> str:
    """Record a new login of ``user`` on this host and return the id for Flask-Login."""
    token = secrets.token_urlsafe(32)
    host = request.host.lower()
    lifetime = timedelta(days=REMEMBER_DAYS) if remember else timedelta(hours=SESSION_HOURS)
    now = utcnow()
    # Housekeeping where it costs nothing extra: this person's expired logins go.
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id,
                                                     LoginSession.expires_at <= now))
    db.session.add(LoginSession(user_id=user.id, token_hash=_hash(token), host=host,
                                is_remembered=remember, created_at=now,
                                expires_at=now + lifetime))
    db.session.flush()
    return f"{user.id}@{host}#{token}"


def user_for_login_id(login_id: str, *, group_id: int | None = None
                      ) -> tuple[User | None, Membership | None]:
    """Return the user of a live login on this host (None: ended, expired, other host) and,
    in the same statement, their membership in group ``group_id`` (None without one).

    The process keeps what it read (:func:`timebank.tenants.cache.kept_while_unchanged`): a
    logout, a password change or any change to the user or the membership, in any process,
    makes the next request read them again; the expiry is checked on each request."""
    rest, _, token = login_id.partition("#")
    user_id, _, host = rest.partition("@")
    if not token or not user_id.isdigit() or host != request.host.lower():
        return None, None
    token_hash = _hash(token)

    def read() -> list:
        in_group = sa.and_(Membership.user_id == User.id, Membership.group_id == group_id)
        row = db.session.execute(
            sa.select(LoginSession, User, Membership)
            .join(User, User.id == LoginSession.user_id)
            .outerjoin(Membership, in_group)
            .where(
                LoginSession.token_hash == token_hash,
                LoginSession.user_id == int(user_id),
                LoginSession.host == host,
                LoginSession.expires_at > utcnow(),
            )
        ).first()
        return [found for found in row if found is not None] if row else []

    rows = kept_while_unchanged(("login", token_hash, int(user_id), host, group_id), read)
    if not rows or rows[0].expires_at <= utcnow():
        return None, None
    return rows[1], rows[2] if len(rows) > 2 else None


def _current_token() -> str | None:
    return str(session.get("_user_id", "")).partition("#")[2] or None


def end_current_session() -> None:
    """End this login (at logout): its session and remember-me cookies stop working."""
    token = _current_token()
    if token:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.token_hash == _hash(token)))


def end_other_sessions(user: User) -> int:
    """End every login of ``user`` but this one (after a password change); return how many."""
    query = sa.delete(LoginSession).where(LoginSession.user_id == user.id)
    token = _current_token()
    if token:
        query = query.where(LoginSession.token_hash != _hash(token))
    return db.session.execute(query).rowcount


def end_all_sessions(user: User) -> int:
    """End every login of ``user`` (password reset, "log out everywhere"); return how many."""
    query = sa.delete(LoginSession).where(LoginSession.user_id == user.id)
    return db.session.execute(query).rowcount


def forget_expired_sessions() -> int:
    """Delete expired login rows (housekeeping); return how many."""
    query = sa.delete(LoginSession).where(LoginSession.expires_at <= utcnow())
    return db.session.execute(query).rowcount

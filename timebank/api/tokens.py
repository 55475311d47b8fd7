"""Personal access tokens: make, list, revoke, and find the one a request carries.

A token is ``tb_`` and 43 random URL-safe characters; only its SHA-256 is stored, so it is
shown once, when made. A group's token is bound to one membership (a tenant row), so the tenant
scoping of another group's host never finds it. An apex token (:class:`ApexToken`) is bound to
a person and works only on the apex: one's memberships, and the network's resources for
network admins, who need no membership for it. Scopes are ``read`` and ``write``; writes need
``write``.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.models import Membership, User, utcnow
from timebank.models.api import SCOPES, AccessToken, ApexToken
from timebank.user_errors import UserError

PREFIX = "tb_"
NAME_MAX = 80
MAX_DAYS = 366
DEFAULT_DAYS = 90


class TokenError(UserError):
    """A token that cannot be made as asked."""


class InvalidScopes(TokenError):
    message = _l("Choose read, write or both.")
    field = "scopes"


class InvalidExpiry(TokenError):
    message = _l("A token lasts from 1 to 366 days.")
    field = "days"


class NameRequired(TokenError):
    message = _l("Give the token a name.")
    field = "name"


def hash_token(raw: str) -> str:
    """Return the SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _checked(name: str, scopes, days: int | None) -> tuple[str, list[str]]:
    name = (name or "").strip()[:NAME_MAX]
    if not name:
        raise NameRequired()
    wanted = sorted({s.strip() for s in scopes if s.strip()})
    if not wanted or any(s not in SCOPES for s in wanted):
        raise InvalidScopes()
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidExpiry()
    return name, wanted


def _secret(days: int | None) -> dict:
    """A new secret's columns (hash, shown prefix, expiry) and, under ``raw``, the secret."""
    raw = PREFIX + secrets.token_urlsafe(32)
    return {"raw": raw, "token_hash": hash_token(raw), "prefix": raw[:10],
            "expires_at": None if days is None else utcnow() + timedelta(days=days)}


def create_token(*, membership: Membership, name: str, scopes: list[str] | tuple[str, ...],
                 days: int | None = DEFAULT_DAYS) -> tuple[AccessToken, str]:
    """Make a token for ``membership``; return (row, the token itself — shown only now).

    ``days`` from 1 to :data:`MAX_DAYS` (None: never expires — the CLI only). Raises
    :class:`NameRequired`, :class:`InvalidScopes` or :class:`InvalidExpiry`.
    """
    name, wanted = _checked(name, scopes, days)
    secret = _secret(days)
    raw = secret.pop("raw")
    token = AccessToken(group_id=membership.group_id, membership_id=membership.id, name=name,
                        scopes=wanted, **secret)
    db.session.add(token)
    db.session.flush()
    return token, raw


def create_apex_token(*, user: User, name: str, scopes: list[str] | tuple[str, ...],
                      days: int | None = DEFAULT_DAYS) -> tuple[ApexToken, str]:
    """Make an apex token for ``user`` (no membership needed); return (row, the token).

    Same arguments and errors as :func:`create_token`.
    """
    name, wanted = _checked(name, scopes, days)
    secret = _secret(days)
    raw = secret.pop("raw")
    token = ApexToken(user_id=user.id, name=name, scopes=wanted, **secret)
    db.session.add(token)
    db.session.flush()
    return token, raw


def tokens_of(membership: Membership) -> list[AccessToken]:
    """The membership's tokens that are not revoked, newest first."""
    return list(db.session.scalars(
        sa.select(AccessToken)
        .where(AccessToken.membership_id == membership.id, AccessToken.revoked_at.is_(None))
        .order_by(AccessToken.created_at.desc())
    ))


def revoke_token(*, membership: Membership, token_id: int) -> AccessToken | None:
    """Revoke one of ``membership``'s own tokens; None if it has no such token."""
    token = db.session.scalar(
        sa.select(AccessToken).where(AccessToken.id == token_id,
                                     AccessToken.membership_id == membership.id))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def apex_tokens_of(user: User) -> list[ApexToken]:
    """The user's apex tokens that are not revoked, newest first."""
    return list(db.session.scalars(
        sa.select(ApexToken)
        .where(ApexToken.user_id == user.id, ApexToken.revoked_at.is_(None))
        .order_by(ApexToken.created_at.desc())
    ))


def revoke_apex_token(*, user: User, token_id: int) -> ApexToken | None:
    """Revoke one of ``user``'s own apex tokens; None if they have no such token."""
    token = db.session.scalar(
        sa.select(ApexToken).where(ApexToken.id == token_id, ApexToken.user_id == user.id))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def find_token(raw: str, *, apex: bool = False) -> AccessToken | ApexToken | None:
    """The usable token ``raw`` names: in the current group, or on the apex an apex token
    (None: unknown, another group's or host's, revoked or expired). Marks it used at most
    once a minute."""
    if not raw.startswith(PREFIX) or len(raw) > 100:
        return None
    model = ApexToken if apex else AccessToken
    token = db.session.scalar(sa.select(model).where(model.token_hash == hash_token(raw)))
    if token is None or not token.is_usable:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token

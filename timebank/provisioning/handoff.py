"""Carry a login from the network site to one group's site, once.

Cookies are host-only by design (DESIGN.md, "Tenancy"), so a login at the apex is not a login at
``slug.example.org``. To move between "my timebanks" without logging in again, the apex signs a
short token for one user and one group; the group's site redeems it once and logs the user in
there (host-only, like a form login).

Why this is safe enough:

* the token is signed with ``SECRET_KEY`` (its own salt), names the group it is for and is
  refused on any other host; it lives :data:`MAX_AGE` seconds and is single-use (its random id
  is recorded in ``login_handoffs`` when redeemed, under a primary key);
* it embeds a fingerprint of the password hash: changing the password kills outstanding tokens;
* it is minted only by a POST (CSRF-checked) from a logged-in user at the apex, for a group
  where that user has an active membership, and redeeming it sends the browser straight on, so
  the token does not linger in the address bar or in a ``Referer``.

What remains: like any login link, someone who gets a victim to open a token minted for the
*attacker's own* account logs the victim in as the attacker on that group site (login CSRF);
the short lifetime and the "logged in as" message on arrival keep that small.
"""

import hashlib
import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from timebank.extensions import db
from timebank.models import Group, LoginHandoff, Membership, MembershipStatus, User, utcnow
from timebank.provisioning.service import ProvisioningError
from timebank.tenants import all_groups

MAX_AGE = 120  # seconds


class InvalidHandoff(ProvisioningError):
    message = _l("This login link is invalid, used or expired. Log in here instead.")


class NotAMember(ProvisioningError):
    message = _l("You are not a member of this timebank.")


def _serializer() -> URLSafeTimedSerializer:
    from timebank.security.secrets import signing_keys

    return URLSafeTimedSerializer(signing_keys(), salt="cross-host-login")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def is_member(user: User, group: Group) -> bool:
    """Return whether ``user`` has an active membership in ``group`` (any role)."""
    with all_groups():  # asked from the apex, where no group is in context
        return db.session.scalar(
            sa.select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.group_id == group.id,
                Membership.status == MembershipStatus.ACTIVE,
            )
        ) is not None


def handoff_token(*, user: User, group: Group) -> str:
    """Return a single-use token logging ``user`` in at ``group``'s site.

    Raises :class:`NotAMember` unless ``user`` is an active member of ``group``.
    """
    if not is_member(user, group):
        raise NotAMember()
    return _serializer().dumps(
        {"user": user.id, "group": group.id, "id": secrets.token_urlsafe(18),
         "fp": _fingerprint(user)}
    )


def redeem_handoff(*, token: str, group: Group) -> User:
    """Return the user ``token`` logs in at ``group``'s site, spending the token.

    Raises :class:`InvalidHandoff` for a bad, expired, used or foreign token, or when the
    user's password changed since it was made.
    """
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except (BadSignature, SignatureExpired) as error:
        raise InvalidHandoff() from error
    user = db.session.get(User, data.get("user") or 0)
    if user is None or data.get("group") != group.id or data.get("fp") != _fingerprint(user):
        raise InvalidHandoff()
    try:
        with db.session.begin_nested():
            db.session.add(LoginHandoff(token_id=str(data.get("id"))[:64], user_id=user.id,
                                        used_at=utcnow()))
    except sa.exc.IntegrityError as error:  # already used
        raise InvalidHandoff() from error
    return user

"""Two-factor sign-in: TOTP (RFC 6238, pyotp) with single-use recovery codes.

Anyone may turn it on from the profile page. The network setting ``staff_need_two_factor`` makes
it required for network admins and for coordinators and treasurers of any group: at login such
a person without a second factor is sent to set one up before any other page opens.

Login with a second factor is two steps: the password step stores only the pending user id, the
host and the "keep me logged in" choice in the session (nothing is logged in yet); the code step
logs in. Wrong codes count as failed logins (:mod:`timebank.security.throttle`).
"""

import base64
import hashlib
import io
import secrets

import pyotp
import sqlalchemy as sa

from timebank.extensions import db
from timebank.models import Membership, MembershipStatus, Role, TwoFactor, User, utcnow
from timebank.models.console import NetworkSettings
from timebank.tenants import all_groups

ISSUER = "Timebank"
RECOVERY_CODES = 10
STAFF_ROLES = (Role.COORDINATOR, Role.TREASURER)


def enabled_factor(user: User) -> TwoFactor | None:
    """Return ``user``'s active second factor, or None."""
    factor = db.session.get(TwoFactor, user.id)
    return factor if factor is not None and factor.enabled_at is not None else None


def start_setup(user: User) -> TwoFactor:
    """Return the setup in progress for ``user`` (a fresh secret the first time)."""
    factor = db.session.get(TwoFactor, user.id)
    if factor is None:
        factor = TwoFactor(user_id=user.id, secret=pyotp.random_base32(), last_step=0,
                           recovery_code_hashes=[])
        db.session.add(factor)
        db.session.flush()
    return factor


def provisioning_uri(user: User, factor: TwoFactor) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(factor.secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """Return ``uri`` as a QR code in an SVG ``data:`` URI (allowed by the CSP's img-src)."""
    import segno

    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _new_recovery_codes(factor: TwoFactor) -> list[str]:
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    factor.recovery_code_hashes = [_hash(code) for code in codes]
    return codes


def _accept_totp(factor: TwoFactor, code: str) -> bool:
    totp = pyotp.TOTP(factor.secret)
    code = code.replace(" ", "")
    now = utcnow()
    for offset in (0, -1, 1):  # one step of clock drift either way
        step = totp.timecode(now) + offset
        if step > factor.last_step and secrets.compare_digest(totp.generate_otp(step), code):
            factor.last_step = step  # a code works once
            return True
    return False


def finish_setup(user: User, code: str) -> list[str] | None:
    """Turn the factor on if ``code`` comes from the app; return the recovery codes (shown
    once), or None when the code is wrong."""
    factor = start_setup(user)
    if not _accept_totp(factor, code):
        return None
    factor.enabled_at = utcnow()
    codes = _new_recovery_codes(factor)
    db.session.flush()
    return codes


def check_code(user: User, code: str) -> bool:
    """Return whether ``code`` (an app code or an unused recovery code) is right for ``user``;
    a recovery code is used up."""
    factor = enabled_factor(user)
    if factor is None or not code:
        return False
    if _accept_totp(factor, code):
        db.session.flush()
        return True
    hashed = _hash(code)
    if hashed in factor.recovery_code_hashes:
        factor.recovery_code_hashes = [h for h in factor.recovery_code_hashes if h != hashed]
        db.session.flush()
        return True
    return False


def new_recovery_codes(user: User) -> list[str]:
    """Replace ``user``'s recovery codes; return the new ones (shown once)."""
    codes = _new_recovery_codes(enabled_factor(user))
    db.session.flush()
    return codes


def turn_off(user: User) -> None:
    """Remove ``user``'s second factor."""
    db.session.execute(sa.delete(TwoFactor).where(TwoFactor.user_id == user.id))


def required_for(user: User) -> bool:
    """Return whether the network requires a second factor of ``user`` (staff, when set)."""
    settings = db.session.get(NetworkSettings, 1)
    if settings is None or not settings.staff_need_two_factor:
        return False
    if user.is_network_admin:
        return True
    with all_groups():  # staff of any group, wherever they log in
        return db.session.scalar(sa.select(sa.exists().where(
            Membership.user_id == user.id, Membership.role.in_(STAFF_ROLES),
            Membership.status == MembershipStatus.ACTIVE))) or False

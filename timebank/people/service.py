"""People: users (one per person, network-wide) and their memberships in groups.

Rules enforced here:

* emails are unique case-insensitively;
* joining follows the group's join policy: ``open`` activates at once, ``approval`` leaves the
  membership pending until a coordinator approves it, ``invitation`` refuses anyone who has
  no invitation (:mod:`timebank.people.invitations`);
* a coordinator's decision on a join request is recorded in the audit trail and emailed to
  the person, with the coordinator's message;
* an active membership has an account in every active currency of its group;
* password-reset links are signed, expire after ``PASSWORD_RESET_MAX_AGE`` seconds, and are
  single-use (the token embeds a fingerprint of the current password hash, so it dies once the
  password changes).

Functions take keyword-only arguments, raise :class:`~timebank.people.errors.PeopleError`
subclasses, and never commit.
"""

import hashlib

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from timebank.extensions import db
from timebank.i18n import N_
from timebank.ledger.service import open_account
from timebank.models import (
    Currency,
    Group,
    JoinPolicy,
    Membership,
    MembershipStatus,
    Role,
    User,
    utcnow,
)
from timebank.people.errors import (
    AlreadyMember,
    EmailTaken,
    InvalidToken,
    InvitationOnly,
    NotPending,
    WrongPassword,
)
from timebank.people.passwords import check_password, hash_password


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """Return the user with this email (case-insensitive), or None."""
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == normalize_email(email))
    )


def register_user(*, email: str, name: str, password: str, locale: str | None = None) -> User:
    """Create a network-wide user. Raises :class:`EmailTaken`."""
    if find_user_by_email(email) is not None:
        raise EmailTaken()
    user = User(
        email=normalize_email(email),
        name=name.strip(),
        password_hash=hash_password(password),
        locale=locale,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except sa.exc.IntegrityError as error:  # signed up twice at once: the unique index decides
        raise EmailTaken() from error
    return user


def authenticate(*, email: str, password: str) -> User | None:
    """Return the user if the email and password match, else None."""
    user = find_user_by_email(email)
    if user is None:
        hash_password(password)  # same work either way: no timing hint that the email exists
        return None
    return user if check_password(user.password_hash, password) else None


def membership_of(user: User, group: Group) -> Membership | None:
    """Return ``user``'s membership in ``group`` (the group in context), or None."""
    return db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == user.id, Membership.group_id == group.id
        )
    )


def join_group(*, user: User, group: Group, role: Role = Role.MEMBER) -> Membership:
    """Ask to join ``group`` as ``role``: active at once under an open policy, else pending.

    Someone who left (or was declined) may ask again; they come back with ``role``, not with
    the role they had before. Raises :class:`AlreadyMember` if the user already has a
    membership that is not ``left``.
    """
    membership = membership_of(user, group)
    if membership is not None and membership.status != MembershipStatus.LEFT:
        raise AlreadyMember()
    if membership is None:
        membership = Membership(user_id=user.id, group_id=group.id, user=user, role=role)
        db.session.add(membership)
    membership.role = role
    membership.status = MembershipStatus.PENDING
    db.session.flush()
    if group.join_policy == JoinPolicy.OPEN:
        activate(membership=membership)
    return membership


def request_membership(*, user: User, group: Group) -> Membership:
    """Ask to join ``group`` on one's own (sign-up and join pages), as a member.

    Like :func:`join_group`, but a group that takes members by invitation only refuses it:
    raises :class:`InvitationOnly` (and :class:`AlreadyMember` as :func:`join_group` does).
    Provisioning and invitations call :func:`join_group` directly.
    """
    if group.join_policy == JoinPolicy.INVITATION:
        membership = membership_of(user, group)
        if membership is not None and membership.status != MembershipStatus.LEFT:
            raise AlreadyMember()
        raise InvitationOnly()
    membership = join_group(user=user, group=group)
    if membership.status == MembershipStatus.PENDING:  # coordinators decide: tell them
        from timebank.notices.service import join_requested

        join_requested(membership)
    return membership


def activate(*, membership: Membership) -> Membership:
    """Make ``membership`` active and open its accounts in every active currency."""
    membership.status = MembershipStatus.ACTIVE
    membership.approved_at = utcnow()
    currencies = db.session.scalars(sa.select(Currency).where(Currency.is_active)).all()
    for currency in currencies:
        open_account(membership=membership, currency=currency)
    db.session.flush()
    return membership


def approve(
    *, membership: Membership, by: Membership | None = None, message: str = ""
) -> Membership:
    """Approve a pending join request ``by`` a coordinator, with an optional ``message``.

    The decision is recorded in the audit trail and emailed to the person (after commit).
    Raises :class:`NotPending`.
    """
    if membership.status != MembershipStatus.PENDING:
        raise NotPending()
    activate(membership=membership)
    _decided(membership, by=by, approved=True, message=message)
    return membership


def decline(
    *, membership: Membership, by: Membership | None = None, message: str = ""
) -> Membership:
    """Decline a pending join request (the membership is marked ``left``), with a message.

    Recorded and emailed like :func:`approve`. Raises :class:`NotPending`.
    """
    if membership.status != MembershipStatus.PENDING:
        raise NotPending()
    membership.status = MembershipStatus.LEFT
    db.session.flush()
    _decided(membership, by=by, approved=False, message=message)
    return membership


def _decided(membership: Membership, *, by: Membership | None, approved: bool,
             message: str) -> None:
    from timebank.audit.service import record
    from timebank.people.notify import tell_member

    message = (message or "").strip()[:2000]
    record(
        action="members.approve" if approved else "members.decline",
        object_type="membership", object_id=membership.id, actor=by,
        before={"status": MembershipStatus.PENDING.value},
        after={"status": membership.status.value, "message": message},
    )
    tell_member(
        membership, "membership_decision",
        N_("Welcome to %(group_name)s") if approved
        else N_("Your request to join %(group_name)s"),
        {"approved": approved, "message": message},
    )


def update_profile(*, user: User, name: str, bio: str, locale: str | None) -> User:
    """Change a user's display name, short bio and preferred language."""
    user.name = name.strip()
    user.bio = bio.strip()
    user.locale = locale or None
    db.session.flush()
    return user


def change_password(*, user: User, current_password: str, new_password: str) -> User:
    """Replace the password after checking the current one. Raises :class:`WrongPassword`."""
    if not check_password(user.password_hash, current_password):
        raise WrongPassword()
    user.password_hash = hash_password(new_password)
    db.session.flush()
    return user


def _reset_serializer() -> URLSafeTimedSerializer:
    from timebank.security.secrets import signing_keys

    return URLSafeTimedSerializer(signing_keys(), salt="password-reset")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def password_reset_token(user: User) -> str:
    """Return a signed token that resets ``user``'s password once, until it expires."""
    return _reset_serializer().dumps({"user": user.id, "fp": _fingerprint(user)})


def reset_password(*, token: str, new_password: str) -> User:
    """Set a new password from a reset token. Raises :class:`InvalidToken`."""
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired) as error:
        raise InvalidToken() from error
    user = db.session.get(User, data.get("user"))
    if user is None or data.get("fp") != _fingerprint(user):
        raise InvalidToken()
    user.password_hash = hash_password(new_password)
    db.session.flush()
    return user

"""Invitations by email: a coordinator invites someone; the emailed link lets them join.

Rules enforced here (issue 6):

* the link carries a random token (256 bits); only its SHA-256 is stored, so a database reader
  cannot use an invitation;
* an invitation expires after ``INVITATION_MAX_DAYS`` days (setting, default 14) and works
  once; a coordinator may revoke it before it is used;
* accepting joins the group as the invited role and is active at once, whatever the join
  policy (an invitation is the coordinator's approval); it is the only way into a group whose
  policy is ``invitation``;
* sending, revoking and accepting are recorded in the audit trail.

Functions take keyword-only arguments, raise :class:`~timebank.people.errors.PeopleError`
subclasses, and never commit.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from timebank.audit.service import record
from timebank.extensions import db
from timebank.i18n import N_
from timebank.models import (
    Group,
    Invitation,
    Membership,
    MembershipStatus,
    Role,
    User,
    utcnow,
)
from timebank.people.errors import AlreadyInvited, AlreadyMember, InvalidInvitation, InvalidRole
from timebank.people.service import (
    activate,
    find_user_by_email,
    join_group,
    membership_of,
    normalize_email,
)

DEFAULT_MAX_DAYS = 14


def max_days() -> int:
    return int(current_app.config.get("INVITATION_MAX_DAYS") or DEFAULT_MAX_DAYS)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(*, group: Group, email: str, by: Membership | None, role: Role = Role.MEMBER,
           message: str = "", link_for=None) -> tuple[Invitation, str]:
    """Invite ``email`` to join ``group`` as ``role``; return (invitation, token).

    ``link_for(token)`` builds the absolute link to email (default: ``/invitations/<token>``
    on the group's site); the mail is sent after commit. Inviting an address again (in any
    letter case) replaces its unused invitations: their links stop working, so the group has
    one open invitation per address and the newest email is the one that works. Raises
    :class:`AlreadyInvited` if the address belongs to someone with a membership that is not
    ``left``, and :class:`InvalidRole`.
    """
    from timebank.people.notify import send_invitation_mail
    from timebank.tasks import enqueue
    from timebank.tenants.urls import group_url

    try:
        role = Role(int(role))
    except (TypeError, ValueError) as error:
        raise InvalidRole() from error
    email = normalize_email(email)
    user = find_user_by_email(email)
    if user is not None:
        existing = membership_of(user, group)
        if existing is not None and existing.status != MembershipStatus.LEFT:
            raise AlreadyInvited()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    replaced = list(db.session.scalars(sa.select(Invitation).where(
        sa.func.lower(Invitation.email) == email.lower(),
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))))
    for earlier in replaced:
        earlier.revoked_at = now
    invitation = Invitation(
        email=email, role=role, message=(message or "").strip()[:2000], token_hash=_hash(token),
        invited_by_id=by.id if by else None, created_at=now,
        expires_at=now + timedelta(days=max_days()),
    )
    db.session.add(invitation)
    db.session.flush()
    record(action="members.invite", object_type="invitation", object_id=invitation.id,
           actor=by, after={"email": email, "role": role.key,
                            "expires_at": invitation.expires_at,
                            **({"replaces": [i.id for i in replaced]} if replaced else {})})
    link = link_for(token) if link_for else group_url(group.slug, f"/invitations/{token}")
    enqueue(
        send_invitation_mail, email, N_("%(inviter)s invites you to join %(group_name)s"),
        {"group_name": group.name, "inviter": by.user.name if by else group.name,
         "message": invitation.message, "link": link, "days": max_days()},
        group_id=group.id,
    )
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    """Return the current group's invitation for ``token`` (used or not), or None."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == _hash(token)))


def usable_invitation(token: str) -> Invitation:
    """Return the invitation for ``token`` if it can still be used.

    Raises :class:`InvalidInvitation` (unknown, another group's, used, revoked or expired).
    """
    invitation = find_invitation(token)
    if invitation is None or not invitation.is_usable(utcnow()):
        raise InvalidInvitation()
    return invitation


def accept(*, token: str, user: User, group: Group) -> Membership:
    """Join ``group`` as ``user`` through the invitation ``token``: active at once.

    The invitation is locked and marked used in the same transaction, so it works once even
    when opened twice at the same moment. Raises :class:`InvalidInvitation` or
    :class:`AlreadyMember` (the invitation then stays usable).
    """
    invitation = usable_invitation(token)
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.id == invitation.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if not invitation.is_usable(utcnow()):
        raise InvalidInvitation()
    existing = membership_of(user, group)
    if existing is not None and existing.status != MembershipStatus.LEFT:
        raise AlreadyMember()
    membership = join_group(user=user, group=group, role=Role(invitation.role))
    if not membership.is_active:
        activate(membership=membership)
    invitation.accepted_at = utcnow()
    invitation.accepted_membership_id = membership.id
    db.session.flush()
    record(action="members.invitation_accepted", object_type="invitation",
           object_id=invitation.id, actor=membership,
           after={"membership_id": membership.id, "email": user.email})
    return membership


def revoke(*, invitation: Invitation, by: Membership | None) -> Invitation:
    """Revoke an unused invitation (its link stops working). Raises :class:`InvalidInvitation`
    if it was already used, revoked or has expired."""
    if not invitation.is_usable(utcnow()):
        raise InvalidInvitation()
    invitation.revoked_at = utcnow()
    db.session.flush()
    record(action="members.invitation_revoked", object_type="invitation",
           object_id=invitation.id, actor=by, after={"email": invitation.email})
    return invitation


def open_invitations() -> list[Invitation]:
    """Return the current group's invitations not yet used nor revoked, newest first."""
    return list(db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ))



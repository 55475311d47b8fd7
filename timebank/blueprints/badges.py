"""What waits on the reader's role: the counts on the menu's badges (issue 17).

* a coordinator: join requests (pending memberships);
* a treasurer: members who left or were suspended with a balance still to settle.

Asked once per request (cached on ``g``) and only for roles that see the badge.
"""

import sqlalchemy as sa
from flask import g

from timebank.extensions import db
from timebank.models import Account, Membership, MembershipStatus
from timebank.policy import can, current_membership


def join_request_count() -> int:
    """Return how many people wait for a coordinator's decision to join (0 if not asked)."""
    if "join_request_count" not in g:
        g.join_request_count = 0
        if can(current_membership(), "members.approve"):
            g.join_request_count = db.session.scalar(
                sa.select(sa.func.count()).select_from(Membership)
                .where(Membership.status == MembershipStatus.PENDING)
            ) or 0
    return g.join_request_count


def balances_to_settle() -> list[Membership]:
    """Return the memberships that left or are suspended while holding a non-zero balance."""
    return list(db.session.scalars(
        sa.select(Membership)
        .where(Membership.status.in_([MembershipStatus.LEFT, MembershipStatus.SUSPENDED]),
               Membership.id.in_(sa.select(Account.membership_id).where(Account.balance != 0)))
        .order_by(Membership.id)
    ))


def treasurer_waiting_count() -> int:
    """Return how many things wait on a treasurer (0 for anyone who is not one)."""
    if "treasurer_waiting_count" not in g:
        g.treasurer_waiting_count = 0
        if can(current_membership(), "members.settle"):
            g.treasurer_waiting_count = len(balances_to_settle())
    return g.treasurer_waiting_count


def manage_badge_count() -> int:
    """Return the total on the "Manage" menu's badge."""
    return join_request_count() + treasurer_waiting_count()

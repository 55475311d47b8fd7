"""Coordinators run their group's membership: roles, suspension, members without email, and a
member leaving.

Rules enforced here (issue 6):

* the group always keeps at least one active coordinator: the last one cannot be demoted,
  suspended or leave;
* a member may leave only with every account at zero; a treasurer may first move a non-zero
  balance to the group account (the community pot), within the pot's limits;
* a member without email is a placeholder user (``is_offline``) whose address lies under the
  reserved ``.invalid`` domain (RFC 2606): it never receives mail and cannot log in; a treasurer
  records their trades on their behalf;
* every act is recorded in the audit trail, and the person is told by email.

Functions take keyword-only arguments, raise :class:`~timebank.people.errors.PeopleError`
subclasses (nothing written), and never commit.
"""

import secrets

import sqlalchemy as sa

from timebank.audit.service import record
from timebank.extensions import db
from timebank.i18n import N_
from timebank.marketplace.service import withdraw_ads_of
from timebank.models import (
    Account,
    AccountKind,
    Group,
    Membership,
    MembershipStatus,
    Role,
    Transfer,
    User,
)
from timebank.people.errors import (
    BalanceNotZero,
    InvalidRole,
    LastCoordinator,
    NameRequired,
    NotActive,
    NothingToSettle,
    NotSuspended,
    NotYourself,
)
from timebank.people.notify import tell_member
from timebank.people.passwords import hash_password
from timebank.people.service import activate
from timebank.schedules.service import end_orders_of, group_today

OFFLINE_EMAIL_DOMAIN = "offline.invalid"


def active_coordinator_count(*, lock: bool = False) -> int:
    """Return how many active coordinators the current group has.

    With ``lock``, the coordinators' rows are locked first (``FOR UPDATE``), so two
    coordinators demoting each other at once cannot leave the group with none.
    """
    query = sa.select(Membership.id).where(
        Membership.status == MembershipStatus.ACTIVE, Membership.role >= Role.COORDINATOR
    )
    if lock:
        query = query.with_for_update()
    return len(db.session.scalars(query).all())


def _is_active_coordinator(membership: Membership) -> bool:
    return membership.status == MembershipStatus.ACTIVE and membership.role >= Role.COORDINATOR


def _keep_a_coordinator(membership: Membership) -> None:
    """Raise :class:`LastCoordinator` if ``membership`` is the group's last active one."""
    if _is_active_coordinator(membership) and active_coordinator_count(lock=True) <= 1:
        raise LastCoordinator()


def change_role(*, membership: Membership, role: Role | int, by: Membership | None,
                message: str = "") -> Membership:
    """Give ``membership`` a new ``role`` (any of :class:`Role`), ``by`` a coordinator.

    Raises :class:`InvalidRole`, :class:`NotActive` (a pending, suspended or departed
    membership keeps its role until it is active) or :class:`LastCoordinator`.
    """
    try:
        role = Role(int(role))
    except (TypeError, ValueError) as error:
        raise InvalidRole() from error
    if membership.status != MembershipStatus.ACTIVE:
        raise NotActive()
    old = Role(membership.role)
    if old == role:
        return membership
    if role < Role.COORDINATOR:
        _keep_a_coordinator(membership)
    membership.role = role
    db.session.flush()
    record(action="members.role", object_type="membership", object_id=membership.id,
           actor=by, before={"role": old.key}, after={"role": role.key})
    tell_member(membership, "membership_change", N_("Your role in %(group_name)s"),
                {"change": "role", "role": role.key, "message": (message or "").strip()})
    return membership


def suspend(*, membership: Membership, by: Membership | None, reason: str = "") -> Membership:
    """Suspend an active membership: the person can no longer use the group's pages.

    Their accounts and history stay. Raises :class:`NotYourself` (``by`` is the member),
    :class:`NotActive` or :class:`LastCoordinator`.
    """
    if by is not None and by.id == membership.id:
        raise NotYourself()
    if membership.status != MembershipStatus.ACTIVE:
        raise NotActive()
    _keep_a_coordinator(membership)
    membership.status = MembershipStatus.SUSPENDED
    db.session.flush()
    withdraw_ads_of(membership)  # from the group's fediverse followers
    reason = (reason or "").strip()[:2000]
    record(action="members.suspend", object_type="membership", object_id=membership.id,
           actor=by, before={"status": "active"}, after={"status": "suspended", "reason": reason})
    tell_member(membership, "membership_change", N_("Your membership of %(group_name)s"),
                {"change": "suspended", "message": reason})
    if nonzero_accounts(membership):  # a treasurer settles it: tell them (issue 17)
        from timebank.notices.service import balance_to_settle

        balance_to_settle(membership)
    return membership


def reactivate(*, membership: Membership, by: Membership | None) -> Membership:
    """Make a suspended membership active again (accounts in new currencies are opened).

    Raises :class:`NotSuspended`.
    """
    if membership.status != MembershipStatus.SUSPENDED:
        raise NotSuspended()
    activate(membership=membership)
    record(action="members.reactivate", object_type="membership", object_id=membership.id,
           actor=by, before={"status": "suspended"}, after={"status": "active"})
    tell_member(membership, "membership_change", N_("Your membership of %(group_name)s"),
                {"change": "reactivated", "message": ""})
    return membership


def add_offline_member(*, group: Group, name: str, by: Membership | None,
                       note: str = "") -> Membership:
    """Add an active member who has no email (a placeholder user flagged ``is_offline``).

    ``note`` (how to reach them: a phone number, a neighbour) becomes the user's bio.
    Raises :class:`NameRequired`.
    """
    name = (name or "").strip()[:120]
    if not name:
        raise NameRequired()
    user = User(
        email=f"offline-{secrets.token_hex(12)}@{OFFLINE_EMAIL_DOMAIN}",
        name=name,
        # Nobody knows this password: no one can log in as a placeholder.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        bio=(note or "").strip()[:2000],
        is_offline=True,
        locale=None,
    )
    db.session.add(user)
    db.session.flush()
    membership = Membership(user_id=user.id, group_id=group.id, user=user, role=Role.MEMBER,
                            status=MembershipStatus.PENDING)
    db.session.add(membership)
    db.session.flush()
    activate(membership=membership)
    record(action="members.add_offline", object_type="membership", object_id=membership.id,
           actor=by, after={"name": name, "status": "active"})
    return membership


def nonzero_accounts(membership: Membership) -> list[Account]:
    """Return ``membership``'s accounts whose balance is not zero."""
    return list(db.session.scalars(
        sa.select(Account).where(Account.membership_id == membership.id, Account.balance != 0)
        .order_by(Account.id)
    ))


def leave_group(*, membership: Membership, by: Membership | None = None) -> Membership:
    """Let a member leave the group (status ``left``); they may ask to join again later.

    ``by`` defaults to the member. Pending transfers they are party to stay pending (the
    other side may still withdraw them); their standing orders, paying or paid, end now and
    the other party is told (:func:`timebank.schedules.service.end_orders_of`). Raises
    :class:`NotActive`, :class:`BalanceNotZero` or :class:`LastCoordinator`.
    """
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED):
        raise NotActive()
    if nonzero_accounts(membership):
        raise BalanceNotZero()
    _keep_a_coordinator(membership)
    old = membership.status
    membership.status = MembershipStatus.LEFT
    membership.role = Role.MEMBER
    db.session.flush()
    if old == MembershipStatus.ACTIVE:  # a suspended member's ads were withdrawn then
        withdraw_ads_of(membership)
    end_orders_of(membership, today=group_today(membership.group))
    record(action="members.leave", object_type="membership", object_id=membership.id,
           actor=by or membership, before={"status": old.value}, after={"status": "left"})
    tell_member(membership, "membership_change", N_("You have left %(group_name)s"),
                {"change": "left", "message": ""})
    return membership


def settle_to_group_account(*, membership: Membership, by: Membership,
                            locale: str | None = None) -> list[Transfer]:
    """Move every non-zero balance of ``membership`` to the group account, ``by`` a treasurer.

    One completed transfer per currency (kind ``on_behalf``, started by ``by``): a positive
    balance is paid to the community pot, a negative one is paid off by it. The pot's own
    limits apply. Returns the transfers. Raises :class:`NothingToSettle`, or a
    :class:`~timebank.ledger.errors.LedgerError` (a limit of the pot; nothing written).
    """
    from timebank.audit.ledger_hooks import recorded_elsewhere
    from timebank.ledger import service as ledger

    accounts = nonzero_accounts(membership)
    if not accounts:
        raise NothingToSettle()
    written = []
    with recorded_elsewhere(), db.session.begin_nested():  # every currency, or none
        for account in accounts:
            pot = ledger.group_account(currency=account.currency, locale=locale)
            transfer = ledger.settle_account(
                account=account, pot=pot, by=by,
                description=_settlement_description(membership),
            )
            if transfer is not None:
                written.append(transfer)
    record(
        action="members.settle", object_type="membership", object_id=membership.id, actor=by,
        after={"transfers": [
            {"transfer_id": t.id, "amount": t.amount, "currency_id": t.currency_id,
             "to_group_account": t.payee_account.kind == AccountKind.GROUP}
            for t in written
        ]},
    )
    return written


def _settlement_description(membership: Membership) -> str:
    from flask_babel import gettext as _

    return _("Balance of %(name)s moved to the group account", name=membership.user.name)

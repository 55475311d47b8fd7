"""Trading settings: a group opts in to trade with other groups and bounds what it may owe.

Rules (issue 18 "Trust the groups set"); amounts in subunits of each currency, caps in network
minutes:

* a coordinator opts the group in or out, and chooses to trade with every group that opted in
  or only with the partners it names; two groups trade when each trades with the other
  (``ledger_trading_refusal.sql`` checks it on every payment);
* opting in opens a clearing account per active currency (a group account, ``is_clearing``);
  its ceiling is how much the group may owe the rest of the network, its floor (negative) how
  much it may be owed; both are required, zero or more, and recorded like any limit change;
* a network admin may cap both, per group, in network minutes; a bound above the cap is
  refused, and setting a cap lowers the bounds already set above it.

Functions take keyword-only arguments, raise :class:`TradingError` subclasses, never commit.
"""

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.ledger import limits
from timebank.ledger.accounts import active_currencies
from timebank.models import (
    Account,
    AccountKind,
    Currency,
    Group,
    GroupStatus,
    Membership,
    MembershipStatus,
    TradingPartner,
    User,
)
from timebank.tenants import all_groups, group_context
from timebank.user_errors import UserError


class TradingError(UserError):
    """A trading setting was refused; nothing was written."""


class BoundOverCap(TradingError):
    field = "bounds"

    def __init__(self, *, cap: str):
        self.cap = cap
        super().__init__()

    def __str__(self) -> str:
        return str(_l("The network allows this timebank at most %(cap)s here.", cap=self.cap))


class InvalidBound(TradingError):
    field = "bounds"
    message = _l("Enter an amount of zero or more.")


class UnknownPartner(TradingError):
    field = "partners"
    message = _l("Choose timebanks of this network.")


def clearing_account(currency: Currency) -> Account | None:
    """Return the current group's clearing account in ``currency``, or None."""
    return db.session.scalar(
        sa.select(Account).where(Account.currency_id == currency.id, Account.is_clearing)
    )


def open_clearing_account(*, currency: Currency, locale: str | None = None) -> Account:
    """Return the current group's clearing account in ``currency``, opening it (bounds 0: no
    trade until the coordinator sets them) if missing."""
    account = clearing_account(currency)
    if account is None:
        with force_locale(locale or "en"):
            name = _("Other timebanks")
        account = Account(
            currency_id=currency.id, currency=currency, kind=AccountKind.GROUP, name=name,
            is_clearing=True, min_balance=0, max_balance=0, group_id=currency.group_id,
        )
        db.session.add(account)
        db.session.flush()
    return account


def bounds_of_account(account: Account) -> tuple[int, int]:
    """A clearing account's ``(may_owe, may_be_owed)`` in subunits, both zero or more: its
    ceiling and minus its floor (both are stored as the account's limits)."""
    return max(0, account.max_balance or 0), max(0, -(account.min_balance or 0))


def cap_in_subunits(cap_minutes: int | None, currency: Currency) -> int | None:
    """A cap in network minutes as subunits of ``currency``, rounded down (None = no cap)."""
    if cap_minutes is None:
        return None
    per_subunit = Decimal(currency.hour_value) * 60 / currency.subunits_per_unit
    return int((Decimal(cap_minutes) / per_subunit).to_integral_value(ROUND_FLOOR))


@dataclass(frozen=True)
class Bounds:
    """A clearing account's bounds in its currency's subunits: how much the group may owe the
    network (``may_owe``) and be owed (``may_be_owed``), both zero or more."""

    currency: Currency
    may_owe: int
    may_be_owed: int


def bounds_of(group: Group) -> list[Bounds]:
    """The current group's bounds per active currency (zero where not yet set)."""
    result = []
    for currency in active_currencies():
        account = clearing_account(currency)
        result.append(Bounds(currency, *(bounds_of_account(account) if account else (0, 0))))
    return result


def set_trading(
    *,
    group: Group,
    trades_with_network: bool,
    trades_with_all_groups: bool,
    partner_ids: list[int],
    bounds: dict[int, tuple[int, int]],
    by: Membership,
    locale: str | None = None,
) -> Group:
    """Save the current group's trading settings, ``by`` a coordinator.

    ``bounds`` maps a currency id to ``(may_owe, may_be_owed)`` in its subunits. Opening the
    group to trade opens its clearing accounts. Raises :class:`InvalidBound`,
    :class:`BoundOverCap` or :class:`UnknownPartner`.
    """
    chosen = set(partner_ids) - {group.id}
    with all_groups():
        known = set(db.session.scalars(
            sa.select(Group.id).where(Group.id.in_(chosen), Group.status == GroupStatus.ACTIVE)
        ))
    if known != chosen:
        raise UnknownPartner()
    group.trades_with_network = trades_with_network
    group.trades_with_all_groups = trades_with_all_groups
    current = set(db.session.scalars(
        sa.select(TradingPartner.partner_id).where(TradingPartner.group_id == group.id)
    ))
    if current - chosen:
        db.session.execute(sa.delete(TradingPartner).where(
            TradingPartner.group_id == group.id,
            TradingPartner.partner_id.in_(current - chosen)))
    db.session.add_all(TradingPartner(group_id=group.id, partner_id=partner_id)
                       for partner_id in chosen - current)
    for currency in active_currencies():
        may_owe, may_be_owed = bounds.get(currency.id, (0, 0))
        if not trades_with_network and clearing_account(currency) is None:
            continue
        _set_bounds(group, open_clearing_account(currency=currency, locale=locale),
                    may_owe, may_be_owed, by=by)
    db.session.flush()
    return group


def _set_bounds(group: Group, account: Account, may_owe: int, may_be_owed: int, *,
                by: Membership | None) -> None:
    from timebank.ledger.amounts import format_money

    for value in (may_owe, may_be_owed):
        if not isinstance(value, int) or value < 0:
            raise InvalidBound()
    for value, cap in ((may_owe, group.network_owe_cap), (may_be_owed, group.network_owed_cap)):
        limit = cap_in_subunits(cap, account.currency)
        if limit is not None and value > limit:
            raise BoundOverCap(cap=format_money(limit, account.currency))
    limits.set_limits(account=account, min_balance=-may_be_owed, max_balance=may_owe,
                      changed_by=by, reason="trading bounds")


def set_caps(*, group: Group, owe_cap: int | None, owed_cap: int | None) -> Group:
    """Cap, ``by`` a network admin, how much ``group`` may owe and be owed (network minutes;
    None = no cap), lowering its clearing accounts' bounds to the caps. Raises
    :class:`InvalidBound`."""
    for value in (owe_cap, owed_cap):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidBound()
    group.network_owe_cap, group.network_owed_cap = owe_cap, owed_cap
    with group_context(group.id):
        for account in db.session.scalars(sa.select(Account).where(Account.is_clearing)):
            owe = cap_in_subunits(owe_cap, account.currency)
            owed = cap_in_subunits(owed_cap, account.currency)
            may_owe, may_be_owed = bounds_of_account(account)
            new = (min(may_owe, owe) if owe is not None else may_owe,
                   min(may_be_owed, owed) if owed is not None else may_be_owed)
            if new != (may_owe, may_be_owed):
                limits.set_limits(account=account, min_balance=-new[1], max_balance=new[0],
                                  reason="network cap")
    db.session.flush()
    return group


def trading_partners_of(group: Group) -> list[Group]:
    """The groups ``group`` trades with now (each trading with the other), by name. Reads the
    network's groups table: an explicit path past tenant scoping."""
    if not group.trades_with_network:
        return []
    with all_groups():
        candidates = db.session.scalars(
            sa.select(Group).where(
                Group.id != group.id, Group.status == GroupStatus.ACTIVE,
                Group.trades_with_network,
            ).order_by(Group.name)
        ).all()
        mine = set(db.session.scalars(
            sa.select(TradingPartner.partner_id).where(TradingPartner.group_id == group.id)))
        theirs = set(db.session.scalars(
            sa.select(TradingPartner.group_id).where(TradingPartner.partner_id == group.id)))
    return [
        other for other in candidates
        if (group.trades_with_all_groups or other.id in mine)
        and (other.trades_with_all_groups or other.id in theirs)
    ]


def other_groups() -> list[Group]:
    """Every active group of the network, by name (the partner choices)."""
    with all_groups():
        return db.session.scalars(
            sa.select(Group).where(Group.status == GroupStatus.ACTIVE).order_by(Group.name)
        ).all()


def chosen_partner_ids(group: Group) -> list[int]:
    return list(db.session.scalars(
        sa.select(TradingPartner.partner_id).where(TradingPartner.group_id == group.id)))


def payable_members(group: Group) -> list[tuple[int, str]]:
    """``[(membership id, name)]`` of ``group``'s active members, by name: whom a member of a
    partner group may pay (names only; an explicit path past tenant scoping)."""
    with all_groups():
        return [tuple(row) for row in db.session.execute(
            sa.select(Membership.id, User.name)
            .join(User, User.id == Membership.user_id)
            .where(Membership.group_id == group.id,
                   Membership.status == MembershipStatus.ACTIVE, ~User.is_offline)
            .order_by(User.name)
        )]


def payable_member(group: Group, membership_id: int) -> Membership | None:
    """``group``'s active member ``membership_id``, or None."""
    with all_groups():
        return db.session.scalar(sa.select(Membership).where(
            Membership.id == membership_id, Membership.group_id == group.id,
            Membership.status == MembershipStatus.ACTIVE))


def receiving_currency(group: Group) -> Currency | None:
    """The currency ``group``'s members receive payments from other groups in: its first
    active currency with a clearing account."""
    with all_groups():
        return db.session.scalar(
            sa.select(Currency)
            .join(Account, sa.and_(Account.currency_id == Currency.id, Account.is_clearing))
            .where(Currency.group_id == group.id, Currency.is_active)
            .order_by(Currency.id).limit(1)
        )

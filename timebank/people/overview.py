"""What a coordinator watches (the ``/coordinator`` dashboard): read-only queries.

All amounts are in subunits of the group's default currency; "this month" and "last month"
are calendar months in the group's time zone.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from timebank.extensions import db
from timebank.models import (
    Account,
    AccountKind,
    Ad,
    AdStatus,
    Currency,
    Entry,
    Membership,
    MembershipStatus,
    Transfer,
    TransferState,
    User,
    utcnow,
)
from timebank.reports.figures import DateRange, exchanged_by_month

INACTIVE_DAYS = 90
NEAR_LIMIT_SHARE = 0.8  # 80% of the credit limit or the ceiling used


def pending_requests(*, limit: int = 50) -> list[Membership]:
    """Join requests waiting for a coordinator, oldest first."""
    return list(db.session.scalars(
        sa.select(Membership).where(Membership.status == MembershipStatus.PENDING)
        .order_by(Membership.created_at).limit(limit)
    ))


def pending_transfers(*, limit: int = 50) -> list[Transfer]:
    """Transfers waiting for a confirmation or an approval, oldest first."""
    return list(db.session.scalars(
        sa.select(Transfer).where(Transfer.state == TransferState.PENDING)
        .options(selectinload(Transfer.payer_account).selectinload(Account.membership),
                 selectinload(Transfer.payee_account).selectinload(Account.membership),
                 selectinload(Transfer.currency))
        .order_by(Transfer.created_at).limit(limit)
    ))


def _active_members():
    return (
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE)
    )


def members_without_ads(*, limit: int = 50) -> list[tuple[int, str]]:
    """Active members with no active ad, as (membership id, name), by name."""
    has_ad = sa.select(Ad.id).where(Ad.author_id == Membership.id,
                                    Ad.status == AdStatus.ACTIVE).exists()
    rows = db.session.execute(
        _active_members().where(~has_ad).order_by(User.name).limit(limit)
    )
    return [(row.id, row.name) for row in rows]


def inactive_members(*, days: int = INACTIVE_DAYS, now: datetime | None = None,
                     limit: int = 50) -> list[tuple[int, str]]:
    """Active members for ``days`` or more without any completed transfer in that time."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    traded = (
        sa.select(Entry.id)
        .join(Account, Account.id == Entry.account_id)
        .where(Account.membership_id == Membership.id, Entry.created_at >= cutoff)
        .exists()
    )
    rows = db.session.execute(
        _active_members()
        .where(sa.func.coalesce(Membership.approved_at, Membership.created_at) < cutoff,
               ~traded)
        .order_by(User.name).limit(limit)
    )
    return [(row.id, row.name) for row in rows]


@dataclass(frozen=True)
class NearLimit:
    membership_id: int
    name: str
    balance: int
    limit: int  # the floor or ceiling being approached, in subunits
    is_floor: bool
    currency: Currency


def members_near_limits(currency: Currency | None, *, share: float = NEAR_LIMIT_SHARE,
                        limit: int = 50) -> list[NearLimit]:
    """Active members whose balance used ``share`` or more of their credit limit (below zero)
    or of their ceiling (above zero), in ``currency``."""
    if currency is None:
        return []
    floor = sa.func.coalesce(Account.min_balance, currency.default_min_balance)
    ceiling = sa.func.coalesce(Account.max_balance, currency.default_max_balance)
    rows = db.session.execute(
        sa.select(Membership.id, User.name, Account.balance, floor.label("floor"),
                  ceiling.label("ceiling"))
        .join(Membership, Membership.id == Account.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Account.currency_id == currency.id,
            Account.kind == AccountKind.MEMBER,
            Membership.status == MembershipStatus.ACTIVE,
            sa.or_(
                sa.and_(floor < 0, Account.balance <= floor * share),
                sa.and_(ceiling > 0, Account.balance >= ceiling * share),
            ),
        )
        .order_by(User.name).limit(limit)
    )
    result = []
    for row in rows:
        is_floor = row.floor is not None and row.floor < 0 and row.balance <= row.floor * share
        result.append(NearLimit(row.id, row.name, row.balance,
                                row.floor if is_floor else row.ceiling, is_floor, currency))
    return result


def month_bounds(*, timezone: str, now: datetime | None = None
                 ) -> tuple[datetime, datetime, datetime]:
    """Return (start of last month, start of this month, start of next month) in ``timezone``."""
    local = (now or utcnow()).astimezone(ZoneInfo(timezone))
    this_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    return last_month, this_month, next_month


def exchanged_this_and_last_month(currency: Currency | None, *, timezone: str,
                                  now: datetime | None = None) -> tuple[int, int]:
    """Return (this month, last month) exchanged in ``currency``, in subunits, by the activity
    report's rule of what a trade is (:func:`timebank.reports.figures.trades`)."""
    if currency is None:
        return 0, 0
    last, this, following = month_bounds(timezone=timezone, now=now)
    months = DateRange(last.date(), (following - timedelta(days=1)).date(), timezone)
    amounts = {row.month: row.amount for row in exchanged_by_month(months)
               if row.currency_id == currency.id}
    return amounts.get(this.date(), 0), amounts.get(last.date(), 0)

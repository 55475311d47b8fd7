"""The figures of a report over a date range, each one aggregate query on the ledger.

Figures are grouped by ``group_id``: inside a group's context (the tenant hook) the rows are
that group's; inside ``all_groups()`` (the network report) one row per group, or only the
groups named by ``group_ids`` (a page of the network report reads only its groups). The
network's totals apply the same rules summed in SQL over every group in scope
(:func:`hours_by_month`, :func:`network_member_totals`: one row per month, or one row).
Amounts are integers in subunits of their currency; months and days are in the time zone of
the :class:`DateRange` (the group's; UTC on the network). Nothing here loads ledger rows into
Python: each query returns one row per group, month, category, currency or histogram bucket
(the members lists are one row per member).

**What counts as a trade** (the rule every figure uses): a completed transfer of a kind in
:data:`TRADE_KINDS` whose payer and payee are both members' accounts (not the group's account,
an issuer or a clearing account), counted when it completed; a completed reversal of such a
trade counts as minus that trade when *it* completed. So a bulk entry from the group's pot, an
issuance, a levy or fee to the group's account, and payments with other timebanks are not trades
("exchanged" means between members of this group). New transfer kinds are not trades until
they are added to :data:`TRADE_KINDS`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from timebank.extensions import db
from timebank.models import (
    Account,
    AccountKind,
    Ad,
    AdKind,
    Category,
    Currency,
    Entry,
    Membership,
    MembershipStatus,
    Transfer,
    TransferKind,
    TransferState,
    User,
)

# The kinds of transfer that are trades between members (see the module docstring). One
# constant: a new kind is a trade only if added here. A standing order's run is one; a levy,
# a membership fee and demurrage go to the group's account and are not.
TRADE_KINDS: tuple[TransferKind, ...] = (
    TransferKind.PAYMENT, TransferKind.REQUEST, TransferKind.ON_BEHALF, TransferKind.BULK,
    TransferKind.STANDING_ORDER,
)
# Memberships counted as members at the range's end (pending requests and departed members not).
MEMBER_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED)
HISTOGRAM_BUCKETS = 10  # at most this many bars in a balance distribution


@dataclass(frozen=True)
class DateRange:
    """Days ``start`` to ``end`` inclusive, in ``timezone`` (an IANA name)."""

    start: date
    end: date
    timezone: str = "UTC"

    def bounds(self) -> tuple[datetime, datetime]:
        """Return the instants ``[from, to)`` the days cover (aware datetimes)."""
        zone = ZoneInfo(self.timezone)
        return (datetime.combine(self.start, time.min, zone),
                datetime.combine(self.end + timedelta(days=1), time.min, zone))

    def months(self) -> list[date]:
        """Return the first day of every calendar month the range touches, oldest first."""
        months, month = [], self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months


def last_twelve_months(today: date, timezone: str) -> DateRange:
    """The default range: the current calendar month and the eleven before it, to ``today``."""
    first = today.replace(day=1)
    for _step in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return DateRange(first, today, timezone)


def _local_month(rng: DateRange, column):
    return sa.func.date_trunc("month", sa.func.timezone(rng.timezone, column))


def trades(rng: DateRange, *, group_ids: Collection[int] | None = None) -> sa.CTE:
    """The trades completed in ``rng`` (module docstring), one row each: ``group_id,
    transfer_id, currency_id, completed_at, traded_at`` (a reversal's: its original's
    ``completed_at``), ``amount`` (signed: a reversal is negative), ``sign``
    (+1 trade, -1 reversal), ``worker_id`` (the membership paid for the work: a trade's payee,
    a reversal's payer) and ``buyer_id`` (the other side). ``group_ids``: only those groups'
    trades (None: every group in scope)."""
    lower, upper = rng.bounds()
    payer, payee, original = aliased(Account), aliased(Account), aliased(Transfer)
    is_reversal = Transfer.kind == TransferKind.REVERSAL
    sign = sa.case((is_reversal, -1), else_=1)
    # A reversal's original, read only for reversals (one index probe each): a join to every
    # transfer's original made PostgreSQL hash the group's whole history.
    reversed_trade = (
        sa.select(original.completed_at)
        .where(original.group_id == Transfer.group_id, original.id == Transfer.reverses_id,
               original.kind.in_(TRADE_KINDS))
        .scalar_subquery()
    )
    in_groups = () if group_ids is None else (Transfer.group_id.in_(group_ids),)
    return (
        sa.select(
            Transfer.group_id, Transfer.id.label("transfer_id"), Transfer.currency_id,
            Transfer.completed_at,
            sa.case((is_reversal, reversed_trade), else_=Transfer.completed_at)
            .label("traded_at"),
            (sign * Transfer.amount).label("amount"), sign.label("sign"),
            sa.case((is_reversal, payer.membership_id), else_=payee.membership_id)
            .label("worker_id"),
            sa.case((is_reversal, payee.membership_id), else_=payer.membership_id)
            .label("buyer_id"),
        )
        .join(payer, sa.and_(payer.group_id == Transfer.group_id,
                             payer.id == Transfer.payer_account_id))
        .join(payee, sa.and_(payee.group_id == Transfer.group_id,
                             payee.id == Transfer.payee_account_id))
        .where(
            Transfer.state == TransferState.COMPLETED,
            Transfer.completed_at >= lower, Transfer.completed_at < upper,
            payer.kind == AccountKind.MEMBER, payee.kind == AccountKind.MEMBER,
            sa.or_(Transfer.kind.in_(TRADE_KINDS),
                   sa.and_(is_reversal, reversed_trade.is_not(None))),
            *in_groups,
        )
        .cte("trades")
    )


@dataclass(frozen=True)
class MonthAmount:
    """Exchanged in one currency in one month: ``amount`` in subunits, ``trades`` a count
    (reversals subtract from both)."""

    group_id: int
    currency_id: int
    month: date
    amount: int
    trades: int


def exchanged_by_month(rng: DateRange) -> list[MonthAmount]:
    """Return what was exchanged per group, currency and month (months with trades only)."""
    lines = trades(rng)
    month = _local_month(rng, lines.c.completed_at).label("month")
    rows = db.session.execute(
        sa.select(lines.c.group_id, lines.c.currency_id, month,
                  sa.func.sum(lines.c.amount), sa.func.sum(lines.c.sign))
        .group_by(lines.c.group_id, lines.c.currency_id, month)
        .order_by(month)
    ).all()
    return [MonthAmount(row[0], row[1], row[2].date(), int(row[3]), int(row[4])) for row in rows]


@dataclass(frozen=True)
class HoursExchanged:
    """Exchanged across currencies: ``hours`` in network hours (each currency's amount times
    its hour value), ``trades`` a count (reversals subtract from both). ``hours`` is divided by
    ``subunits_per_unit`` in PostgreSQL, to at least 16 significant digits (20 minutes is
    0.33333333333333333333), far beyond what a report shows (two decimals; four in a CSV)."""

    hours: Decimal
    trades: int


def _network_hours(rng: DateRange, by: str, group_ids: Collection[int] | None) -> list[sa.Row]:
    """Rows ``(key, hours, trades)`` per ``by`` (``"group"``: group id; ``"month"``: first
    instant of the month in ``rng``'s time zone): each currency's sum first, converted once
    at its hour value, so the sum of amounts stays an exact integer until then."""
    lines = trades(rng, group_ids=group_ids)
    key = lines.c.group_id if by == "group" else _local_month(rng, lines.c.completed_at)
    per_currency = (
        sa.select(key.label("key"), lines.c.currency_id,
                  sa.func.sum(lines.c.amount).label("amount"),
                  sa.func.sum(lines.c.sign).label("trades"))
        .group_by(key, lines.c.currency_id)
        .subquery("per_currency")
    )
    hours = sa.func.sum(per_currency.c.amount * Currency.hour_value / Currency.subunits_per_unit)
    return db.session.execute(
        sa.select(per_currency.c.key, hours, sa.func.sum(per_currency.c.trades))
        .join(Currency, Currency.id == per_currency.c.currency_id)
        .group_by(per_currency.c.key)
    ).all()


def hours_by_group(rng: DateRange, *,
                   group_ids: Collection[int] | None = None) -> dict[int, HoursExchanged]:
    """Return network hours and trades per group id (groups with trades only; one query),
    reading only the trades of ``group_ids`` when given."""
    return {key: HoursExchanged(hours, int(count))
            for key, hours, count in _network_hours(rng, "group", group_ids)}


def hours_by_month(rng: DateRange) -> dict[date, HoursExchanged]:
    """Return network hours and trades per month (first day; months with trades only) across
    every group in scope (one query, one row per month whatever the number of groups)."""
    return {key.date(): HoursExchanged(hours, int(count))
            for key, hours, count in _network_hours(rng, "month", None)}


def _parties(lines: sa.CTE) -> sa.Subquery:
    """Both members of every trade (not reversals): ``group_id, completed_at, membership_id``."""
    return sa.union_all(
        sa.select(lines.c.group_id, lines.c.completed_at,
                  lines.c.buyer_id.label("membership_id")).where(lines.c.sign > 0),
        sa.select(lines.c.group_id, lines.c.completed_at,
                  lines.c.worker_id.label("membership_id")).where(lines.c.sign > 0),
    ).subquery("parties")


def _joined_at():
    return sa.func.coalesce(Membership.approved_at, Membership.created_at)


@dataclass(frozen=True)
class MonthMembers:
    """Members in one month: ``active`` traded (either side) in it, ``new`` joined in it."""

    group_id: int
    month: date
    active: int
    new: int


def members_by_month(rng: DateRange) -> list[MonthMembers]:
    """Return active and new members per group and month (months with either only)."""
    lower, upper = rng.bounds()
    parties = _parties(trades(rng))
    month = _local_month(rng, parties.c.completed_at).label("month")
    active = db.session.execute(
        sa.select(parties.c.group_id, month, sa.func.count(sa.distinct(parties.c.membership_id)))
        .group_by(parties.c.group_id, month)
    ).all()
    joined = _local_month(rng, _joined_at()).label("month")
    new = db.session.execute(
        sa.select(Membership.group_id, joined, sa.func.count(Membership.id))
        .where(Membership.status != MembershipStatus.PENDING,
               _joined_at() >= lower, _joined_at() < upper)
        .group_by(Membership.group_id, joined)
    ).all()
    counts: dict[tuple[int, date], list[int]] = {}
    for group_id, at, count in active:
        counts.setdefault((group_id, at.date()), [0, 0])[0] = int(count)
    for group_id, at, count in new:
        counts.setdefault((group_id, at.date()), [0, 0])[1] = int(count)
    return [MonthMembers(group_id, month, *values)
            for (group_id, month), values in sorted(counts.items(), key=lambda i: i[0][1])]


@dataclass(frozen=True)
class MemberTotals:
    """Over the whole range: ``members`` at its end (active or suspended, joined before it
    ended), ``active`` members who took part in a trade in it (whatever their status now),
    ``new`` joined in it, ``idle`` members at its end who took part in no trade in it;
    ``group_id`` None when summed over groups (:func:`network_member_totals`)."""

    group_id: int | None
    members: int
    active: int
    new: int
    idle: int


def _members_at_end(rng: DateRange):
    """Memberships that were members when ``rng`` ended (by their current status)."""
    _lower, upper = rng.bounds()
    return sa.and_(Membership.status.in_(MEMBER_STATUSES), _joined_at() < upper)


def _traded(rng: DateRange, group_ids: Collection[int] | None = None):
    """Whether a membership took part in a trade in ``rng``: ``IN`` the set of parties, read
    once and hashed (a correlated ``EXISTS`` re-read the trades for every member). Never
    NULL: a trade's parties are member accounts, which always have a membership.
    ``group_ids``: the set holds only those groups' parties."""
    parties = _parties(trades(rng, group_ids=group_ids))
    return Membership.id.in_(sa.select(parties.c.membership_id).distinct())


def _member_counts(rng: DateRange, group_ids: Collection[int] | None) -> list:
    """The four counts of :class:`MemberTotals` as aggregate columns on ``memberships``."""
    lower, upper = rng.bounds()
    traded = _traded(rng, group_ids)
    return [
        sa.func.count(Membership.id).filter(_members_at_end(rng)),
        sa.func.count(Membership.id).filter(traded),
        sa.func.count(Membership.id).filter(
            Membership.status != MembershipStatus.PENDING,
            _joined_at() >= lower, _joined_at() < upper),
        sa.func.count(Membership.id).filter(_members_at_end(rng), ~traded),
    ]


def member_totals(rng: DateRange, *,
                  group_ids: Collection[int] | None = None) -> dict[int, MemberTotals]:
    """Return :class:`MemberTotals` per group id (one query), for ``group_ids`` only when
    given (their memberships and trades alone are read)."""
    in_groups = () if group_ids is None else (Membership.group_id.in_(group_ids),)
    rows = db.session.execute(
        sa.select(Membership.group_id, *_member_counts(rng, group_ids))
        .where(*in_groups)
        .group_by(Membership.group_id)
    ).all()
    return {row[0]: MemberTotals(*row) for row in rows}


def network_member_totals(rng: DateRange) -> MemberTotals:
    """Return :class:`MemberTotals` summed over every group in scope (``group_id`` None; one
    query, one row whatever the number of groups): a membership belongs to one group, so
    each count is the sum of the groups' counts."""
    row = db.session.execute(sa.select(*_member_counts(rng, None))).one()
    return MemberTotals(None, *row)


@dataclass(frozen=True)
class IdleMember:
    membership_id: int
    name: str
    joined_at: datetime


def idle_members(rng: DateRange, *, limit: int | None = None) -> list[IdleMember]:
    """Return the members at the range's end who took part in no trade in it, by name."""
    query = (
        sa.select(Membership.id, User.name, _joined_at())
        .join(User, User.id == Membership.user_id)
        .where(_members_at_end(rng), ~_traded(rng))
        .order_by(User.name, Membership.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [IdleMember(*row) for row in db.session.execute(query)]


@dataclass(frozen=True)
class CategoryTrades:
    """Trades attributed to a category (None: none), in one currency: ``trades`` a count,
    ``amount`` in subunits (reversals subtract)."""

    group_id: int
    category_id: int | None
    name: str | None
    currency_id: int
    trades: int
    amount: int


def trades_by_category(rng: DateRange) -> list[CategoryTrades]:
    """Return trades per category, most trades first.

    Transfers carry no ad, so a trade is attributed to the categories of the offers its
    worker (the payee, who did the work) had posted before it completed (a reversal: before
    its original completed, so both land in the same categories) — once in each such
    category, so a worker offering in two categories counts in both — or to no category
    (None) when the worker had posted no offer with a category.
    """
    lines = trades(rng)
    attributed = (
        sa.select(lines.c.group_id, lines.c.transfer_id, lines.c.currency_id, lines.c.amount,
                  lines.c.sign, Ad.category_id)
        .outerjoin(Ad, sa.and_(Ad.group_id == lines.c.group_id,
                               Ad.author_id == lines.c.worker_id, Ad.kind == AdKind.OFFER,
                               Ad.category_id.is_not(None),
                               Ad.created_at <= lines.c.traded_at))
        .distinct()
        .subquery("attributed")
    )
    rows = db.session.execute(
        sa.select(attributed.c.group_id, attributed.c.category_id, Category.name,
                  attributed.c.currency_id, sa.func.sum(attributed.c.sign),
                  sa.func.sum(attributed.c.amount))
        .outerjoin(Category, sa.and_(Category.group_id == attributed.c.group_id,
                                     Category.id == attributed.c.category_id))
        .group_by(attributed.c.group_id, attributed.c.category_id, Category.name,
                  attributed.c.currency_id)
        .order_by(sa.func.sum(attributed.c.sign).desc(), Category.name)
    ).all()
    return [CategoryTrades(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]))
            for row in rows]


@dataclass(frozen=True)
class CategoryAds:
    """Ads posted in the range in one category (None: none): offers and wants."""

    group_id: int
    category_id: int | None
    name: str | None
    offers: int
    wants: int


def ads_by_category(rng: DateRange) -> list[CategoryAds]:
    """Return the ads posted in the range (whatever their status now) per category, most
    offered first; :func:`most_wanted` reorders them."""
    lower, upper = rng.bounds()
    offers = sa.func.count(Ad.id).filter(Ad.kind == AdKind.OFFER)
    wants = sa.func.count(Ad.id).filter(Ad.kind == AdKind.WANT)
    rows = db.session.execute(
        sa.select(Ad.group_id, Ad.category_id, Category.name, offers, wants)
        .outerjoin(Category, sa.and_(Category.group_id == Ad.group_id,
                                     Category.id == Ad.category_id))
        .where(Ad.created_at >= lower, Ad.created_at < upper)
        .group_by(Ad.group_id, Ad.category_id, Category.name)
        .order_by(offers.desc(), wants.desc(), Category.name)
    ).all()
    return [CategoryAds(row[0], row[1], row[2], int(row[3]), int(row[4])) for row in rows]


def most_wanted(rows: list[CategoryAds]) -> list[CategoryAds]:
    """``rows`` most wanted first."""
    return sorted(rows, key=lambda row: (-row.wants, -row.offers, row.name or ""))


@dataclass(frozen=True)
class Bucket:
    """Member accounts whose balance at the range's end was in ``[low, high)`` (subunits)."""

    low: int
    high: int
    accounts: int


@dataclass(frozen=True)
class Distribution:
    currency_id: int
    buckets: list[Bucket]

    @property
    def accounts(self) -> int:
        return sum(bucket.accounts for bucket in self.buckets)


def bucket_width(low: int, high: int, subunits_per_unit: int) -> int:
    """Return a round bucket width in subunits (1, 2 or 5 x 10^n units, at least one unit)
    giving at most :data:`HISTOGRAM_BUCKETS` buckets from ``low`` to ``high`` (subunits)."""
    span = max(high - low, 1)
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            width = step * magnitude * subunits_per_unit
            if span // width + 1 <= HISTOGRAM_BUCKETS:
                return width
        magnitude *= 10


def balances_at_end(rng: DateRange) -> sa.Subquery:
    """Each member account's balance when ``rng`` ended (``currency_id, balance``, subunits):
    the running balance stored with its last entry before then (one index probe each), for
    the accounts of members at the range's end."""
    _lower, upper = rng.bounds()
    last = (
        sa.select(Entry.balance_after)
        .where(Entry.account_id == Account.id, Entry.created_at < upper)
        .order_by(Entry.created_at.desc(), Entry.id.desc())
        .limit(1)
        .correlate(Account)
        .scalar_subquery()
    )
    return (
        sa.select(Account.currency_id, sa.func.coalesce(last, 0).label("balance"))
        .join(Membership, sa.and_(Membership.group_id == Account.group_id,
                                  Membership.id == Account.membership_id))
        .where(Account.kind == AccountKind.MEMBER, Account.created_at < upper,
               _members_at_end(rng))
        .subquery("balances")
    )


def balance_distribution(rng: DateRange, currencies: list[Currency]) -> list[Distribution]:
    """Return the histogram of members' balances at the range's end, per currency (two
    queries whatever the number of accounts): round buckets from the lowest to the highest
    balance, empty buckets included."""
    units = {currency.id: currency.subunits_per_unit for currency in currencies}
    if not units:
        return []
    balances = balances_at_end(rng)
    spans = db.session.execute(
        sa.select(balances.c.currency_id, sa.func.min(balances.c.balance),
                  sa.func.max(balances.c.balance))
        .where(balances.c.currency_id.in_(units))
        .group_by(balances.c.currency_id)
    ).all()
    if not spans:
        return []
    widths = {cid: bucket_width(int(low), int(high), units[cid]) for cid, low, high in spans}
    width = sa.case(widths, value=balances.c.currency_id)
    bucket = sa.func.floor(sa.cast(balances.c.balance, sa.Numeric) / width).label("bucket")
    counts: dict[tuple[int, int], int] = {
        (cid, int(index)): int(count) for cid, index, count in db.session.execute(
            sa.select(balances.c.currency_id, bucket, sa.func.count())
            .where(balances.c.currency_id.in_(widths))
            .group_by(balances.c.currency_id, bucket)
        )
    }
    result = []
    for currency in currencies:
        if currency.id not in widths:
            continue
        step = widths[currency.id]
        indexes = [index for cid, index in counts if cid == currency.id]
        result.append(Distribution(currency.id, [
            Bucket(index * step, (index + 1) * step, counts.get((currency.id, index), 0))
            for index in range(min(indexes), max(indexes) + 1)
        ]))
    return result

"""A whole report, assembled from :mod:`timebank.reports.figures`: one group's (in its
context) and the network's (across groups). Plain values only (ids, integers in subunits,
dates), so the page, the CSV and the PDF format the same figures in the reader's locale."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from timebank.extensions import db
from timebank.models import Currency, Group
from timebank.paging import Page
from timebank.reports import figures
from timebank.reports.figures import DateRange
from timebank.tenants import all_groups

IDLE_LIST_LIMIT = 500  # members listed by name on a page or PDF; the CSV lists them all


@dataclass
class CurrencySeries:
    """What was exchanged in one currency, month by month (every month of the range)."""

    currency: Currency
    months: list[tuple[date, int, int]]  # (first day of month, amount in subunits, trades)

    @property
    def amount(self) -> int:
        return sum(amount for _month, amount, _trades in self.months)

    @property
    def trades(self) -> int:
        return sum(trades for _month, _amount, trades in self.months)


@dataclass
class GroupReport:
    range: DateRange
    currencies: list[Currency]
    exchanged: list[CurrencySeries]
    members: list[tuple[date, int, int]]  # (month, active, new), every month of the range
    totals: figures.MemberTotals
    categories: list[figures.CategoryTrades]
    ads: list[figures.CategoryAds]
    idle: list[figures.IdleMember]
    distributions: list[figures.Distribution]
    currency_by_id: dict[int, Currency] = field(default_factory=dict)

    @property
    def most_wanted(self) -> list[figures.CategoryAds]:
        return figures.most_wanted(self.ads)


def group_report(rng: DateRange, *, idle_limit: int | None = IDLE_LIST_LIMIT) -> GroupReport:
    """Return the current group's report over ``rng`` (a fixed number of queries)."""
    currencies = list(db.session.scalars(sa.select(Currency).order_by(Currency.id)))
    months = rng.months()
    amounts = {(row.currency_id, row.month): row for row in figures.exchanged_by_month(rng)}
    exchanged = [
        CurrencySeries(currency, [
            (month, amounts[(currency.id, month)].amount, amounts[(currency.id, month)].trades)
            if (currency.id, month) in amounts else (month, 0, 0)
            for month in months
        ])
        for currency in currencies
        if currency.is_active or any(cid == currency.id for cid, _m in amounts)
    ]
    by_month = {row.month: row for row in figures.members_by_month(rng)}
    members = [(month, by_month[month].active, by_month[month].new) if month in by_month
               else (month, 0, 0) for month in months]
    totals = next(iter(figures.member_totals(rng).values()), None)
    return GroupReport(
        range=rng, currencies=currencies, exchanged=exchanged, members=members,
        totals=totals or figures.MemberTotals(0, 0, 0, 0, 0),
        categories=figures.trades_by_category(rng),
        ads=figures.ads_by_category(rng),
        idle=figures.idle_members(rng, limit=idle_limit),
        distributions=figures.balance_distribution(rng, currencies),
        currency_by_id={currency.id: currency for currency in currencies},
    )


@dataclass
class NetworkGroupRow:
    """One group's line of the network report (``hours`` in network hours)."""

    group: Group
    hours: Decimal
    trades: int
    totals: figures.MemberTotals


@dataclass
class NetworkReport:
    """The network report over ``range``. ``groups`` are the groups it lists, by name: one
    page of them (``page`` holds the keys to the pages around it) or every group (``page``
    None, for the downloads). ``months`` (every month of the range) and ``totals`` are always
    the whole network's, whatever ``groups`` lists."""

    range: DateRange
    groups: list[NetworkGroupRow]
    months: list[tuple[date, Decimal, int]]  # (month, network hours, trades) across groups
    totals: figures.MemberTotals  # the whole network's (``group_id`` None)
    page: Page | None = None

    @property
    def hours(self) -> Decimal:
        """The whole network's network hours (the months cover the range)."""
        return sum((hours for _month, hours, _trades in self.months), Decimal(0))

    @property
    def trades(self) -> int:
        """The whole network's trades."""
        return sum(trades for _month, _hours, trades in self.months)

    def total(self, name: str) -> int:
        """The whole network's ``name`` of :class:`~timebank.reports.figures.MemberTotals`
        (``"members"``, ``"active"``, ``"new"`` or ``"idle"``)."""
        return getattr(self.totals, name)


def _by_name(query: sa.Select, *, descending: bool = False) -> sa.Select:
    name = sa.func.lower(Group.name)  # the order of the index ix_groups_lower_name_id
    if descending:
        return query.order_by(name.desc(), Group.id.desc())
    return query.order_by(name, Group.id)


def _groups_page(*, limit: int, before: int | None, after: int | None) -> Page:
    """Return one page of ``limit`` groups by name (case-insensitive, then id), paged by key
    through the index on ``(lower(name), id)``: one statement, no OFFSET, however deep.

    The keys are group ids, read as :class:`~timebank.paging.Page` reads them in a list of
    pages: ``before`` asks for the page that follows that group (further down the list),
    ``after`` for the page that precedes it; neither, the first page. The page's ``before``
    and ``after`` are the keys of the pages around it (None at an end). A key naming no group
    (a deleted group, a made-up number) gives the first page (one statement more)."""
    position = sa.tuple_(sa.func.lower(Group.name), Group.id)

    def of(key: int) -> sa.ScalarSelect:
        anchor = aliased(Group)
        return (sa.select(sa.func.lower(anchor.name), anchor.id)
                .where(anchor.id == key).scalar_subquery())

    if after is not None:
        rows = list(db.session.scalars(_by_name(
            sa.select(Group).where(position < of(after)), descending=True).limit(limit + 1)))
        has_previous, groups = len(rows) > limit, rows[:limit][::-1]
        has_next = bool(groups)
    else:
        query = sa.select(Group) if before is None else sa.select(Group).where(
            position > of(before))
        rows = list(db.session.scalars(_by_name(query).limit(limit + 1)))
        has_next, groups = len(rows) > limit, rows[:limit]
        has_previous = before is not None and bool(groups)
    if not groups and (before, after) != (None, None):
        return _groups_page(limit=limit, before=None, after=None)
    return Page(rows=groups, before=groups[-1].id if has_next else None,
                after=groups[0].id if has_previous else None)


def network_report(rng: DateRange, *, limit: int | None = None, before: int | None = None,
                   after: int | None = None) -> NetworkReport:
    """Return the network's figures over ``rng``, in network hours (each currency's hour
    value): one line per group for ``limit`` groups by name from the keys ``before`` /
    ``after`` (see :func:`_groups_page`), or for every group when ``limit`` is None; and the
    whole network's totals and months either way. A page costs five statements whatever the
    number of groups (six when a key names no group): the page's groups, their hours and their
    member counts (read for those groups only), and the network's months and member counts
    (sums in SQL over every group, one row a month and one row)."""
    with all_groups():  # the network report reads every group's ledger, by design
        if limit is None:
            page = None
            groups = list(db.session.scalars(_by_name(sa.select(Group))))
            group_ids = None
        else:
            page = _groups_page(limit=limit, before=before, after=after)
            groups = page.rows
            group_ids = [group.id for group in groups]
        hours = figures.hours_by_group(rng, group_ids=group_ids) if groups else {}
        totals = figures.member_totals(rng, group_ids=group_ids) if groups else {}
        by_month = figures.hours_by_month(rng)
        network_totals = figures.network_member_totals(rng)
    nothing = figures.HoursExchanged(Decimal(0), 0)
    rows = []
    for group in groups:
        exchanged = hours.get(group.id, nothing)
        rows.append(NetworkGroupRow(
            group, exchanged.hours, exchanged.trades,
            totals.get(group.id, figures.MemberTotals(group.id, 0, 0, 0, 0))))
    months = [(month, by_month.get(month, nothing)) for month in rng.months()]
    return NetworkReport(
        range=rng, groups=rows,
        months=[(month, exchanged.hours, exchanged.trades) for month, exchanged in months],
        totals=network_totals, page=page,
    )

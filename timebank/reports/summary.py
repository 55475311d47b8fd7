"""A whole report, assembled from :mod:`timebank.reports.figures`: one group's (in its
context) and the network's (across groups). Plain values only (ids, integers in subunits,
dates), so the page, the CSV and the PDF format the same figures in the reader's locale."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from timebank.extensions import db
from timebank.models import Currency, Group
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


def network_hours(amount: int, currency: Currency) -> Decimal:
    """``amount`` subunits of ``currency`` in network hours (its hour value), exact."""
    return Decimal(amount) * currency.hour_value / currency.subunits_per_unit


@dataclass
class NetworkGroupRow:
    """One group's line of the network report (``hours`` in network hours)."""

    group: Group
    hours: Decimal
    trades: int
    totals: figures.MemberTotals


@dataclass
class NetworkReport:
    range: DateRange
    groups: list[NetworkGroupRow]
    months: list[tuple[date, Decimal, int]]  # (month, network hours, trades) across groups

    @property
    def hours(self) -> Decimal:
        return sum((row.hours for row in self.groups), Decimal(0))

    @property
    def trades(self) -> int:
        return sum(row.trades for row in self.groups)

    def total(self, name: str) -> int:
        return sum(getattr(row.totals, name) for row in self.groups)


def network_report(rng: DateRange) -> NetworkReport:
    """Return every group's figures over ``rng`` and the network's totals, in network hours
    (each currency's hour value); the same queries as a group's, across groups."""
    with all_groups():  # the network report reads every group's ledger, by design
        groups = list(db.session.scalars(sa.select(Group).order_by(Group.name)))
        currencies = {c.id: c for c in db.session.scalars(sa.select(Currency))}
        exchanged = figures.exchanged_by_month(rng)
        totals = figures.member_totals(rng)
    hours: dict[int, Decimal] = {}
    trades: dict[int, int] = {}
    months = {month: [Decimal(0), 0] for month in rng.months()}
    for row in exchanged:
        value = network_hours(row.amount, currencies[row.currency_id])
        hours[row.group_id] = hours.get(row.group_id, Decimal(0)) + value
        trades[row.group_id] = trades.get(row.group_id, 0) + row.trades
        months[row.month][0] += value
        months[row.month][1] += row.trades
    return NetworkReport(
        range=rng,
        groups=[NetworkGroupRow(group, hours.get(group.id, Decimal(0)), trades.get(group.id, 0),
                                totals.get(group.id, figures.MemberTotals(group.id, 0, 0, 0, 0)))
                for group in groups],
        months=[(month, value, count) for month, (value, count) in months.items()],
    )

"""A report as titled tables, in the reader's language: what the CSV and the PDF print.

``for_people=True`` formats for reading (months as "January 2026", amounts with the currency's
own formatting, ``1:30 h``); ``False`` for machines (months ``2026-01``, amounts as plain
numbers of units, ``1.5``, beside the currency's code), as the statement's CSV does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from timebank.ledger.amounts import format_money
from timebank.ledger.reports import plain_amount
from timebank.reports.summary import GroupReport, NetworkReport


@dataclass
class BarChart:
    """A bar chart the PDF draws above its table: one bar per (label, value, shown text);
    ``value`` is a plain number (units, not subunits), negative bars go below the axis."""

    title: str
    bars: list[tuple[str, float, str]]


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    numeric: tuple[int, ...] = ()  # columns of numbers (aligned to the end in the PDF)
    charts: list[BarChart] = field(default_factory=list)  # drawn above it (the PDF only)


class _Cells:
    def __init__(self, for_people: bool):
        self.for_people = for_people

    def month(self, month) -> str:
        return format_date(month, "MMMM y") if self.for_people else month.strftime("%Y-%m")

    def day(self, day) -> str:
        return format_date(day, "medium") if self.for_people else day.isoformat()

    def amount(self, amount: int, currency) -> str:
        if self.for_people:  # isolated left to right, so "1:30 h" never reorders in Arabic
            return "\u2066" + format_money(amount, currency) + "\u2069"
        return plain_amount(amount, currency.subunits_per_unit)

    def hours(self, value: Decimal) -> str:
        """Network hours: two decimals for people, up to four for machines (``11.5``)."""
        if self.for_people:
            return format_decimal(value, format="#,##0.##")
        text = format(value.quantize(Decimal("0.0001")), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text

    def category(self, name: str | None) -> str:
        return name if name is not None else _("No category")


def group_tables(report: GroupReport, *, for_people: bool) -> list[Table]:
    """Return the group report's tables (see the module docstring)."""
    cells = _Cells(for_people)
    currencies = report.currency_by_id
    totals = report.totals
    tables = [Table(_("Summary"), [_("Figure"), _("Value")], numeric=(1,), rows=[
        [_("Members at the end"), totals.members],
        [_("Active members (traded)"), totals.active],
        [_("New members"), totals.new],
        [_("Members who haven't traded"), totals.idle],
        *([_("Exchanged (%(currency)s)", currency=series.currency.name),
           cells.amount(series.amount, series.currency)] for series in report.exchanged),
    ])]
    exchanged = Table(_("Exchanged per month"),
                      [_("Month"), _("Currency"), _("Amount"), _("Trades")], numeric=(2, 3))
    for series in report.exchanged:
        for month, amount, trades in series.months:
            exchanged.rows.append([cells.month(month), series.currency.code,
                                   cells.amount(amount, series.currency), trades])
    if for_people:
        exchanged.charts = [
            BarChart(series.currency.name, [
                (format_date(month, "MMM y"), amount / series.currency.subunits_per_unit,
                 cells.amount(amount, series.currency))
                for month, amount, _trades in series.months])
            for series in report.exchanged]
    tables.append(exchanged)
    tables.append(Table(
        _("Active and new members per month"),
        [_("Month"), _("Active members"), _("New members")], numeric=(1, 2),
        rows=[[cells.month(month), active, new] for month, active, new in report.members]))
    tables.append(Table(
        _("Trades by category"), [_("Category"), _("Currency"), _("Trades"), _("Amount")],
        numeric=(2, 3),
        rows=[[cells.category(row.name), currencies[row.currency_id].code, row.trades,
               cells.amount(row.amount, currencies[row.currency_id])]
              for row in report.categories]))
    tables.append(Table(
        _("Ads posted by category"), [_("Category"), _("Offers"), _("Wants")], numeric=(1, 2),
        rows=[[cells.category(row.name), row.offers, row.wants] for row in report.ads]))
    tables.append(Table(
        _("Members who haven't traded"), [_("Member"), _("Member since")],
        rows=[[member.name, cells.day(member.joined_at.date())] for member in report.idle]))
    for distribution in report.distributions:
        currency = currencies[distribution.currency_id]
        tables.append(Table(
            _("Balances at the end (%(currency)s)", currency=currency.name),
            [_("From"), _("To (not included)"), _("Members")], numeric=(0, 1, 2),
            rows=[[cells.amount(bucket.low, currency), cells.amount(bucket.high, currency),
                   bucket.accounts] for bucket in distribution.buckets]))
    return tables


def network_tables(report: NetworkReport, *, for_people: bool) -> list[Table]:
    """Return the network report's tables: one line per group ``report`` lists (every group
    for a download: :func:`~timebank.reports.summary.network_report` without ``limit``), the
    whole network's totals, and the network hours exchanged per month."""
    cells = _Cells(for_people)
    groups = Table(
        _("Timebanks"),
        [_("Timebank"), _("Network hours exchanged"), _("Trades"), _("Members at the end"),
         _("Active members (traded)"), _("New members"), _("Members who haven't traded")],
        numeric=(1, 2, 3, 4, 5, 6))
    for row in report.groups:
        groups.rows.append([row.group.name, cells.hours(row.hours), row.trades,
                            row.totals.members, row.totals.active, row.totals.new,
                            row.totals.idle])
    groups.rows.append([_("Network"), cells.hours(report.hours), report.trades,
                        *(report.total(name) for name in ("members", "active", "new", "idle"))])
    months = Table(_("Exchanged per month"),
                   [_("Month"), _("Network hours exchanged"), _("Trades")], numeric=(1, 2),
                   rows=[[cells.month(month), cells.hours(hours), trades]
                         for month, hours, trades in report.months])
    if for_people:
        months.charts = [BarChart(_("Network hours exchanged"), [
            (format_date(month, "MMM y"), float(hours), cells.hours(hours))
            for month, hours, _trades in report.months])]
    return [groups, months]

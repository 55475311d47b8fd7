"""What the report pages and downloads share: the range from the query string, the charts'
data, the page, the CSV and PDF responses."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _

from timebank.blueprints.reports.forms import RangeForm
from timebank.i18n import current_locale, text_direction
from timebank.ledger.amounts import format_money
from timebank.reports import export, tables
from timebank.reports.figures import DateRange
from timebank.reports.summary import GroupReport, NetworkReport

TOP_CATEGORIES = 10  # bars on the category charts (the tables list them all)


def range_form(timezone: str) -> tuple[RangeForm, DateRange | None]:
    """Read the range from the query string: (form, range or None when it has errors)."""
    form = RangeForm(request.args)
    today = datetime.now(ZoneInfo(timezone)).date()
    rng = form.date_range(today=today, timezone=timezone)
    if rng is not None:
        form.start.data, form.end.data = rng.start, rng.end
    return form, rng


def range_args(rng: DateRange) -> dict:
    return {"start": rng.start.isoformat(), "end": rng.end.isoformat()}


def range_lines(rng: DateRange) -> list[str]:
    """The PDF's and CSV's subtitle: the days, the time zone, when it was made."""
    return [
        _("From %(start)s to %(end)s (%(zone)s)", start=format_date(rng.start, "long"),
          end=format_date(rng.end, "long"), zone=rng.timezone),
        _("Made on %(day)s", day=format_date(datetime.now(ZoneInfo(rng.timezone)).date(),
                                             "long")),
    ]


def trade_rule() -> str:
    return _("Exchanged and trades count completed payments, requests, on-behalf and bulk "
             "entries between two members of the group, less their reversals; payments with "
             "the group's account or other timebanks are not trades.")


def _month(month) -> str:
    return format_date(month, "MMM y")


def _chart(chart_id: str, label: str, labels: list[str], datasets: list[dict], *,
           horizontal: bool = False, counts: bool = True) -> dict:
    """One chart's data; ``counts``: whole numbers (members, trades), not amounts."""
    return {"id": chart_id, "label": label, "labels": labels, "datasets": datasets,
            "horizontal": horizontal, "counts": counts,
            "locale": current_locale().replace("_", "-")}


def group_charts(report: GroupReport) -> dict:
    """Data for the page's charts (drawn by static/reports-chart.js): amounts as units for
    the bars, with the currency's own formatting for the tooltips."""
    charts: dict = {"exchanged": {}, "distribution": {}}
    for series in report.exchanged:
        currency, per = series.currency, series.currency.subunits_per_unit
        charts["exchanged"][currency.id] = _chart(
            f"chart-exchanged-{currency.id}",
            _("Exchanged per month (%(currency)s)", currency=currency.name),
            [_month(month) for month, _a, _t in series.months],
            [{"label": currency.name, "data": [amount / per for _m, amount, _t in series.months],
              "display": [format_money(amount, currency) for _m, amount, _t in series.months]}],
            counts=False)
    charts["members"] = _chart(
        "chart-members", _("Active and new members per month"),
        [_month(month) for month, _a, _n in report.members],
        [{"label": _("Active members"), "data": [active for _m, active, _n in report.members]},
         {"label": _("New members"), "data": [new for _m, _a, new in report.members]}])
    trades: dict[str, int] = {}
    for row in report.categories:
        name = row.name if row.name is not None else _("No category")
        trades[name] = trades.get(name, 0) + row.trades
    top = sorted(trades.items(), key=lambda item: -item[1])[:TOP_CATEGORIES]
    charts["categories"] = _chart(
        "chart-categories", _("Trades by category"), [name for name, _n in top],
        [{"label": _("Trades"), "data": [count for _name, count in top]}], horizontal=True)
    ads = report.ads[:TOP_CATEGORIES]
    charts["ads"] = _chart(
        "chart-ads", _("Ads posted by category"),
        [row.name if row.name is not None else _("No category") for row in ads],
        [{"label": _("Offers"), "data": [row.offers for row in ads]},
         {"label": _("Wants"), "data": [row.wants for row in ads]}], horizontal=True)
    for distribution in report.distributions:
        currency = report.currency_by_id[distribution.currency_id]
        charts["distribution"][currency.id] = _chart(
            f"chart-distribution-{currency.id}",
            _("Balances at the end (%(currency)s)", currency=currency.name),
            [_("%(low)s to %(high)s", low=format_money(b.low, currency, with_symbol=False),
               high=format_money(b.high, currency, with_symbol=False))
             for b in distribution.buckets],
            [{"label": _("Members"), "data": [b.accounts for b in distribution.buckets]}])
    return charts


def network_charts(report: NetworkReport) -> dict:
    return {"months": _chart(
        "chart-network-months", _("Network hours exchanged per month"),
        [_month(month) for month, _h, _t in report.months],
        [{"label": _("Network hours exchanged"),
          "data": [float(hours) for _m, hours, _t in report.months]}], counts=False)}


def render_group(report: GroupReport | None, form: RangeForm, *, title: str, zone: str,
                 downloads: dict | None, status: int = 200):
    """The report page (``report`` None: only the form, with its errors); days in ``zone``."""
    return render_template(
        "reports/group.html", report=report, form=form, title=title, downloads=downloads,
        zone=zone,
        charts=group_charts(report) if report else None, rule=trade_rule(),
    ), status


def download(fmt: str, *, title: str, rng: DateRange, table_list: list[tables.Table],
             filename: str) -> Response:
    """The report as a CSV or PDF attachment named ``filename`` plus the extension."""
    lines = range_lines(rng)
    if fmt == "csv":
        body = export.tables_csv([title, *lines, trade_rule()], table_list)
        mimetype = "text/csv"
    else:
        body = export.tables_pdf(title, [*lines, trade_rule()], table_list,
                                 right_to_left=text_direction() == "rtl")
        mimetype = "application/pdf"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})

"""``/network/reports`` on the apex (network admins): the groups' figures a page at a time (by
name, paged by key) and the whole network's totals for a date range (days in UTC), with CSV and
PDF of every group; and any one group's full report, as its coordinators see it (days in that
group's time zone)."""

import sqlalchemy as sa
from flask import abort, current_app, render_template, url_for
from flask_babel import gettext as _

from timebank.blueprints.navigation import page_keys
from timebank.blueprints.reports import bp, pages
from timebank.extensions import db
from timebank.models import Group
from timebank.policy import network_admin_required
from timebank.reports import summary, tables
from timebank.tenants import group_context


def _group_or_404(slug: str) -> Group:
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is None:
        abort(404)
    return group


def _network_page(report, form, status: int = 200):
    downloads = range_args = None
    if report is not None:
        range_args = pages.range_args(report.range)  # the pager's links keep the range
        downloads = {fmt: url_for("reports.network_download", fmt=fmt, **range_args)
                     for fmt in ("csv", "pdf")}
    return render_template(
        "reports/network.html", report=report, form=form, downloads=downloads, zone="UTC",
        range_args=range_args,
        charts=pages.network_charts(report) if report else None, rule=pages.trade_rule(),
    ), status


@bp.route("/network/reports")
@network_admin_required
def network_report():
    """A page of groups' lines by name (``?before=`` / ``?after=`` a group id, the pager's
    keys), the whole network's totals, and network hours per month."""
    form, rng = pages.range_form("UTC")
    if rng is None:
        return _network_page(None, form, status=400)
    return _network_page(summary.network_report(
        rng, limit=current_app.config["NETWORK_REPORT_GROUPS_PER_PAGE"], **page_keys()), form)


@bp.route("/network/reports.<any(csv, pdf):fmt>")
@network_admin_required
def network_download(fmt: str):
    """Every group's line (not a page), the network's totals and months, as CSV or PDF."""
    form, rng = pages.range_form("UTC")
    if rng is None:
        return _network_page(None, form, status=400)
    report = summary.network_report(rng)
    return pages.download(
        fmt, title=_("Network activity report"), rng=rng,
        table_list=tables.network_tables(report, for_people=fmt == "pdf"),
        filename=f"report-network-{rng.start.isoformat()}-{rng.end.isoformat()}")


def rng_zone(group: Group) -> str:
    return group.timezone or "UTC"


def _group_title(group: Group) -> str:
    return _("Activity report: %(group)s", group=group.name)


@bp.route("/network/reports/groups/<slug>")
@network_admin_required
def network_group_report(slug: str):
    """One group's full report, for a network admin."""
    group = _group_or_404(slug)
    form, rng = pages.range_form(rng_zone(group))
    if rng is None:
        return pages.render_group(None, form, title=_group_title(group), zone=rng_zone(group),
                                  downloads=None, status=400)
    with group_context(group.id):
        report = summary.group_report(rng)
        return pages.render_group(
            report, form, title=_group_title(group), zone=rng.timezone,
            downloads={fmt: url_for("reports.network_group_download", slug=slug, fmt=fmt,
                                    **pages.range_args(rng)) for fmt in ("csv", "pdf")})


@bp.route("/network/reports/groups/<slug>/report.<any(csv, pdf):fmt>")
@network_admin_required
def network_group_download(slug: str, fmt: str):
    group = _group_or_404(slug)
    form, rng = pages.range_form(rng_zone(group))
    if rng is None:
        return pages.render_group(None, form, title=_group_title(group), zone=rng_zone(group),
                                  downloads=None, status=400)
    with group_context(group.id):
        report = summary.group_report(
            rng, idle_limit=None if fmt == "csv" else summary.IDLE_LIST_LIMIT)
        table_list = tables.group_tables(report, for_people=fmt == "pdf")
    return pages.download(
        fmt, title=_group_title(group), rng=rng, table_list=table_list,
        filename=f"report-{group.slug}-{rng.start.isoformat()}-{rng.end.isoformat()}")

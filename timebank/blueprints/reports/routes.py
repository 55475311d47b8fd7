"""``/reports`` on a group's site: the coordinator's report for a date range, with its CSV and
PDF (the coordinator dashboard and the Manage menu link here)."""

from flask import g, url_for
from flask_babel import gettext as _

from timebank.blueprints.reports import bp, pages
from timebank.policy import require
from timebank.reports import summary, tables


def _title() -> str:
    return _("Activity report: %(group)s", group=g.group.name)


@bp.route("/reports")
@require("reports.view")
def group_report():
    """The page: the range form, charts, and a table beside each chart."""
    zone = g.group.timezone or "UTC"
    form, rng = pages.range_form(zone)
    if rng is None:
        return pages.render_group(None, form, title=_title(), zone=zone, downloads=None,
                                  status=400)
    args = pages.range_args(rng)
    return pages.render_group(
        summary.group_report(rng), form, title=_title(), zone=zone,
        downloads={fmt: url_for("reports.group_download", fmt=fmt, **args)
                   for fmt in ("csv", "pdf")})


@bp.route("/reports.<any(csv, pdf):fmt>")
@require("reports.view")
def group_download(fmt: str):
    """The same report as a CSV (every idle member listed) or a PDF, in the reader's language."""
    zone = g.group.timezone or "UTC"
    form, rng = pages.range_form(zone)
    if rng is None:
        return pages.render_group(None, form, title=_title(), zone=zone, downloads=None,
                                  status=400)
    report = summary.group_report(rng, idle_limit=None if fmt == "csv" else summary.IDLE_LIST_LIMIT)
    return pages.download(
        fmt, title=_title(), rng=rng,
        table_list=tables.group_tables(report, for_people=fmt == "pdf"),
        filename=f"report-{g.group.slug}-{rng.start.isoformat()}-{rng.end.isoformat()}")

"""Money that moves by itself: a member's standing orders (``/standing-orders``), a treasurer's
orders on a member's behalf, and a currency's membership fee and demurrage
(``/currencies/<code>/charges``)."""

from flask import Blueprint

bp = Blueprint("schedules", __name__)



@bp.app_template_filter("day")
def format_day(value) -> str:
    """A calendar date (no time) in the reader's language: ``6 Dec 2026``."""
    from flask_babel import format_date

    return format_date(value, "medium") if value is not None else ""


@bp.app_context_processor
def schedule_helpers() -> dict:
    """``next_demurrage(account)``: what demurrage will next take from ``account`` at its
    balance now (a :class:`~timebank.schedules.service.NextCharge`, or None);
    ``percent(basis_points)``: a rate as the reader writes a percentage number (``1.5``)."""
    from flask import g
    from flask_babel import format_decimal

    from timebank.schedules import service

    def next_demurrage(account):
        group = getattr(g, "group", None)
        if account is None or group is None:
            return None
        return service.next_demurrage(account, today=service.group_today(group))

    def percent(basis_points: int) -> str:
        return format_decimal(basis_points / 100, format="#,##0.##")

    return {"next_demurrage": next_demurrage, "percent": percent}


from timebank.blueprints.schedules import routes  # noqa: E402,F401

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
    balance now (a :class:`~timebank.schedules.service.NextCharge`, or None)."""
    from flask import g

    from timebank.schedules import service

    def next_demurrage(account):
        group = getattr(g, "group", None)
        if account is None or group is None:
            return None
        return service.next_demurrage(account, today=service.group_today(group))

    return {"next_demurrage": next_demurrage}


from timebank.blueprints.schedules import routes  # noqa: E402,F401

"""Template filters and globals: money, dates, cross-host URLs, text direction."""

from flask import Flask, g
from flask_babel import format_datetime

from timebank.blueprints.badges import (
    balances_to_settle,
    join_request_count,
    manage_badge_count,
    treasurer_waiting_count,
)
from timebank.i18n import LANGUAGES, current_locale, text_direction
from timebank.ledger.amounts import format_money
from timebank.policy import can, current_membership
from timebank.tenants.urls import group_url, network_url  # noqa: F401  (re-exported)


def install_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt)

    @app.context_processor
    def inject():
        return {
            "current_group": getattr(g, "group", None),
            "current_membership": current_membership,
            "can": lambda action: can(current_membership(), action),
            "network_url": network_url,
            "group_url": group_url,
            "languages": LANGUAGES,
            "current_locale": current_locale,
            "text_direction": text_direction,
            "join_request_count": join_request_count,
            "treasurer_waiting_count": treasurer_waiting_count,
            "manage_badge_count": manage_badge_count,
            "balances_to_settle": balances_to_settle,
        }

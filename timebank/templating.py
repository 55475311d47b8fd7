"""Template filters and globals: money, dates, cross-host URLs, text direction."""

from flask import Flask, current_app, g
from flask_babel import format_datetime

from timebank.blueprints.badges import (
    balances_to_settle,
    join_request_count,
    manage_badge_count,
    treasurer_waiting_count,
)
from timebank.i18n import LANGUAGES, current_locale, format_money, text_direction
from timebank.policy import can, current_membership


def network_url(path: str = "/") -> str:
    """Return an absolute URL on the network site (the apex), e.g. ``http://localhost:5000/``."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return f"{scheme}://{current_app.config['BASE_DOMAIN']}{path}"


def group_url(slug: str, path: str = "/") -> str:
    """Return an absolute URL on a group's site, e.g. ``http://greenvale.localhost:5000/``."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return f"{scheme}://{slug}.{current_app.config['BASE_DOMAIN']}{path}"


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

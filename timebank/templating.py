"""Template filters and globals: money, dates, cross-host URLs, text direction."""

from flask import Flask, g
from flask_babel import gettext as _

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


def regional_locale() -> str:
    """Return the reader's language in the group's country when Babel knows that variant
    (``en`` in a British group: ``en_GB``, so dates read 06/12/2026), else the language."""
    from babel import localedata

    language = current_locale()
    country = getattr(getattr(g, "group", None), "country", None)
    if country and "_" not in language:
        variant = f"{language}_{country}"
        if localedata.exists(variant):
            return variant
    return language


def format_regional_datetime(value, fmt: str = "medium") -> str:
    """Format ``value`` in the group's time zone, as the reader's regional variant writes it."""
    from babel.dates import format_datetime as babel_format_datetime
    from flask_babel import get_timezone

    if value is None:
        return ""
    return babel_format_datetime(value, fmt, tzinfo=get_timezone(), locale=regional_locale())


def format_network_hours(seconds: int) -> str:
    """A value between groups (network seconds) as network hours in the reader's locale, to
    two decimals: ``1.5 h``."""
    from flask_babel import format_decimal

    return _("%(hours)s h", hours=format_decimal(seconds / 3600, format="#,##0.##"))


def format_basis_points(basis_points: int) -> str:
    """A rate in basis points as a percentage in the reader's locale: 250 -> ``2.5%``."""
    from decimal import Decimal

    from flask_babel import format_percent

    return format_percent(Decimal(basis_points) / 10_000, format="#,##0.##%")


def install_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["basis_points"] = format_basis_points
    app.jinja_env.filters["datetime"] = format_regional_datetime

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
            "network_hours": format_network_hours,
        }

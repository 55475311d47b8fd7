"""Locale choice and locale-aware formatting.

Locale order (DESIGN.md, "Languages"): the member's saved preference, then the group's default
language, then the browser's ``Accept-Language``, limited to shipped languages.
"""

from flask import g, request
from flask_babel import get_locale

from timebank.ledger.amounts import format_amount

# code -> name in its own language (never translated: people look for their own name).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "ca": "Català",
    "fr": "Français",
    "de": "Deutsch",
    "it": "Italiano",
    "pt_BR": "Português (Brasil)",
    "nl": "Nederlands",
    "ar": "العربية",
}
RTL_LANGUAGES = {"ar"}


def select_locale() -> str:
    """Return the locale code for this request (Flask-Babel ``locale_selector``)."""
    from flask_login import current_user

    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = request.cookies.get("locale") if request else None
    if chosen in LANGUAGES:
        return chosen
    group = getattr(g, "group", None)
    if group is not None and group.default_locale in LANGUAGES:
        return group.default_locale
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def select_timezone() -> str:
    """Return the time zone to display times in: the group's, else UTC."""
    group = getattr(g, "group", None)
    return group.timezone if group is not None else "UTC"


def current_locale() -> str:
    return str(get_locale() or "en")


def text_direction() -> str:
    """``rtl`` for right-to-left locales, else ``ltr``."""
    return "rtl" if current_locale().split("_")[0] in RTL_LANGUAGES else "ltr"


def format_money(amount: int, currency, *, with_symbol: bool = True) -> str:
    """Format ``amount`` subunits of ``currency`` for the current locale (``1:30 h``)."""
    return format_amount(
        amount,
        subunits_per_unit=currency.subunits_per_unit,
        locale=current_locale(),
        symbol=currency.symbol if with_symbol else None,
    )


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (translated later, e.g. in
    the recipient's locale by a mail job)."""
    return message

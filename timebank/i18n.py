"""Locale choice and locale-aware formatting.

Which language a page is in (DESIGN.md, "Languages"; issue 3). The candidates, first usable wins:

1. the logged-in member's saved preference (``User.locale``, set on the profile or by the
   language switcher);
2. the visitor's choice from the language switcher (the ``locale`` cookie, host-only, so it is
   per group site), for visitors and for members who saved no preference;
3. the group's default language (``Group.default_locale``);
4. the browser's ``Accept-Language``, best match;
5. English, else the first enabled language.

"Usable" means enabled on this site: the group's ``languages`` on a group site, every shipped
language on the network site (the apex). A saved preference the group does not offer is skipped,
not lost: the member gets it back in groups that offer it. Since a group always has a default
language (and it is always enabled: a database check says so), ``Accept-Language`` decides on
the network site, where there is no group default. The same rule picks the language of an email
(:func:`locale_for_user`), so mail reads like the recipient's pages, never like the sender's.
"""

from collections.abc import Iterable

from babel import Locale
from flask import g, has_app_context, has_request_context, request
from flask_babel import get_locale

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
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "locale"
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600  # seconds
RTL_LANGUAGES = frozenset(code for code in LANGUAGES if Locale.parse(code).text_direction == "rtl")


# --- which languages, which one ----------------------------------------------------------------


def shipped(codes: Iterable[str]) -> list[str]:
    """Return the shipped codes among ``codes``, in :data:`LANGUAGES` order."""
    wanted = set(codes)
    return [code for code in LANGUAGES if code in wanted]


def enabled_languages(group=None) -> list[str]:
    """Return the codes offered on ``group``'s site, in :data:`LANGUAGES` order.

    ``None`` (the network site) offers every shipped language. Codes a group lists that are no
    longer shipped are ignored.
    """
    if group is None:
        return list(LANGUAGES)
    chosen = set(group.languages or ()) | {group.default_locale}
    return [code for code in LANGUAGES if code in chosen] or [DEFAULT_LOCALE]


def choose_locale(
    *,
    enabled: list[str],
    saved: str | None = None,
    cookie: str | None = None,
    group_default: str | None = None,
    accept_languages=None,
) -> str:
    """Return the locale for these facts, by the order in the module docstring.

    ``accept_languages`` is a :class:`werkzeug.datastructures.LanguageAccept` (or None).
    """
    for candidate in (saved, cookie, group_default):
        if candidate and candidate in enabled:
            return candidate
    if accept_languages is not None:
        best = _best_accepted(accept_languages, enabled)
        if best:
            return best
    return DEFAULT_LOCALE if DEFAULT_LOCALE in enabled else enabled[0]


def _best_accepted(accept_languages, enabled: list[str]) -> str | None:
    """Return the enabled code the browser likes best: in the browser's order of preference,
    an exact match (``pt-BR`` -> ``pt_BR``) or else the same language (``pt-PT`` -> ``pt_BR``,
    ``de-AT`` -> ``de``), so a Portuguese reader gets Portuguese before their English fallback.
    """
    exact = {code.lower().replace("_", "-"): code for code in enabled}
    primary = {code.split("_")[0].lower(): code for code in reversed(enabled)}
    for value, quality in accept_languages:
        tag = value.lower().replace("_", "-")
        if quality <= 0 or tag == "*":
            continue
        match = exact.get(tag) or primary.get(tag.split("-")[0])
        if match:
            return match
    return None


def locale_for_user(user, group=None) -> str:
    """Return the language to write to ``user`` in (an email) from ``group``: their saved
    preference if the group offers it, else the group's default (no cookie, no browser)."""
    enabled = enabled_languages(group)
    return choose_locale(
        enabled=enabled,
        saved=getattr(user, "locale", None),
        group_default=group.default_locale if group is not None else None,
    )


def context_group():
    """Return the group of this request (``g.group``) or job (the tenant context), or None."""
    group = getattr(g, "group", None) if has_app_context() else None
    if group is not None:
        return group
    from timebank.tenants import current_group_id

    group_id = current_group_id()
    if group_id is None:
        return None
    from timebank.extensions import db
    from timebank.models import Group

    return db.session.get(Group, group_id)


def select_locale() -> str:
    """Return the locale code for this request or job (Flask-Babel ``locale_selector``)."""
    group = context_group()
    enabled = enabled_languages(group)
    group_default = group.default_locale if group is not None else None
    if not has_request_context():
        return choose_locale(enabled=enabled, group_default=group_default)
    from flask_login import current_user

    user = current_user if current_user and current_user.is_authenticated else None
    return choose_locale(
        enabled=enabled,
        saved=user.locale if user is not None else None,
        cookie=request.cookies.get(LOCALE_COOKIE),
        group_default=group_default,
        accept_languages=request.accept_languages,
    )


def select_timezone() -> str:
    """Return the time zone to display times in: the group's, else UTC."""
    group = context_group()
    return group.timezone if group is not None and group.timezone else "UTC"


def current_locale() -> str:
    """Return the current locale code as used in :data:`LANGUAGES` (``pt_BR``)."""
    return str(get_locale() or DEFAULT_LOCALE)


def html_lang(code: str | None = None) -> str:
    """Return the BCP 47 tag for ``code`` (default: current), as ``<html lang>`` wants
    (``pt-BR``)."""
    return (code or current_locale()).replace("_", "-")


def text_direction(code: str | None = None) -> str:
    """Return ``rtl`` for right-to-left locales (the current one by default), else ``ltr``."""
    return "rtl" if (code or current_locale()).split("_")[0] in RTL_LANGUAGES else "ltr"


def language_choices(group=None) -> list[tuple[str, str]]:
    """Return ``(code, own name)`` for the language switcher on this site."""
    if group is None and has_request_context():
        group = getattr(g, "group", None)
    return [(code, LANGUAGES[code]) for code in enabled_languages(group)]


# --- formatting --------------------------------------------------------------------------------


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (translated later, e.g. in
    the recipient's locale by a mail job)."""
    return message


# --- wiring ------------------------------------------------------------------------------------


def init_i18n(app) -> None:
    """Compile stale catalogs, bind Flask-Babel and add the template helpers."""
    from timebank.extensions import babel
    from timebank.translations import ensure_compiled

    ensure_compiled()
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(
        language_choices=language_choices, html_lang=html_lang, text_direction=text_direction
    )

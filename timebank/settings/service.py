"""Group settings: which languages a group offers, and its default language.

Rules enforced here (and, for the last one, by a database check too):

* only shipped languages (:data:`timebank.i18n.LANGUAGES`) can be enabled;
* at least one language is enabled;
* the default language is one of the enabled ones.

Functions take keyword-only arguments, raise :class:`SettingsError` subclasses, never commit.
"""

from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.i18n import LANGUAGES, shipped
from timebank.models import Group
from timebank.user_errors import UserError


class SettingsError(UserError):
    message = _l("These settings could not be saved.")


class NoLanguage(SettingsError):
    field = "languages"
    message = _l("Choose at least one language.")


class UnknownLanguage(SettingsError):
    field = "languages"
    message = _l("This language is not available.")


class DefaultNotEnabled(SettingsError):
    field = "default_locale"
    message = _l("The default language must be one of the languages the group offers.")


def set_languages(*, group: Group, languages: list[str], default_locale: str) -> Group:
    """Make ``group`` offer ``languages`` (codes) with ``default_locale`` as its default.

    Members whose saved preference is no longer offered see the group's default (their
    preference is kept for other groups). Raises :class:`NoLanguage`,
    :class:`UnknownLanguage` or :class:`DefaultNotEnabled`.
    """
    if any(code not in LANGUAGES for code in [*languages, default_locale]):
        raise UnknownLanguage()
    enabled = shipped(languages)
    if not enabled:
        raise NoLanguage()
    if default_locale not in enabled:
        raise DefaultNotEnabled()
    group.languages = enabled
    group.default_locale = default_locale
    db.session.flush()
    return group

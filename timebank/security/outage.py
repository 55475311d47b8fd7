"""The outage page: while the database is unreachable, a 503 that needs nothing.

Any error that means "no connection to PostgreSQL" (SQLAlchemy's ``OperationalError`` or
``InterfaceError``, or a connection found invalid) is answered with ``errors/outage.html``,
rendered straight from the Jinja environment: no context processors, no ``current_user``, no
group, no locale selector (each of those reads the database). The language comes from the
language cookie or ``Accept-Language`` alone. ``Retry-After`` tells clients when to try again.
"""

import sqlalchemy as sa
from flask import Flask, request
from flask_babel import force_locale

RETRY_AFTER_SECONDS = 30


def is_outage(error: Exception) -> bool:
    """Return whether ``error`` means the database cannot be reached."""
    if getattr(error, "connection_invalidated", False):
        return True
    return isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError))


def install_outage_page(app: Flask) -> None:
    """Answer database outages with the self-contained 503 page."""

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def database_unreachable(error):
        if not is_outage(error):
            raise error
        app.logger.error("database unreachable: %s", error)
        _forget_broken_session()
        locale = outage_locale()
        with force_locale(locale):
            body = app.jinja_env.get_template("errors/outage.html").render(
                lang=locale.replace("_", "-"), rtl=locale == "ar")
        return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS),
                           "Cache-Control": "no-store"}


def outage_locale() -> str:
    """The reader's language without the database: the language cookie, then the browser."""
    from timebank.i18n import LANGUAGES, LOCALE_COOKIE

    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def _forget_broken_session() -> None:
    from timebank.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone: nothing left to roll back
        pass

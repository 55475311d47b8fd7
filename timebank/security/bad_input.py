"""Bad input is a 400, never a 500.

Three nets, widest last:

* ids in URLs: the ``int`` converter refuses numbers past PostgreSQL's ``bigint`` (404, as for
  any id that does not exist) instead of letting the database overflow;
* before any view, and before every other ``before_request`` hook (Flask-WTF's CSRF check
  parses the form, and a parsed body can no longer be read raw): a NUL byte or invalid UTF-8 in
  the path, the query string or a form field is refused with 400 (PostgreSQL cannot store NUL
  in text, and Werkzeug would silently turn broken UTF-8 into U+FFFD);
* after: a database ``DataError`` (SQLSTATE class 22: a number out of range, a date PostgreSQL
  cannot hold, …), through SQLAlchemy or from psycopg directly (the ledger's functions are
  called on the driver's cursor), or Python's ``OverflowError`` raised while handling a request
  is answered with 400 in the user's language, the transaction rolled back.
"""

from urllib.parse import unquote_to_bytes

import psycopg
import sqlalchemy as sa
from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

BIGINT_MAX = 2**63 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` that matches only what fits PostgreSQL's ``bigint``."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", BIGINT_MAX)
        super().__init__(map, *args, **kwargs)


def install_bad_input_guards(app: Flask) -> None:
    """Register the converter, the input check and the error handlers."""
    app.url_map.converters["int"] = BoundedIntegerConverter

    def refuse_unreadable_input():
        if not is_readable_request():
            abort(400)

    # First of the app's hooks: the CSRF check (registered earlier) would parse the form.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unreadable_input)

    @app.errorhandler(sa.exc.DataError)
    @app.errorhandler(psycopg.DataError)
    @app.errorhandler(OverflowError)
    def bad_value(error):
        from timebank.extensions import db

        db.session.rollback()
        app.logger.info("bad input answered with 400: %s", error)
        return app.handle_http_exception(_bad_request())


def _bad_request():
    from werkzeug.exceptions import BadRequest

    return BadRequest()


def is_readable_request() -> bool:
    """Return whether the path, query string and form fields are UTF-8 without NUL bytes."""
    raw_path = request.environ.get("PATH_INFO", "").encode("latin-1", "replace")
    if not _is_clean(raw_path):
        return False
    if not _is_clean_query(request.query_string):
        return False
    if request.mimetype == "application/x-www-form-urlencoded":
        return _is_clean_query(request.get_data(cache=True))
    if request.mimetype == "multipart/form-data":
        return all(_is_clean(value.encode("utf-8", "surrogatepass"))
                   for values in request.form.listvalues() for value in values) and all(
            "\x00" not in (file.filename or "") for file in request.files.values())
    return True


def _is_clean_query(raw: bytes) -> bool:
    for pair in raw.split(b"&"):
        if not _is_clean(unquote_to_bytes(pair.replace(b"+", b" "))):
            return False
    return True


def _is_clean(raw: bytes) -> bool:
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

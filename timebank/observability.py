"""What operators see: one log line per request, JSON logs, and error reporting.

Every request gets a request id (the ``X-Request-ID`` nginx sends, or a new one), returned in
the response's ``X-Request-ID`` header, and ends with one line on the ``timebank.request``
logger naming the method, path, status, duration, group slug and user id. With
``LOG_FORMAT=json`` every log line is one JSON object, so journald and log shippers can read the
fields. With ``SENTRY_DSN`` set, unhandled errors are reported through sentry-sdk.
"""

import json
import logging
import re
import time
import uuid

import sqlalchemy as sa
from flask import Flask, g, request, request_finished, request_started

from timebank.tenants.resolve import slug_from_host

log = logging.getLogger("timebank.request")

# A request id from the proxy is kept only if it looks like one (no spaces, no control bytes).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

# Attributes every LogRecord has; anything else on a record was passed in ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def configure_logging(app: Flask) -> None:
    """Log at INFO to stderr (journald on servers), as text or as JSON (``LOG_FORMAT``).

    Tests and the debug server keep Python's defaults; the request log still goes to the
    ``timebank.request`` logger, where tests read it.
    """
    if app.debug or app.testing:
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.setLevel(logging.INFO)
    if app.config.get("LOG_FORMAT", "text").lower() == "json":
        formatter: logging.Formatter = JsonFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        handler.setFormatter(formatter)


def install_request_log(app: Flask) -> None:
    """Give every request an id and log one line when its response is finished."""
    request_started.connect(_start, app)
    request_finished.connect(_finish, app)
    app.after_request(_note_user)


def _start(app: Flask, **_extra) -> None:
    g.request_started_at = time.perf_counter()
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex


def _note_user(response):
    """Read the logged-in user's id now, from the identity map: after the commit the object is
    expired and reading an attribute would query the database again."""
    user = g.get("_login_user")
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    g.log_user = state.identity[0] if state is not None and state.identity else None
    return response


def _finish(app: Flask, response, **_extra) -> None:
    started = g.get("request_started_at")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers.setdefault("X-Request-ID", request_id)
    fields = {
        "request_id": request_id,
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "group": slug_from_host(request.host, app.config["BASE_DOMAIN"]) or None,
        "user_id": g.get("log_user"),
        "remote_addr": request.remote_addr,
    }
    log.info(
        "%s %s %s %sms group=%s user=%s request_id=%s",
        fields["method"], fields["path"], fields["status"], duration_ms,
        fields["group"] or "-", fields["user_id"] or "-", request_id,
        extra=fields,
    )


def init_error_reporting(app: Flask) -> bool:
    """Report unhandled errors to Sentry when ``SENTRY_DSN`` is set; return whether it is on.

    Personal data (cookies, form bodies, user emails) is not sent: ``send_default_pii`` is off.
    """
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        environment=app.config.get("SENTRY_ENVIRONMENT") or "production",
        release=app.config.get("RELEASE") or None,
        send_default_pii=False,
        traces_sample_rate=float(app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
    )
    return True

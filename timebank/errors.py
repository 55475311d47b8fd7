"""Error pages: friendly HTML for people, RFC 9457 problem JSON for API clients."""

from flask import Flask, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Not allowed"),
    410: _l("This group is suspended"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        title = TITLES.get(code, error.name)
        if _wants_json():
            body = {"type": "about:blank", "title": str(title), "status": code}
            return jsonify(body), code, {"Content-Type": "application/problem+json"}
        return (
            render_template(
                "errors/error.html",
                code=code,
                title=title,
                unknown_slug=getattr(g, "unknown_slug", None),
            ),
            code,
        )

"""``/api/v1/docs``: Swagger UI, its files served from this host (the flask-swagger-ui
package ships them), started by ``static/js/api_docs.js`` — no CDN, no inline script."""

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, abort, render_template, send_from_directory, url_for

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")
ASSETS = Path(flask_swagger_ui.__file__).parent / "dist"
FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                   "favicon-32x32.png", "favicon-16x16.png"})


@bp.route("/")
def page():
    """The interactive documentation of the OpenAPI document."""
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.route("/assets/<name>")
def asset(name: str):
    """Swagger UI's own files, from the installed package."""
    if name not in FILES:
        abort(404)
    return send_from_directory(ASSETS, name, max_age=86400)

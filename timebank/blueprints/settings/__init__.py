"""Group settings pages for coordinators: general settings, languages."""

from flask import Blueprint

bp = Blueprint("settings", __name__)

from timebank.blueprints.settings import general  # noqa: E402,F401,I001
from timebank.blueprints.settings import routes  # noqa: E402,F401
from timebank.blueprints.settings import fediverse  # noqa: E402,F401

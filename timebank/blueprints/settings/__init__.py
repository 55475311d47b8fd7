"""Group settings pages for coordinators: the languages the group offers and its default."""

from flask import Blueprint

bp = Blueprint("settings", __name__)

from timebank.blueprints.settings import routes  # noqa: E402,F401
from timebank.blueprints.settings import general  # noqa: E402,F401

"""Two-factor sign-in pages: the code step of login, setting it up, the network's rule."""

from flask import Blueprint

bp = Blueprint("security", __name__)

from timebank.blueprints.security import routes  # noqa: E402,F401

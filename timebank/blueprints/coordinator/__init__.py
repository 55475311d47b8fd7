"""The coordinator's dashboard: what needs attention in the group."""

from flask import Blueprint

bp = Blueprint("coordinator", __name__)

from timebank.blueprints.coordinator import routes  # noqa: E402,F401

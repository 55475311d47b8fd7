"""The group's audit trail, read and filtered by coordinators."""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from timebank.blueprints.audit import routes  # noqa: E402,F401

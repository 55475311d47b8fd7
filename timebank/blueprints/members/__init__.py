"""The group's members: directory, profiles, join approvals, credit limits."""

from flask import Blueprint

bp = Blueprint("members", __name__)

from timebank.blueprints.members import routes  # noqa: E402,F401

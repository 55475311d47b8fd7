"""The group's members: directory, profiles, join approvals, credit limits; coordinators'
management (roles, suspension, invitations, members without email) and leaving."""

from flask import Blueprint

bp = Blueprint("members", __name__)

from timebank.blueprints.members import routes  # noqa: E402,F401
from timebank.blueprints.members import invitations, manage  # noqa: E402,F401

"""The group's members: directory, profiles, join approvals; coordinators'
management (roles, suspension, invitations, members without email) and leaving."""

from flask import Blueprint

bp = Blueprint("members", __name__)

from timebank.blueprints.members import invitations, manage, notices, routes  # noqa: E402,F401

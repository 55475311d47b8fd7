"""Volunteer tasks and kudos: the task list, posting, pledging, marking done, the board."""

from flask import Blueprint

bp = Blueprint("volunteering", __name__)

from timebank.blueprints.volunteering import routes  # noqa: E402,F401

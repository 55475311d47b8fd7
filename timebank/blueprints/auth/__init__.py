"""Logging in and out, signing up and joining a group, passwords and profile."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from timebank.blueprints.auth import routes  # noqa: E402,F401

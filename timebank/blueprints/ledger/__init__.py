"""Paying hours and seeing them: dashboard, payment form, statement, a transfer's page."""

from flask import Blueprint

bp = Blueprint("ledger", __name__)

from timebank.blueprints.ledger import routes  # noqa: E402,F401

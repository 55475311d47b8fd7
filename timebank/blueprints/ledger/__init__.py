"""Paying hours and seeing them: dashboard, pay and request, a transfer's page and its
actions, statements and the group's ledger, and the treasurer's and coordinator's pages
(on-behalf and bulk entries, limits, currencies, issuance, settings)."""

from flask import Blueprint

bp = Blueprint("ledger", __name__)

from timebank.blueprints.ledger import admin, routes, statements  # noqa: E402,F401

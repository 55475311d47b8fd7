"""Reports (issue 20): a coordinator's figures for a date range at ``/reports`` on the group's
site, and the network admin's across groups at ``/network/reports`` on the apex; each as a
page with charts and tables, a CSV and a PDF."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from timebank.blueprints.reports import network, routes  # noqa: E402,F401

"""The network site at the apex: landing page and the network admin's provisioning pages."""

from flask import Blueprint

bp = Blueprint("network", __name__)

from timebank.blueprints.network import routes  # noqa: E402,F401

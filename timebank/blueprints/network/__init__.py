"""The network site at the apex: landing page, starting a timebank, "my timebanks", the network
marketplace, the network console (network admins), and the few group-site routes that belong to
the network (home page, cross-host login, the coordinator's export)."""

from flask import Blueprint

bp = Blueprint("network", __name__)

from timebank.blueprints.network import (  # noqa: E402,F401
    api,
    console,
    exports,
    marketplace,
    mine,
    routes,
    signup,
)

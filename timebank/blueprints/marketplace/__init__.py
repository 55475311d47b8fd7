"""The group's marketplace: ads, search, possible trades, favourites, messages, categories."""

from flask import Blueprint

bp = Blueprint("marketplace", __name__, url_prefix="/marketplace")

from timebank.blueprints.marketplace import (  # noqa: E402,F401
    admin,
    ads,
    directory,
    helpers,
    people,
)

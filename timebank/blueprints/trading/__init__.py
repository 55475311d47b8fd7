"""Trade with other groups: the coordinator's settings and network position (``/trading``),
and a member paying a member of another group (``/trading/pay``)."""

from flask import Blueprint

bp = Blueprint("trading", __name__)

from timebank.blueprints.trading import routes  # noqa: E402,F401

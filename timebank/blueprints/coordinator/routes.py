"""``/coordinator``: pending requests and transfers, quiet members, limits, monthly totals."""

from flask import g, render_template

from timebank.blueprints.coordinator import bp
from timebank.ledger import service as ledger
from timebank.people import overview
from timebank.policy import require
from timebank.trading import positions


@bp.route("/coordinator")
@require("coordinator.dashboard")
def dashboard():
    currency = ledger.default_currency()
    timezone = g.group.timezone or "UTC"
    this_month, last_month = overview.exchanged_this_and_last_month(currency, timezone=timezone)
    return render_template(
        "coordinator/dashboard.html",
        currency=currency,
        requests=overview.pending_requests(),
        transfers=overview.pending_transfers(),
        without_ads=overview.members_without_ads(),
        inactive=overview.inactive_members(),
        inactive_days=overview.INACTIVE_DAYS,
        near_limits=overview.members_near_limits(currency),
        this_month=this_month,
        last_month=last_month,
        network=(positions.clearing_positions(), positions.balances_by_partner(g.group))
        if g.group.trades_with_network else None,
    )

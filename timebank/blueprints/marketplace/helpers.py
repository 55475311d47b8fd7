"""Helpers shared by the marketplace routes and templates (template globals and filters)."""

from flask import abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Row

from timebank.blueprints.marketplace import bp
from timebank.blueprints.navigation import local_path
from timebank.extensions import db
from timebank.i18n import current_locale
from timebank.ledger.amounts import format_amount, format_money
from timebank.marketplace import matching, messaging
from timebank.marketplace.rendering import render_markdown
from timebank.marketplace.service import can_edit_ad
from timebank.models import Ad, AdKind, Membership, PriceUnit
from timebank.policy import current_membership


def active_member_or_404(membership_id: int) -> Membership:
    """Return an active membership of the current group, or abort with 404."""
    member = db.session.get(Membership, membership_id)
    if member is None or not member.is_active:
        abort(404)
    return member


def back(default: str):
    """Redirect to the same-host ``next`` path if given, else to ``default``."""
    target = request.form.get("next") or request.args.get("next")
    return redirect(local_path(target) or default)


def price_label(ad: Ad) -> str:
    """Return the ad's price for display (``1:30 h per hour``), or an empty string."""
    if ad.price_amount is None or ad.price_currency is None:
        return ""
    money = format_money(ad.price_amount, ad.price_currency)
    if ad.price_unit == PriceUnit.PER_HOUR:
        return _("%(price)s per hour", price=money)
    if ad.price_unit == PriceUnit.PER_DAY:
        return _("%(price)s per day", price=money)
    return money


def transfer_link(ad: Ad) -> str:
    """Return the link that opens the transfer form prefilled from ``ad``.

    Offer ("Pay for this"): ``/pay?to=<author membership id>&ad=<ad id>&description=<title>
    [&amount=<price>&currency=<currency code>]``. Want ("Request payment"):
    ``/request?from=<author membership id>&ad=...&description=...[&amount=...&currency=...]``
    (``/pay?kind=request&from=...`` while no request form exists). ``amount`` is the price
    written as the forms parse it (``1:30`` for hours, ``2.50`` otherwise), left out when the
    ad has no price.
    """
    args = {"ad": ad.id, "description": ad.title}
    if ad.price_amount is not None and ad.price_currency is not None:
        args["amount"] = format_amount(
            ad.price_amount,
            subunits_per_unit=ad.price_currency.subunits_per_unit,
            locale=current_locale(),
        )
        args["currency"] = ad.price_currency.code
    if ad.kind == AdKind.OFFER:
        return url_for("ledger.pay", to=ad.author_id, **args)
    if "ledger.request_payment" in current_app.view_functions:
        return url_for("ledger.request_payment", **{"from": ad.author_id}, **args)
    return url_for("ledger.pay", kind="request", **{"from": ad.author_id}, **args)


def unread_messages() -> int:
    """How many messages to the logged-in member are unread (0 for a member who is not
    active): one statement a request, however many places of the page show it (the
    navigation bar and the marketplace's own menu)."""
    if "unread_messages" not in g:
        membership = current_membership()
        g.unread_messages = (messaging.unread_count(membership)
                             if membership is not None and membership.is_active else 0)
    return g.unread_messages


def possible_trades_for_dashboard(limit: int = 5) -> list[Row]:
    """Return the logged-in member's best possible trades, as the rows
    :func:`~timebank.marketplace.matching.possible_trades_in_brief` reads (none for a member
    who is not active)."""
    membership = current_membership()
    if membership is None or not membership.is_active:
        return []
    return matching.possible_trades_in_brief(membership=membership, limit=limit)


def ads_of_member(membership_id: int, limit: int = 10) -> list[Ad]:
    """Return a member's visible ads, newest first (for profile pages)."""
    from timebank.marketplace.search import search_ads

    membership = current_membership()
    if membership is None or not membership.is_active:
        return []
    return search_ads(author_id=membership_id, sort="newest", per_page=limit).ads


@bp.app_context_processor
def marketplace_template_globals() -> dict:
    return {
        "marketplace_unread_count": unread_messages,
        "marketplace_possible_trades": possible_trades_for_dashboard,
        "marketplace_ads_of": ads_of_member,
        "ad_transfer_link": transfer_link,
        "ad_price": price_label,
        "can_edit_ad": lambda ad: can_edit_ad(current_membership(), ad),
    }


@bp.app_template_filter("safe_markdown")
def safe_markdown(text: str | None):
    return render_markdown(text)

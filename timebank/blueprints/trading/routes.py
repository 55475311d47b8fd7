"""Trading pages: a coordinator's settings and network position, a member (or a treasurer, on a
member's behalf) paying a member of another group, and a network admin's caps (on the
console's group page). Writes go through :mod:`timebank.trading.service` and
:mod:`timebank.ledger.intergroup`; refusals are shown next to the field and roll back."""

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from timebank.blueprints.forms import select_choices
from timebank.blueprints.ledger.helpers import (
    currency_choices,
    field_error,
    member_choices,
    money,
)
from timebank.blueprints.network import console
from timebank.blueprints.trading import bp
from timebank.blueprints.trading.forms import CapsForm, CrossPayForm, settings_form
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.ledger import intergroup
from timebank.ledger import service as ledger
from timebank.ledger.errors import LedgerError
from timebank.models import Group, Membership, TransferState
from timebank.policy import can, current_membership, network_admin_required, require
from timebank.provisioning import audit
from timebank.tenants import all_groups
from timebank.trading import positions
from timebank.trading import service as trading
from timebank.trading.service import TradingError


@bp.route("/trading", methods=["GET", "POST"])
@require("trading.manage")
def settings():
    group = db.session.get(Group, g.group.id)
    currencies = ledger.active_currencies()
    form = settings_form(currencies)
    others = [other for other in trading.other_groups() if other.id != group.id]
    form.partners.choices = [SelectChoice(other.id, other.name) for other in others]
    for currency in currencies:
        for prefix in ("owe", "owed"):
            getattr(form, f"{prefix}_{currency.id}").subunits_per_unit = (
                currency.subunits_per_unit)
    if request.method == "GET":
        form.trades_with_network.data = group.trades_with_network
        form.trades_with_all_groups.data = int(group.trades_with_all_groups)
        form.partners.data = trading.chosen_partner_ids(group)
        for bound in trading.bounds_of(group):
            getattr(form, f"owe_{bound.currency.id}").data = money(
                bound.may_owe, bound.currency, with_symbol=False)
            getattr(form, f"owed_{bound.currency.id}").data = money(
                bound.may_be_owed, bound.currency, with_symbol=False)
    if form.validate_on_submit():
        bounds = {
            currency.id: (getattr(form, f"owe_{currency.id}").subunits or 0,
                          getattr(form, f"owed_{currency.id}").subunits or 0)
            for currency in currencies
        }
        try:
            trading.set_trading(
                group=group, trades_with_network=form.trades_with_network.data,
                trades_with_all_groups=bool(form.trades_with_all_groups.data),
                partner_ids=form.partners.data or [], bounds=bounds,
                by=current_membership(), locale=group.default_locale,
            )
        except TradingError as error:
            roll_back_at_end()
            form.form_errors.append(str(error))
        else:
            flash(_("Trading settings saved."), "success")
            return redirect(url_for("trading.settings"))
    history = positions.monthly_history()
    return render_template(
        "trading/settings.html", form=form, group=group, currencies=currencies,
        clearing=positions.clearing_positions(),
        by_partner=positions.balances_by_partner(group),
        partners=trading.trading_partners_of(group), history=history,
        caps=(group.network_owe_cap, group.network_owed_cap),
    )


@bp.route("/trading/pay", methods=["GET", "POST"])
@require("trading.pay")
def pay():
    group = g.group
    partners = trading.trading_partners_of(db.session.get(Group, group.id))
    if not partners:
        return render_template("trading/pay.html", form=None, partners=[])
    form = CrossPayForm()
    slug = request.values.get("partner") or request.args.get("group") or partners[0].slug
    partner = next((other for other in partners if other.slug == slug), None)
    if partner is None:
        abort(404)
    form.partner.data = partner.slug
    members = trading.payable_members(partner)
    form.payee.choices = [SelectChoice(0, _("Choose a member"))] + select_choices(members)
    me = current_membership()
    if can(me, "ledger.on_behalf"):  # a treasurer may pay for a member without internet
        form.payer.choices = [SelectChoice(me.id, _("Me"))] + select_choices(
            member_choices(exclude=me))
    else:
        del form.payer
    currencies = ledger.active_currencies()
    form.currency.choices = select_choices(currency_choices())
    currency = ledger.currency_by_code(request.values.get("currency")) or currencies[0]
    form.amount.use_currency(currency)
    receiving = trading.receiving_currency(partner)
    if request.method == "GET":
        form.fill_key()
        form.payee.data = request.args.get("member", type=int) or 0
        form.description.data = (request.args.get("description") or "")[:500]
        if amount := request.args.get("amount", type=int):
            form.amount.data = money(amount, currency, with_symbol=False)
    if form.validate_on_submit():
        payee = trading.payable_member(partner, form.payee.data)
        payer = me
        if form.payer is not None and form.payer.data and form.payer.data != me.id:
            payer = db.session.get(Membership, form.payer.data)
        if payer is None or not payer.is_active:
            form.payer.errors.append(_("Choose a member of this group."))
        elif payee is None or receiving is None:
            form.payee.errors.append(_("Choose a member of that timebank."))
        else:
            try:
                crossing = intergroup.pay_across(
                    payer=payer, payee=payee, payer_currency=currency,
                    payee_currency=receiving, amount=form.amount.subunits,
                    description=form.description.data, starter=current_membership(),
                    idempotency_key=form.key,
                )
            except LedgerError as error:
                roll_back_at_end()
                field_error(form, error)
            else:
                name = dict(members).get(payee.id, "")
                if crossing.state == TransferState.PENDING:
                    flash(_("%(name)s is asked to confirm your payment of %(amount)s.",
                            name=name, amount=money(crossing.payer_leg.amount, currency)),
                          "info")
                else:
                    flash(_("Paid %(amount)s to %(name)s.",
                            amount=money(crossing.payer_leg.amount, currency), name=name),
                          "success")
                return redirect(url_for("ledger.transfer", transfer_id=crossing.payer_leg.id))
    with all_groups():
        receiving_name = receiving.name if receiving else ""
    account = ledger.account_for(current_membership(), currency)
    return render_template(
        "trading/pay.html", form=form, partners=partners, partner=partner,
        receiving_name=receiving_name,
        position=ledger.position(account) if account else None, currency=currency,
    )


@bp.route("/network/groups/<slug>/trading-caps", methods=["POST"])
@network_admin_required
def caps(slug: str):
    """A network admin caps how much a group may owe the network and be owed (network hours),
    on the console's group page; recorded in the network audit trail."""
    with all_groups():
        group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is None:
        abort(404)
    form = CapsForm()
    if not form.validate_on_submit():  # the page again, the errors next to the fields
        return console.group_page(group, caps_form=form, status=422)
    old = (group.network_owe_cap, group.network_owed_cap)
    try:
        trading.set_caps(group=group, owe_cap=form.owe_cap.subunits,
                         owed_cap=form.owed_cap.subunits)
    except TradingError as error:
        roll_back_at_end()
        flash(str(error), "danger")
    else:
        audit.record(actor=current_user, action="group.trading_caps", target=group,
                     details={"before": list(old),
                              "after": [group.network_owe_cap, group.network_owed_cap]})
        flash(_("Trading caps saved."), "success")
    return redirect(url_for("network.group_detail", slug=slug))

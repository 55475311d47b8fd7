"""Standing orders and a currency's scheduled charges.

Writes go through :mod:`timebank.schedules.service`; the request's boundary commits once and a
refusal shown on the form rolls back (status 422).
"""

from decimal import Decimal

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from timebank.blueprints.forms import select_choices
from timebank.blueprints.ledger.helpers import currency_choices, member_choices, money
from timebank.blueprints.schedules import bp
from timebank.blueprints.schedules.forms import CancelOrderForm, ChargesForm, StandingOrderForm
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.amounts import format_amount
from timebank.ledger.errors import LedgerError
from timebank.models import Membership
from timebank.models.schedules import StandingOrder
from timebank.policy import can, current_membership, require
from timebank.schedules import service as schedules
from timebank.schedules.errors import ScheduleError
from timebank.user_errors import UserError


def _order_or_404(order_id: int) -> StandingOrder:
    order = db.session.get(StandingOrder, order_id)
    if order is None or not schedules.sees_order(current_membership(), order):
        abort(404)
    return order


@bp.route("/standing-orders")
@require("schedules.view_own")
def orders():
    me = current_membership()
    paying, receiving = schedules.orders_of(me)
    everyone = schedules.group_orders() if can(me, "schedules.manage") else []
    return render_template("schedules/orders.html", paying=paying, receiving=receiving,
                           everyone=everyone)


@bp.route("/standing-orders/new", methods=["GET", "POST"])
@require("schedules.create")
def new_order():
    me = current_membership()
    on_behalf = can(me, "schedules.manage")
    form = StandingOrderForm()
    choose = [SelectChoice(0, _("Choose a member"))]
    form.payee.choices = choose + select_choices(member_choices())
    if on_behalf:
        form.payer.choices = choose + select_choices(member_choices())
    else:
        del form.payer  # a member pays from their own account only
    form.currency.choices = select_choices(currency_choices())
    currency = ledger.currency_by_code(request.values.get("currency")) or (
        ledger.default_currency())
    if currency is None:
        abort(404)
    form.amount.use_currency(currency)
    if request.method == "GET":
        form.currency.data = currency.code
        if on_behalf:
            form.payer.data = me.id
        form.payee.data = request.args.get("to", type=int) or 0
        form.starts_on.data = schedules.group_today(g.group)
    if form.validate_on_submit():
        payer = db.session.get(Membership, form.payer.data) if on_behalf else me
        payee = db.session.get(Membership, form.payee.data)
        if payer is None or payee is None:
            (form.payer if payer is None else form.payee).errors.append(
                _("Choose a member of this group."))
        else:
            try:
                order = schedules.create_standing_order(
                    payer=payer, payee=payee, currency=currency, amount=form.amount.subunits,
                    description=form.description.data, interval=form.interval.data,
                    starts_on=form.starts_on.data, ends_on=form.ends_on.data, by=me,
                    today=schedules.group_today(g.group))
            except UserError as error:
                _show(form, error)
            else:
                flash(_("Standing order set up: %(amount)s to %(name)s.",
                        amount=money(order.amount, currency), name=payee.user.name),
                      "success")
                return redirect(url_for("schedules.order", order_id=order.id))
    status = 422 if form.errors else 200
    return render_template("schedules/new.html", form=form, on_behalf=on_behalf), status


def _show(form, error: UserError) -> None:
    field = getattr(form, error.field or "", None)
    if isinstance(error, LedgerError) and error.field == "payee" and field is None:
        field = form.payee
    if field is None:
        field = form.amount if isinstance(error, LedgerError) else form.description
    field.errors = list(field.errors) + [str(error)]


@bp.route("/standing-orders/<int:order_id>")
@require("schedules.view_own")
def order(order_id: int):
    order = _order_or_404(order_id)
    return render_template(
        "schedules/order.html", order=order, runs=schedules.runs_of(order),
        following=schedules.next_due_after(order),
        may_cancel=schedules.may_cancel(current_membership(), order),
        cancel_form=CancelOrderForm())


@bp.route("/standing-orders/<int:order_id>/cancel", methods=["POST"])
@require("schedules.cancel")
def cancel(order_id: int):
    order = _order_or_404(order_id)
    form = CancelOrderForm()
    if not form.validate_on_submit():
        abort(400)
    if not schedules.may_cancel(current_membership(), order):
        abort(403)
    schedules.cancel_standing_order(order=order, by=current_membership())
    flash(_("Standing order cancelled."), "success")
    return redirect(url_for("schedules.order", order_id=order.id))


def _units(subunits: int | None, currency) -> str:
    if subunits is None:
        return ""
    return format_amount(subunits, subunits_per_unit=currency.subunits_per_unit)


@bp.route("/currencies/<code>/charges", methods=["GET", "POST"])
@require("schedules.charges")
def charges(code: str):
    currency = ledger.currency_by_code(code)
    if currency is None:
        abort(404)
    form = ChargesForm()
    form.fee_amount.subunits_per_unit = currency.subunits_per_unit
    form.demurrage_threshold.subunits_per_unit = currency.subunits_per_unit
    if request.method == "GET":
        form.fee_amount.data = _units(currency.fee_amount, currency)
        form.fee_interval.data = currency.fee_interval
        form.fee_policy.data = currency.fee_policy
        form.demurrage_rate.data = (None if currency.demurrage_rate is None
                                    else Decimal(currency.demurrage_rate) / 100)
        form.demurrage_threshold.data = _units(currency.demurrage_threshold, currency)
    if form.validate_on_submit():
        rate = form.demurrage_rate.data
        try:
            schedules.set_charges(
                currency=currency, fee_amount=form.fee_amount.subunits or None,
                fee_interval=form.fee_interval.data, fee_policy=form.fee_policy.data,
                demurrage_rate=None if rate is None else int(rate * 100),
                demurrage_threshold=form.demurrage_threshold.subunits or 0,
                by=current_membership(), today=schedules.group_today(g.group))
        except (ScheduleError, LedgerError) as error:
            field = getattr(form, error.field or "", None) or form.fee_amount
            field.errors = list(field.errors) + [str(error)]
        else:
            flash(_("Membership fee and demurrage saved for %(code)s.", code=currency.code),
                  "success")
            return redirect(url_for("schedules.charges", code=currency.code))
    status = 422 if form.errors else 200
    return render_template("schedules/charges.html", form=form, currency=currency), status

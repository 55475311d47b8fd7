"""Member-facing ledger pages: dashboard, pay, request, a transfer's page and its actions.

Reads are scoped to the current group; writes go through the ledger service. The request's
boundary (:mod:`timebank.boundary`) commits once, retries a transient abort by running the view
again, and rolls back when a refusal is shown (:func:`~timebank.boundary.roll_back_at_end`).
"""

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from timebank.blueprints.forms import select_choices
from timebank.blueprints.ledger import bp
from timebank.blueprints.ledger.forms import (
    DecisionForm,
    EditTransferForm,
    PayForm,
    RateForm,
    RequestForm,
    ReverseForm,
)
from timebank.blueprints.ledger.helpers import (
    active_member,
    counterpart_choices,
    currency_choices,
    field_error,
    find_members,
    money,
    selected_currency,
    transfer_or_404,
)
from timebank.blueprints.navigation import local_path
from timebank.boundary import roll_back_at_end
from timebank.ledger import intergroup, reports
from timebank.ledger import service as ledger
from timebank.ledger.errors import LedgerError
from timebank.ledger.transfers import may_accept, may_change
from timebank.models import Account, Membership, TransferKind, TransferState
from timebank.policy import can, current_membership, require, sees_transfer


@bp.route("/dashboard")
@require("dashboard.view")
def dashboard():
    me = current_membership()
    accounts = ledger.accounts_of(me)
    positions = ledger.positions(accounts)
    account = accounts[0] if accounts else None
    recent = reports.latest_entries(account, limit=5) if account is not None else []
    # The other side of each recent transfer, named in one query (not one per row).
    names = reports.account_names(
        t.payee_account_id if entry.amount < 0 else t.payer_account_id for entry, t, _ in recent)
    pending, pending_not_shown = reports.pending_for(
        accounts, limit=current_app.config["PENDING_ON_DASHBOARD"])
    waiting_for_me = [t for t in pending if may_accept(me, t)]
    waiting_for_others = [t for t in pending if t not in waiting_for_me]
    return render_template(
        "ledger/dashboard.html", account=account, positions=positions, recent=recent,
        names=names,
        waiting_for_me=waiting_for_me, waiting_for_others=waiting_for_others,
        pending_not_shown=pending_not_shown,
        rating=ledger.average_rating(me),
    )


def _prepare(form, currency) -> None:
    form.amount.use_currency(currency)
    # A submitted form may name only the page's currency: LedgerForm.validate_currency
    # refuses any other code instead of paying in the default one.
    form.currency.choices = [SelectChoice(currency.code, currency.name)]
    if request.method == "GET":
        form.fill_key()
        form.currency.data = currency.code
        # "Pay for this" / "Request payment" on an ad link here with the ad's price and title.
        form.amount.data = request.args.get("amount", "")[:40]
        form.description.data = request.args.get("description", "")[:500]


def _submitted_member(field) -> Membership | None:
    """Return the member chosen in ``field`` of a submitted form (an active member of the
    group other than the caller, with their user: one query) and make it the field's only
    choice, so the form's validation refuses anyone else."""
    member = active_member(request.form.get(field.name, type=int),
                           exclude=current_membership())
    field.choices = [SelectChoice(member.id, member.user.name)] if member else []
    return member


def _fill_for_page(form, field, *, account: Account | None, link_argument: str) -> None:
    """Give the form shown on the page its choices: the currencies, and in ``field`` the
    members :func:`counterpart_choices` names (not the whole group:
    ``static/js/member_search.js`` searches the rest as one types; without JavaScript the
    "Find a member" form does). ``link_argument`` names the member preselected by a link."""
    form.currency.choices = select_choices(currency_choices())
    selected = (request.form.get(field.name, type=int) if request.method == "POST"
                else request.args.get(link_argument, type=int))
    if request.method == "GET":
        field.data = selected or 0
    field.choices = [SelectChoice(0, _("Choose a member"))] + select_choices(counterpart_choices(
        me=current_membership(), account_id=account.id if account else None,
        selected=selected, find=request.args.get("find", "")))
    field.render_kw = {"data-search-url": url_for("ledger.find_counterpart"),
                       "data-placeholder": _("Type a name to search"),
                       "data-nothing-found": _("No member found")}


@bp.route("/pay/members")
@require("ledger.pay")
def find_counterpart():
    """JSON for the payee and payer fields: ``{"members": [{"id", "name"}]}``, at most 20
    active members of the group (not the caller) whose name or one of its words starts with
    ``q``, by name."""
    found = find_members(request.args.get("q", ""), exclude=current_membership())
    return jsonify(members=[{"id": member_id, "name": name} for member_id, name in found])


@bp.route("/pay", methods=["GET", "POST"])
@require("ledger.pay")
def pay():
    """The payment form. A submitted payment reads the currency and the payee (one statement
    each) and calls the ledger; the confirmation is made of what they returned."""
    currency = selected_currency()
    form = PayForm()
    _prepare(form, currency)
    payee = _submitted_member(form.payee) if request.method == "POST" else None
    if form.validate_on_submit():
        try:
            transfer = ledger.pay(
                payer=current_membership(), payee=payee, currency=currency,
                amount=form.amount.subunits, description=form.description.data,
                starter=current_membership(), idempotency_key=form.key,
                require_confirmation=g.group.payments_need_confirmation,
            )
        except LedgerError as error:
            roll_back_at_end()
            field_error(form, error)
        else:
            if transfer.state == TransferState.PENDING:
                flash(_("%(name)s is asked to confirm your payment of %(amount)s.",
                        name=payee.user.name, amount=money(transfer.amount, currency)),
                      "info")
            else:
                flash(_("Paid %(amount)s to %(name)s.",
                        amount=money(transfer.amount, currency), name=payee.user.name),
                      "success")
            return redirect(url_for("ledger.transfer", transfer_id=transfer.id))
    account = ledger.account_for(current_membership(), currency)
    _fill_for_page(form, form.payee, account=account, link_argument="to")
    position = ledger.position(account) if account else None
    return render_template("ledger/pay.html", form=form, account=account, position=position,
                           currency=currency,
                           needs_confirmation=g.group.payments_need_confirmation)


@bp.route("/request", methods=["GET", "POST"])
@require("ledger.request")
def request_payment():
    currency = selected_currency()
    form = RequestForm()
    _prepare(form, currency)
    payer = _submitted_member(form.payer) if request.method == "POST" else None
    if form.validate_on_submit():
        try:
            transfer = ledger.request_payment(
                payer=payer, payee=current_membership(), currency=currency,
                amount=form.amount.subunits, description=form.description.data,
                starter=current_membership(), idempotency_key=form.key,
            )
        except LedgerError as error:
            roll_back_at_end()
            field_error(form, error, fallback="payer")
        else:
            flash(_("You asked %(name)s to pay %(amount)s.", name=payer.user.name,
                    amount=money(transfer.amount, currency)), "success")
            return redirect(url_for("ledger.transfer", transfer_id=transfer.id))
    account = (ledger.account_for(current_membership(), currency)
               if request.method == "GET" else None)
    _fill_for_page(form, form.payer, account=account, link_argument="from")
    return render_template("ledger/request.html", form=form, currency=currency)


@bp.route("/transfers/<int:transfer_id>")
@require("transfer.view")
def transfer(transfer_id: int):
    transfer = transfer_or_404(transfer_id)
    me = current_membership()
    if not sees_transfer(me, transfer):
        abort(404)
    rate_form = None
    if (
        transfer.is_completed
        and transfer.rating is None
        and transfer.kind in (TransferKind.PAYMENT, TransferKind.REQUEST, TransferKind.ON_BEHALF)
        and transfer.payer_account.membership_id == me.id
    ):
        rate_form = RateForm()
        rate_form.rating.choices = [SelectChoice(n, str(n))
                                    for n in range(1, g.group.rating_scale + 1)]
        rate_form.fill_key()
    reverse_form = None
    reversal = ledger.reversal_of(transfer)
    if (
        transfer.is_completed
        and transfer.kind not in (TransferKind.REVERSAL, TransferKind.LEVY)
        and reversal is None
        and can(me, "ledger.reverse")
    ):
        reverse_form = ReverseForm()
        reverse_form.fill_key()
    decision_form = DecisionForm()
    decision_form.fill_key()
    remote = intergroup.remote_parties([transfer.id]).get(transfer.id)
    return render_template(
        "ledger/transfer.html", transfer=transfer, reversal=reversal,
        may_accept=may_accept(me, transfer), may_change=may_change(me, transfer),
        decision_form=decision_form, rate_form=rate_form, reverse_form=reverse_form,
        remote=remote,
    )


@bp.route("/transfers/<int:transfer_id>/decision", methods=["POST"])
@require("transfer.view")
def decide(transfer_id: int):
    """Accept, decline or withdraw a pending transfer (the button pressed says which)."""
    transfer = transfer_or_404(transfer_id)
    me = current_membership()
    if not sees_transfer(me, transfer):
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    reason = form.reason.data or ""
    try:
        if form.accept.data:
            result = ledger.accept_transfer(transfer=transfer, by=current_membership())
            if result.state == TransferState.COMPLETED:
                flash(_("Transfer completed."), "success")
            else:
                flash(_("The transfer could not be completed: the limits no longer allow it. "
                        "It has been cancelled and both sides are told."), "warning")
        elif form.decline.data:
            ledger.decline_transfer(
                transfer=transfer, by=current_membership(), reason=reason)
            flash(_("Transfer declined."), "info")
        elif form.withdraw.data:
            ledger.withdraw_transfer(
                transfer=transfer, by=current_membership(), reason=reason)
            flash(_("Transfer withdrawn."), "info")
        else:
            abort(400)
    except LedgerError as error:
        roll_back_at_end()
        flash(str(error), "danger")
    return redirect(local_path(request.form.get("next")) or url_for("ledger.transfer",
                                                                     transfer_id=transfer_id))


@bp.route("/transfers/<int:transfer_id>/edit", methods=["GET", "POST"])
@require("transfer.view")
def edit(transfer_id: int):
    transfer = transfer_or_404(transfer_id)
    me = current_membership()
    if not may_change(me, transfer):
        abort(404 if not sees_transfer(me, transfer) else 403)
    form = EditTransferForm()
    form.amount.subunits_per_unit = transfer.currency.subunits_per_unit
    if request.method == "GET":
        form.fill_key()
        form.amount.data = money(transfer.amount, transfer.currency, with_symbol=False)
        form.description.data = transfer.description
    if form.validate_on_submit():
        try:
            ledger.edit_transfer(
                transfer=transfer, by=current_membership(), amount=form.amount.subunits,
                description=form.description.data)
        except LedgerError as error:
            roll_back_at_end()
            field_error(form, error)
        else:
            flash(_("Transfer changed."), "success")
            return redirect(url_for("ledger.transfer", transfer_id=transfer_id))
    return render_template("ledger/edit.html", form=form, transfer=transfer)


@bp.route("/transfers/<int:transfer_id>/rate", methods=["POST"])
@require("transfer.view")
def rate(transfer_id: int):
    transfer = transfer_or_404(transfer_id)
    me = current_membership()
    if not sees_transfer(me, transfer):
        abort(404)
    form = RateForm()
    form.rating.choices = [SelectChoice(n, str(n)) for n in range(1, g.group.rating_scale + 1)]
    if form.validate_on_submit():
        try:
            ledger.rate_transfer(
                transfer=transfer, by=current_membership(), rating=form.rating.data)
        except LedgerError as error:
            roll_back_at_end()
            flash(str(error), "danger")
        else:
            flash(_("Thank you for your rating."), "success")
    else:
        flash(_("Choose a rating on the group's scale."), "danger")
    return redirect(url_for("ledger.transfer", transfer_id=transfer_id))


@bp.route("/transfers/<int:transfer_id>/reverse", methods=["POST"])
@require("ledger.reverse")
def reverse(transfer_id: int):
    transfer = transfer_or_404(transfer_id)
    form = ReverseForm()
    if not form.validate_on_submit():
        flash(_("Give a reason."), "danger")
        return redirect(url_for("ledger.transfer", transfer_id=transfer_id))
    try:
        reversal = ledger.reverse_transfer(
            transfer=transfer, by=current_membership(), reason=form.reason.data,
            idempotency_key=form.key)
    except LedgerError as error:
        roll_back_at_end()
        flash(str(error), "danger")
        return redirect(url_for("ledger.transfer", transfer_id=transfer_id))
    flash(_("Transfer reversed."), "success")
    return redirect(url_for("ledger.transfer", transfer_id=reversal.id))

"""Treasurer and coordinator pages: on-behalf entries, bulk entries, limits, currencies,
issuance."""

from decimal import Decimal

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from timebank.blueprints.forms import select_choices
from timebank.blueprints.ledger import bp
from timebank.blueprints.ledger.forms import (
    AccountLimitsForm,
    BulkForm,
    CurrencyActionForm,
    CurrencyForm,
    IssueForm,
    LevyForm,
    OnBehalfForm,
)
from timebank.blueprints.ledger.helpers import (
    currency_choices,
    field_error,
    member_choices,
    money,
    selected_currency,
)
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.i18n import current_locale
from timebank.ledger import currencies as currency_service
from timebank.ledger import levies
from timebank.ledger import service as ledger
from timebank.ledger.amounts import AmountError, format_amount, parse_amount
from timebank.ledger.errors import LedgerError
from timebank.models import (
    Account,
    AccountKind,
    Currency,
    CurrencyKind,
    Membership,
    MembershipStatus,
    Transfer,
    TransferKind,
    TransferState,
    User,
)
from timebank.policy import can, current_membership, group_only, require


# --- on-behalf and bulk ---------------------------------------------------------------------
@bp.route("/on-behalf", methods=["GET", "POST"])
@require("ledger.on_behalf")
def on_behalf():
    currency = selected_currency()
    form = OnBehalfForm()
    form.currency.choices = select_choices(currency_choices())
    form.amount.use_currency(currency)
    choose = [SelectChoice(0, _("Choose a member"))]
    # The treasurer pays for themself on the pay page: an on-behalf entry is for others.
    form.payer.choices = choose + select_choices(member_choices(exclude=current_membership()))
    form.payee.choices = choose + select_choices(member_choices())
    if request.method == "GET":
        form.fill_key()
        form.currency.data = currency.code
    if form.validate_on_submit():
        payer = db.session.get(Membership, form.payer.data)
        payee = db.session.get(Membership, form.payee.data)
        if payer is None or payee is None:
            (form.payer if payer is None else form.payee).errors.append(
                _("Choose a member of this group."))
        else:
            try:
                transfer = ledger.record_on_behalf(
                    payer=payer, payee=payee, currency=currency, amount=form.amount.subunits,
                    description=form.description.data, starter=current_membership(),
                    idempotency_key=form.key)
            except LedgerError as error:
                roll_back_at_end()
                field_error(form, error)
            else:
                flash(_("Recorded %(amount)s from %(payer)s to %(payee)s.",
                        amount=money(transfer.amount, currency), payer=payer.user.name,
                        payee=payee.user.name), "success")
                return redirect(url_for("ledger.transfer", transfer_id=transfer.id))
    return render_template("ledger/on_behalf.html", form=form, currency=currency)


def _account_choices(currency: Currency) -> list[tuple[int, str]]:
    """Member and group accounts (not the issuer) in ``currency`` as (account id, name)."""
    rows = db.session.execute(
        sa.select(Account.id, User.name, Account.name)
        .outerjoin(Membership, Membership.id == Account.membership_id)
        .outerjoin(User, User.id == Membership.user_id)
        .where(
            Account.currency_id == currency.id,
            Account.is_issuer.is_(False),
            sa.or_(Account.kind == AccountKind.GROUP,
                   Membership.status == MembershipStatus.ACTIVE),
        )
    ).all()
    choices = sorted(((row[0], row[1] or row[2]) for row in rows), key=lambda c: c[1].lower())
    has_pot = db.session.scalar(sa.select(sa.exists().where(
        Account.currency_id == currency.id, Account.kind == AccountKind.GROUP,
        Account.is_issuer.is_(False))))
    if not has_pot:
        choices.append((NEW_POT, _("Community pot")))  # opened when first used
    return choices


NEW_POT = -1


def _account_or_pot(account_id: int, currency: Currency) -> Account | None:
    """The chosen account, opening the community pot if that is what was chosen."""
    if account_id == NEW_POT:
        return ledger.group_account(currency=currency, locale=g.group.default_locale)
    account = db.session.get(Account, account_id)
    return account if account is not None and account.currency_id == currency.id else None


def _parse_legs(text: str, choices: list[tuple[int, str]], currency: Currency):
    """Parse ``Name, amount`` lines into [(account id, subunits)]; return (legs, errors)."""
    by_name: dict[str, list[int]] = {}
    for account_id, name in choices:
        by_name.setdefault(name.strip().lower(), []).append(account_id)
    legs, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, _sep, amount_text = line.rpartition(",")
        ids = by_name.get(name.strip().lower(), [])
        if not _sep or len(ids) != 1:
            errors.append(_("Line %(number)s: write a member's full name, a comma and an "
                            "amount.", number=number))
            continue
        try:
            amount = parse_amount(amount_text, subunits_per_unit=currency.subunits_per_unit,
                                  locale=current_locale())
        except AmountError:
            errors.append(_("Line %(number)s: the amount is not valid.", number=number))
            continue
        legs.append((ids[0], amount))
    return legs, errors


@bp.route("/bulk", methods=["GET", "POST"])
@require("ledger.bulk")
def bulk():
    currency = selected_currency()
    form = BulkForm()
    form.currency.choices = select_choices(currency_choices())
    choices = _account_choices(currency)
    form.counterpart.choices = [SelectChoice(0, _("Choose an account"))] + select_choices(choices)
    if request.method == "GET":
        form.fill_key()
        form.currency.data = currency.code
    if form.validate_on_submit():
        legs, errors = _parse_legs(form.legs.data, choices, currency)
        chosen = form.counterpart.data
        if chosen != NEW_POT and _account_or_pot(chosen, currency) is None:
            form.counterpart.errors.append(_("Choose an account."))
        elif errors or not legs:
            form.legs.errors = list(form.legs.errors) + (
                errors or [_("List at least one member.")])
        else:
            try:
                written = ledger.bulk_transfer(
                    counterpart=_account_or_pot(chosen, currency),
                    legs=[(db.session.get(Account, account_id), amount)
                          for account_id, amount in legs],
                    collect=form.direction.data == "collect",
                    description=form.description.data, starter=current_membership(),
                    idempotency_key=form.key)
            except LedgerError as error:
                roll_back_at_end()
                field_error(form, error, fallback="legs")
            else:
                flash(_("Recorded %(count)s transfers.", count=len(written)), "success")
                return redirect(url_for("ledger.group_ledger", currency=currency.code))
    return render_template("ledger/bulk.html", form=form, currency=currency)


# --- limits ---------------------------------------------------------------------------------
def _limit_text(subunits: int | None, currency: Currency) -> str:
    if subunits is None:
        return ""
    return format_amount(subunits, subunits_per_unit=currency.subunits_per_unit,
                         locale=current_locale())


@bp.route("/accounts/<int:account_id>/limits", methods=["GET", "POST"])
@require("ledger.set_limits")
def account_limits(account_id: int):
    account = db.session.get(Account, account_id)
    if account is None or account.is_issuer:
        abort(404)
    currency = account.currency
    form = AccountLimitsForm()
    form.min_balance.subunits_per_unit = currency.subunits_per_unit
    form.max_balance.subunits_per_unit = currency.subunits_per_unit
    if request.method == "GET":
        form.fill_key()
        floor = None if account.min_balance is None else -account.min_balance
        form.min_balance.data = _limit_text(floor, currency)
        form.max_balance.data = _limit_text(account.max_balance, currency)
    if form.validate_on_submit():
        minimum = None if form.min_balance.subunits is None else -form.min_balance.subunits
        try:
            ledger.set_limits(
                account=db.session.get(Account, account_id), min_balance=minimum,
                max_balance=form.max_balance.subunits, changed_by=current_membership(),
                reason=form.reason.data or "")
        except LedgerError as error:
            roll_back_at_end()
            field_error(form, error, fallback="min_balance")
        else:
            flash(_("Limits saved for %(name)s.", name=account.display_name), "success")
            return redirect(url_for("ledger.account_limits", account_id=account_id))
    return render_template(
        "ledger/limits.html", form=form, account=account, position=ledger.position(account),
        history=ledger.limit_history(account),
    )


@bp.route("/accounts")
@require("members.view_balances")
def accounts():
    """Every account in a currency with its position: the treasurer's overview."""
    currency = selected_currency()
    rows = db.session.scalars(
        sa.select(Account).where(Account.currency_id == currency.id).order_by(Account.id)
    ).all()
    return render_template("ledger/accounts.html", currency=currency,
                           positions=ledger.positions(list(rows)),
                           currency_choices=currency_choices())


# --- currencies -----------------------------------------------------------------------------
def _currency_or_404(code: str) -> Currency:
    currency = ledger.currency_by_code(code)
    if currency is None:
        abort(404)
    return currency


@bp.route("/currencies/")
@require("currencies.view")
def currencies():
    rows = db.session.scalars(
        sa.select(Currency).order_by(Currency.is_active.desc(), Currency.id)).all()
    return render_template("ledger/currencies.html", currencies=rows,
                           action_form=CurrencyActionForm())


def _currency_fields(form: CurrencyForm) -> dict:
    units = form.subunits_per_unit.data
    low = form.default_min_balance
    low.subunits_per_unit = form.default_max_balance.subunits_per_unit = units
    return {
        "name": form.name.data,
        "symbol": form.symbol.data,
        "purpose": form.purpose.data or "",
        "display_format": form.display_format.data,
        "hour_value": Decimal(form.hour_value.data),
    }


def _limits_from(form: CurrencyForm) -> tuple[int | None, int | None]:
    low = form.default_min_balance.subunits
    return (None if low is None else -low), form.default_max_balance.subunits


@bp.route("/currencies/new", methods=["GET", "POST"])
@require("currencies.manage")
def new_currency():
    form = CurrencyForm()
    _bind_units(form)
    if request.method == "GET":
        form.fill_key()
        form.subunits_per_unit.data = 60
    if form.validate_on_submit():
        minimum, maximum = _limits_from(form)
        kind = CurrencyKind(form.kind.data)
        if kind == CurrencyKind.ISSUED and minimum is not None and minimum < 0:
            minimum = -minimum  # a floor for holders of an issued currency is never negative
        try:
            currency = currency_service.create_currency(
                code=form.code.data, kind=kind, subunits_per_unit=form.subunits_per_unit.data,
                default_min_balance=minimum, default_max_balance=maximum,
                created_by=current_membership(), locale=g.group.default_locale,
                **_currency_fields(form))
        except LedgerError as error:
            roll_back_at_end()
            field_error(form, error, fallback="code")
        else:
            flash(_("Currency %(code)s created.", code=currency.code), "success")
            return redirect(url_for("ledger.currencies"))
    return render_template("ledger/currency_form.html", form=form, currency=None)


def _bind_units(form: CurrencyForm) -> None:
    """Parse the limit fields in the units the form names (posted value, else 60)."""
    units = request.form.get("subunits_per_unit", type=int) or 60
    form.default_min_balance.subunits_per_unit = units
    form.default_max_balance.subunits_per_unit = units


@bp.route("/currencies/<code>/edit", methods=["GET", "POST"])
@require("currencies.manage")
def edit_currency(code: str):
    currency = _currency_or_404(code)
    form = CurrencyForm(obj=currency if request.method == "GET" else None)
    _bind_units(form)
    if request.method == "GET":
        form.fill_key()
        form.kind.data = currency.kind.value
        low = currency.default_min_balance
        form.default_min_balance.data = _limit_text(None if low is None else -low, currency)
        form.default_max_balance.data = _limit_text(currency.default_max_balance, currency)
    form.code.data = currency.code
    if form.validate_on_submit():
        minimum, maximum = _limits_from(form)
        try:
            currency_service.update_currency(
                currency=_currency_or_404(code), kind=CurrencyKind(form.kind.data),
                subunits_per_unit=form.subunits_per_unit.data, default_min_balance=minimum,
                default_max_balance=maximum, changed_by=current_membership(),
                **_currency_fields(form))
        except LedgerError as error:
            roll_back_at_end()
            field_error(form, error, fallback="kind")
        else:
            flash(_("Currency %(code)s saved.", code=currency.code), "success")
            return redirect(url_for("ledger.currencies"))
    return render_template("ledger/currency_form.html", form=form, currency=currency,
                           used=currency_service.is_used(currency))


@bp.route("/currencies/<code>/levy", methods=["GET", "POST"])
@require("ledger.set_levy")
def currency_levy(code: str):
    """A treasurer sets the currency's levy on transfers (timebank/ledger/levies.py)."""
    currency = _currency_or_404(code)
    form = LevyForm()
    for field in (form.fixed, form.minimum, form.maximum):
        field.subunits_per_unit = currency.subunits_per_unit
    if request.method == "GET":
        form.fill_key()
        form.percentage.data = f"{currency.levy_basis_points / 100:g}"
        form.fixed.data = _limit_text(currency.levy_fixed or None, currency)
        form.minimum.data = _limit_text(currency.levy_minimum, currency)
        form.maximum.data = _limit_text(currency.levy_maximum, currency)
        form.charged_to.data = currency.levy_charged_to
    if form.validate_on_submit():
        try:
            levies.set_levy(
                currency=_currency_or_404(code), basis_points=form.percentage.basis_points,
                fixed=form.fixed.subunits or 0, minimum=form.minimum.subunits,
                maximum=form.maximum.subunits, charged_to=form.charged_to.data,
                changed_by=current_membership(), locale=g.group.default_locale)
        except LedgerError as error:
            roll_back_at_end()
            field_error(form, error, fallback="percentage")
        else:
            flash(_("Levy saved for %(code)s.", code=currency.code), "success")
            return redirect(url_for("ledger.currencies"))
    example = currency.subunits_per_unit
    return render_template("ledger/levy.html", form=form, currency=currency, example=example,
                           example_levy=levies.levy_on(currency, example))


@bp.route("/currencies/<code>/action", methods=["POST"])
@require("currencies.manage")
def currency_action(code: str):
    currency = _currency_or_404(code)
    form = CurrencyActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.retire.data:
            currency_service.retire_currency(currency=currency)
            flash(_("Currency %(code)s retired.", code=code), "info")
        elif form.reactivate.data:
            currency_service.reactivate_currency(currency=currency)
            flash(_("Currency %(code)s is active again.", code=code), "success")
        elif form.delete.data:
            currency_service.delete_currency(currency=currency)
            flash(_("Currency %(code)s deleted.", code=code), "info")
    except LedgerError as error:
        roll_back_at_end()
        flash(str(error), "danger")
    return redirect(url_for("ledger.currencies"))


# --- issuance -------------------------------------------------------------------------------
@bp.route("/currencies/<code>/issuance")
@group_only
def issuance(code: str):
    """Public: what an issued currency's issuer has issued, and what is in circulation."""
    currency = ledger.currency_by_code(code)
    if currency is None or currency.kind != CurrencyKind.ISSUED:
        abort(404)
    summary = currency_service.issuance_summary(currency)
    records = db.session.scalars(
        sa.select(Transfer)
        .where(Transfer.currency_id == currency.id, Transfer.kind == TransferKind.ISSUANCE,
               Transfer.state == TransferState.COMPLETED)
        .order_by(Transfer.completed_at.desc())
        .limit(200)
    ).all()
    reversed_ids = set(db.session.scalars(
        sa.select(Transfer.reverses_id).where(
            Transfer.reverses_id.in_([t.id for t in records]))).all()) if records else set()
    form = None
    membership = current_membership()
    if membership is not None and can(membership, "ledger.issue") and currency.is_active:
        form = IssueForm()
        form.payee.choices = [SelectChoice(0, _("Choose an account"))] + select_choices(
            _account_choices(currency))
        form.fill_key()
    return render_template("ledger/issuance.html", currency=currency, summary=summary,
                           records=records, reversed_ids=reversed_ids, form=form)


@bp.route("/currencies/<code>/issue", methods=["POST"])
@require("ledger.issue")
def issue(code: str):
    currency = _currency_or_404(code)
    form = IssueForm()
    form.payee.choices = [SelectChoice(0, _("Choose an account"))] + select_choices(
        _account_choices(currency))
    form.amount.use_currency(currency)
    if form.validate_on_submit():
        if form.payee.data != NEW_POT and _account_or_pot(form.payee.data, currency) is None:
            flash(_("Choose an account."), "danger")
            return redirect(url_for("ledger.issuance", code=code))
        try:
            transfer = ledger.issue(
                currency=_currency_or_404(code),
                payee_account=_account_or_pot(form.payee.data, _currency_or_404(code)),
                amount=form.amount.subunits, description=form.description.data,
                starter=current_membership(), idempotency_key=form.key,
                locale=g.group.default_locale)
        except LedgerError as error:
            roll_back_at_end()
            flash(str(error), "danger")
        else:
            flash(_("Issued %(amount)s.", amount=money(transfer.amount, currency)), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return redirect(url_for("ledger.issuance", code=code))

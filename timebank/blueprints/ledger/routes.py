"""Ledger pages. Reads are scoped to the current group; writes go through ledger.service."""

import uuid

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from timebank.blueprints.ledger import bp
from timebank.blueprints.ledger.forms import PayForm
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.errors import LedgerError
from timebank.models import Account, Entry, Membership, MembershipStatus, Transfer, User
from timebank.policy import can, current_membership, require


def _my_account() -> Account | None:
    currency = ledger.default_currency()
    return ledger.account_for(current_membership(), currency) if currency else None


@bp.route("/dashboard")
@require("dashboard.view")
def dashboard():
    account = _my_account()
    recent = _entries_page(account, page=1, per_page=5)[0] if account else []
    return render_template("ledger/dashboard.html", account=account, recent=recent)


def _payee_choices() -> list[tuple[int, str]]:
    me = current_membership()
    rows = db.session.execute(
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE, Membership.id != me.id)
        .order_by(User.name)
    ).all()
    return [(row.id, row.name) for row in rows]


@bp.route("/pay", methods=["GET", "POST"])
@require("ledger.pay")
def pay():
    currency = ledger.default_currency()
    if currency is None:
        abort(404)
    form = PayForm()
    form.payee.choices = [(0, _("Choose a member"))] + _payee_choices()
    form.amount.subunits_per_unit = currency.subunits_per_unit
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        form.payee.data = request.args.get("to", type=int) or 0
    if form.validate_on_submit():
        payee = db.session.get(Membership, form.payee.data)
        if payee is None:
            form.payee.errors.append(_("Choose a member of this group."))
        else:
            try:
                transfer = ledger.pay(
                    payer=current_membership(),
                    payee=payee,
                    currency=currency,
                    amount=form.amount.subunits,
                    description=form.description.data,
                    starter=current_membership(),
                    idempotency_key=form.idempotency_key.data or None,
                )
            except LedgerError as error:
                db.session.rollback()
                getattr(form, error.field or "amount").errors.append(str(error))
            else:
                flash(_("Paid %(amount)s to %(name)s.",
                        amount=_money(transfer.amount, currency), name=payee.user.name),
                      "success")
                return redirect(url_for("ledger.transfer", transfer_id=transfer.id))
    account = ledger.account_for(current_membership(), currency)
    return render_template("ledger/pay.html", form=form, account=account, currency=currency)


def _money(amount, currency):
    from timebank.i18n import format_money

    return format_money(amount, currency)


def _entries_page(account: Account, *, page: int, per_page: int):
    """Return (rows, total) of ``account``'s entries, newest first, each with its running
    balance after the entry (a window function, so one query per page)."""
    # SUM over bigint is numeric in PostgreSQL; cast back so amounts stay integers.
    running = sa.cast(sa.func.sum(Entry.amount).over(order_by=Entry.id), sa.BigInteger)
    running = running.label("running_balance")
    inner = (
        sa.select(Entry.id.label("entry_id"), Entry.amount, running)
        .where(Entry.account_id == account.id)
        .subquery()
    )
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(Entry).where(Entry.account_id == account.id)
    )
    rows = db.session.execute(
        sa.select(Entry, Transfer, inner.c.running_balance)
        .join(inner, inner.c.entry_id == Entry.id)
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .order_by(Entry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total


def _counterparties(rows, account) -> dict[int, str]:
    """Map account id -> display name for the other side of each row (one query)."""
    ids = {t.payee_account_id if t.payer_account_id == account.id else t.payer_account_id
           for _, t, _ in rows}
    if not ids:
        return {}
    result = db.session.execute(
        sa.select(Account.id, User.name, Account.name)
        .outerjoin(Membership, Membership.id == Account.membership_id)
        .outerjoin(User, User.id == Membership.user_id)
        .where(Account.id.in_(ids))
    ).all()
    return {row[0]: row[1] or row[2] for row in result}


@bp.route("/statement")
@require("ledger.view_own")
def statement():
    account = _my_account()
    if account is None:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int))
    per_page = current_app.config["TRANSFERS_PER_PAGE"]
    rows, total = _entries_page(account, page=page, per_page=per_page)
    pages = max(1, -(-total // per_page))
    return render_template(
        "ledger/statement.html",
        account=account,
        rows=rows,
        names=_counterparties(rows, account),
        page=page,
        pages=pages,
    )


@bp.route("/transfers/<int:transfer_id>")
@require("transfer.view")
def transfer(transfer_id: int):
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        abort(404)
    me = current_membership()
    mine = {a.id for a in db.session.scalars(
        sa.select(Account).where(Account.membership_id == me.id))}
    involved = transfer.payer_account_id in mine or transfer.payee_account_id in mine
    if not involved and not can(me, "ledger.view_all"):
        abort(404)
    return render_template("ledger/transfer.html", transfer=transfer)

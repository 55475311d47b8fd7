"""Statements: a member's, with filters, CSV, monthly totals and a balance-history chart; and
the whole group's ledger for treasurers."""

import sqlalchemy as sa
from flask import Response, abort, current_app, g, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from timebank.blueprints.ledger import bp
from timebank.blueprints.ledger.forms import StatementFilterForm
from timebank.blueprints.ledger.helpers import currency_choices, selected_currency
from timebank.extensions import db
from timebank.ledger import reports
from timebank.ledger import service as ledger
from timebank.models import Account, Transfer, TransferKind
from timebank.policy import current_membership, require

KIND_LABELS = {
    "payment": _l("payment"), "request": _l("request"), "on_behalf": _l("on-behalf entry"),
    "bulk": _l("bulk entry"), "reversal": _l("reversal"), "issuance": _l("issuance"),
}


def _filters(form: StatementFilterForm) -> reports.StatementFilter:
    form.validate()  # collects date errors for display; bad dates are simply ignored
    state = form.state.data if form.state.data in reports.STATES else "completed"
    return reports.StatementFilter(
        start=form.start.data if not form.start.errors else None,
        end=form.end.data if not form.end.errors else None,
        counterparty_id=form.counterparty.data or None,
        state=state,
        kind=form.kind.data if form.kind.data in {k.value for k in TransferKind} else None,
    )


def _statement_context():
    currency = selected_currency()
    account = ledger.account_for(current_membership(), currency)
    if account is None:
        abort(404)
    form = StatementFilterForm(request.args)
    form.currency.choices = currency_choices()
    form.currency.data = currency.code
    form.counterparty.choices = [(0, _("Anyone"))] + reports.counterparty_choices(account)
    return currency, account, form, _filters(form)


@bp.route("/statement")
@require("ledger.view_own")
def statement():
    currency, account, form, flt = _statement_context()
    page = max(1, request.args.get("page", 1, type=int))
    per_page = current_app.config["TRANSFERS_PER_PAGE"]
    rows, total = reports.statement_rows(account, flt, timezone=g.group.timezone,
                                         limit=per_page, offset=(page - 1) * per_page)
    names = reports.account_names(
        {t.payee_account_id if t.payer_account_id == account.id else t.payer_account_id
         for _, t, _ in rows}
    )
    query = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "ledger/statement.html",
        account=account, currency=currency, rows=rows, names=names, form=form, filters=flt,
        page=page, pages=max(1, -(-total // per_page)), query=query,
        position=ledger.position(account),
        monthly=[dict(row, label=format_date(row["month"], "MMMM y"))
                 for row in reports.monthly_totals(account, timezone=g.group.timezone)],
        history=reports.balance_history(account, timezone=g.group.timezone),
        reversals=reports.reversal_ids(t.id for _, t, _ in rows),
    )


@bp.route("/statement.csv")
@require("ledger.view_own")
def statement_csv():
    currency, account, form, flt = _statement_context()
    rows, _total = reports.statement_rows(account, flt, timezone=g.group.timezone)
    names = reports.account_names(
        {t.payee_account_id if t.payer_account_id == account.id else t.payer_account_id
         for _, t, _ in rows}
    )
    units = currency.subunits_per_unit

    def lines():
        for entry, transfer, running in rows:
            other = (transfer.payee_account_id if transfer.payer_account_id == account.id
                     else transfer.payer_account_id)
            signed = entry.amount if entry is not None else (
                -transfer.amount if transfer.payer_account_id == account.id else transfer.amount
            )
            when = entry.created_at if entry is not None else transfer.created_at
            yield [
                when.isoformat(), transfer.id, transfer.state.value, transfer.kind.value,
                names.get(other, ""), transfer.description,
                reports.plain_amount(signed, units), signed,
                "" if running is None else reports.plain_amount(running, units),
            ]

    header = ["date", "transfer", "state", "kind", "with", "description",
              f"amount_{currency.code.lower()}", "amount_subunits", "balance"]
    filename = f"statement-{g.group.slug}-{currency.code.lower()}.csv"
    return Response(
        reports.to_csv(header, lines()), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _group_ledger_context():
    currency = selected_currency()
    form = StatementFilterForm(request.args)
    form.currency.choices = currency_choices()
    form.currency.data = currency.code
    form.state.choices = [("all", _("any state"))] + list(form.state.choices)
    if not request.args.get("state"):
        form.state.data = "all"
    form.kind.choices = [("", _("any kind"))] + [(kind, str(label))
                                                  for kind, label in KIND_LABELS.items()]
    accounts = db.session.scalars(
        sa.select(Account.id).where(Account.currency_id == currency.id)
    ).all()
    names = reports.account_names(accounts)
    form.counterparty.choices = [(0, _("Any account"))] + sorted(
        names.items(), key=lambda item: item[1].lower())
    flt = _filters(form)
    if form.state.data == "all":
        flt.state = "all"
    return currency, form, flt, names


@bp.route("/ledger")
@require("transfers.view_all")
def group_ledger():
    currency, form, flt, names = _group_ledger_context()
    page = max(1, request.args.get("page", 1, type=int))
    per_page = current_app.config["TRANSFERS_PER_PAGE"]
    transfers, total = reports.group_ledger(flt, timezone=g.group.timezone,
                                            currency_id=currency.id, limit=per_page,
                                            offset=(page - 1) * per_page)
    query = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "ledger/group_ledger.html", currency=currency, form=form, transfers=transfers,
        names=names, page=page, pages=max(1, -(-total // per_page)), query=query,
        total=total, reversals=reports.reversal_ids(t.id for t in transfers),
    )


@bp.route("/ledger.csv")
@require("transfers.view_all")
def group_ledger_csv():
    currency, form, flt, names = _group_ledger_context()
    transfers, _total = reports.group_ledger(flt, timezone=g.group.timezone,
                                             currency_id=currency.id)
    units = currency.subunits_per_unit

    def lines():
        for transfer in transfers:
            yield _ledger_line(transfer, names, units)

    header = ["created", "completed", "transfer", "state", "kind", "payer", "payee",
              "description", f"amount_{currency.code.lower()}", "amount_subunits", "starter",
              "completer", "reverses"]
    filename = f"ledger-{g.group.slug}-{currency.code.lower()}.csv"
    return Response(
        reports.to_csv(header, lines()), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _ledger_line(transfer: Transfer, names: dict, units: int) -> list:
    return [
        transfer.created_at.isoformat(),
        transfer.completed_at.isoformat() if transfer.completed_at else "",
        transfer.id, transfer.state.value, transfer.kind.value,
        names.get(transfer.payer_account_id, ""), names.get(transfer.payee_account_id, ""),
        transfer.description, reports.plain_amount(transfer.amount, units), transfer.amount,
        transfer.starter.user.name if transfer.starter else "",
        transfer.completer.user.name if transfer.completer else "",
        transfer.reverses_id or "",
    ]

"""Statements: a member's, with filters, CSV, monthly totals and a balance-history chart; and
the whole group's ledger for treasurers."""

import sqlalchemy as sa
from flask import Response, abort, current_app, g, jsonify, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from timebank.blueprints.forms import select_choices
from timebank.blueprints.ledger import bp
from timebank.blueprints.ledger.forms import StatementFilterForm
from timebank.blueprints.ledger.helpers import currency_choices, selected_currency
from timebank.blueprints.navigation import page_keys
from timebank.extensions import db
from timebank.ledger import intergroup, reports
from timebank.ledger import service as ledger
from timebank.models import Account, Transfer, TransferKind
from timebank.policy import current_membership, require
from timebank.tenants import current_group_id, group_context

KIND_LABELS = {
    "payment": _l("payment"), "request": _l("request"), "on_behalf": _l("on-behalf entry"),
    "bulk": _l("bulk entry"), "reversal": _l("reversal"), "issuance": _l("issuance"),
    "standing_order": _l("standing order"), "fee": _l("membership fee"),
    "demurrage": _l("demurrage"),
    "levy": _l("levy"),
}


def _filters(form: StatementFilterForm) -> reports.StatementFilter:
    form.validate()  # date errors are shown next to their fields; those dates are ignored
    state = form.state.data if form.state.data in reports.STATES else "completed"
    return reports.StatementFilter(
        start=form.start.data if not form.start.errors else None,
        end=form.end.data if not form.end.errors else None,
        counterparty_id=form.counterparty.data or None,
        state=state,
        kind=form.kind.data if form.kind.data in {k.value for k in TransferKind} else None,
    )


def _statement_context(*, for_page: bool = True):
    """The currency, the account, the filter form and its filters. The form's choices are
    read only ``for_page``: a CSV needs the filters, not the currencies nor the names of the
    recent counterparts (``reports.counterparty_choices``: one statement; the "with" field
    searches the others by name as one types, :func:`find_statement_counterparty`)."""
    currency = selected_currency()
    account = ledger.account_for(current_membership(), currency)
    if account is None:
        abort(404)
    form = StatementFilterForm(request.args)
    form.currency.data = currency.code
    if for_page:
        form.currency.choices = select_choices(currency_choices())
        form.counterparty.choices = [SelectChoice(0, _("Anyone"))] + select_choices(
            reports.counterparty_choices(
                account, selected=request.args.get("counterparty", type=int),
                find=request.args.get("find", "")))
        form.counterparty.render_kw = {
            "data-search-url": url_for("ledger.find_statement_counterparty",
                                       currency=currency.code),
            "data-placeholder": _("Type a name to search"),
            "data-nothing-found": _("No member found")}
    return currency, account, form, _filters(form)


def _query_without_keys() -> dict:
    return {k: v for k, v in request.args.items() if k not in ("before", "after", "page")}


def _streamed_csv(header: list[str], chunks, filename: str) -> Response:
    """Stream a CSV download chunk by chunk (constant memory, first byte at once).

    ``chunks()`` yields lists of CSV rows. It runs after the view has returned and its
    transaction ended, so in an app context (and session) of its own with the group restored;
    it only reads, and must take ids and plain values from the view, not its ORM objects."""
    app = current_app._get_current_object()
    group_id = current_group_id()

    def body():
        yield reports.to_csv(header, [])
        with app.app_context(), group_context(group_id):
            for lines in chunks():
                yield reports.to_csv(None, lines)

    return Response(
        body(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/statement")
@require("ledger.view_own")
def statement():
    currency, account, form, flt = _statement_context()
    page = reports.statement_rows(
        account, flt, timezone=g.group.timezone, limit=current_app.config["TRANSFERS_PER_PAGE"],
        **page_keys())
    rows = page.rows
    names = reports.account_names(
        {t.payee_account_id if t.payer_account_id == account.id else t.payer_account_id
         for _, t, _ in rows}
    )
    monthly = reports.monthly_totals(account, timezone=g.group.timezone)
    return render_template(
        "ledger/statement.html",
        account=account, currency=currency, rows=rows, rows_page=page, names=names, form=form,
        filters=flt, query=_query_without_keys(),
        position=ledger.position(account),
        monthly=[dict(row, label=format_date(row["month"], "MMMM y")) for row in monthly],
        history=reports.balance_history(account, timezone=g.group.timezone),
        reversals=reports.reversal_ids(t.id for _, t, _ in rows),
        remote=intergroup.remote_parties(t.id for _, t, _ in rows),
    )


@bp.route("/statement/accounts")
@require("ledger.view_own")
def find_statement_counterparty():
    """JSON for the statement's "with" field: ``{"members": [{"id", "name"}]}``, at most 20
    accounts of the chosen currency (``?currency=``) whose holder's name or one of its words
    starts with ``q``, by name; ``id`` is the account's id, the filter's value."""
    currency = selected_currency()
    account = ledger.account_for(current_membership(), currency)
    if account is None:
        abort(404)
    found = reports.find_counterparties(account, request.args.get("q", ""))
    return jsonify(members=[{"id": account_id, "name": name} for account_id, name in found])


@bp.route("/statement.csv")
@require("ledger.view_own")
def statement_csv():
    currency, account, form, flt = _statement_context(for_page=False)
    units = currency.subunits_per_unit
    timezone = g.group.timezone
    account_id = account.id

    def chunks():
        account = db.session.get(Account, account_id)
        for rows in reports.statement_chunks(account, flt, timezone=timezone):
            names = reports.account_names(
                {t.payee_account_id if t.payer_account_id == account.id else t.payer_account_id
                 for _, t, _ in rows}
            )
            remote = intergroup.remote_parties(t.id for _, t, _ in rows)
            yield [_statement_line(account, entry, transfer, running, names, units, remote)
                   for entry, transfer, running in rows]

    header = ["date", "transfer", "state", "kind", "with", "description",
              f"amount_{currency.code.lower()}", "amount_subunits", "balance", "levy_on"]
    return _streamed_csv(header, chunks,
                         f"statement-{g.group.slug}-{currency.code.lower()}.csv")


def _statement_line(account, entry, transfer, running, names: dict, units: int,
                    remote: dict) -> list:
    other = (transfer.payee_account_id if transfer.payer_account_id == account.id
             else transfer.payer_account_id)
    signed = entry.amount if entry is not None else (
        -transfer.amount if transfer.payer_account_id == account.id else transfer.amount
    )
    when = entry.created_at if entry is not None else transfer.created_at
    return [
        when.isoformat(), transfer.id, transfer.state.value, transfer.kind.value,
        remote.get(transfer.id) or names.get(other, ""), transfer.description,
        reports.plain_amount(signed, units), signed,
        "" if running is None else reports.plain_amount(running, units),
        transfer.levied_on_id or "",
    ]


def _group_ledger_context():
    currency = selected_currency()
    form = StatementFilterForm(request.args)
    form.currency.choices = select_choices(currency_choices())
    form.currency.data = currency.code
    form.state.choices = [SelectChoice("all", _("any state"))] + list(form.state.choices)
    if not request.args.get("state"):
        form.state.data = "all"
    form.kind.choices = [SelectChoice("", _("any kind"))] + [
        SelectChoice(kind, str(label)) for kind, label in KIND_LABELS.items()]
    accounts = db.session.scalars(
        sa.select(Account.id).where(Account.currency_id == currency.id)
    ).all()
    names = reports.account_names(accounts)
    form.counterparty.choices = [SelectChoice(0, _("Any account"))] + select_choices(sorted(
        names.items(), key=lambda item: item[1].lower()))
    flt = _filters(form)
    if form.state.data == "all":
        flt.state = "all"
    return currency, form, flt, names


@bp.route("/ledger")
@require("transfers.view_all")
def group_ledger():
    currency, form, flt, names = _group_ledger_context()
    page = reports.group_ledger(flt, timezone=g.group.timezone, currency_id=currency.id,
                                limit=current_app.config["TRANSFERS_PER_PAGE"], **page_keys())
    transfers = page.rows
    return render_template(
        "ledger/group_ledger.html", currency=currency, form=form, transfers=transfers,
        transfers_page=page, names=names, query=_query_without_keys(),
        reversals=reports.reversal_ids(t.id for t in transfers),
        remote=intergroup.remote_parties(t.id for t in transfers),
    )


@bp.route("/ledger.csv")
@require("transfers.view_all")
def group_ledger_csv():
    currency, form, flt, names = _group_ledger_context()
    units, timezone, currency_id = currency.subunits_per_unit, g.group.timezone, currency.id

    def chunks():
        for transfers in reports.group_ledger_chunks(flt, timezone=timezone,
                                                     currency_id=currency_id):
            yield [_ledger_line(transfer, names, units) for transfer in transfers]

    header = ["created", "completed", "transfer", "state", "kind", "payer", "payee",
              "description", f"amount_{currency.code.lower()}", "amount_subunits", "starter",
              "completer", "reverses", "levy_on"]
    return _streamed_csv(header, chunks, f"ledger-{g.group.slug}-{currency.code.lower()}.csv")


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
        transfer.levied_on_id or "",
    ]

"""Reading the ledger: statements with running balances, filters, monthly totals, balance
history, pending items, the group's ledger, CSV.

Reads only, scoped to the current group by the tenant hook. Amounts are integers in subunits;
dates a person types are days in the group's time zone.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from timebank.extensions import db
from timebank.models import (
    Account,
    AccountMonth,
    Currency,
    Entry,
    Membership,
    Transfer,
    TransferKind,
    TransferState,
    User,
)
from timebank.paging import Page, keyset_chunks, keyset_objects, keyset_page

STATES = ("completed", "pending", "cancelled")
# Load both sides (and who started and completed) of a list of transfers in a few queries.
_PARTIES = (
    selectinload(Transfer.payer_account).selectinload(Account.membership),
    selectinload(Transfer.payee_account).selectinload(Account.membership),
    selectinload(Transfer.starter),
    selectinload(Transfer.completer),
    selectinload(Transfer.currency),
)


@dataclass
class StatementFilter:
    """What a statement or ledger shows: days (inclusive, group time zone), the other side's
    account, a state, a kind (group ledger)."""

    start: date | None = None
    end: date | None = None
    counterparty_id: int | None = None  # an account id
    state: str = "completed"
    kind: str | None = None

    def bounds(self, timezone: str) -> tuple[datetime | None, datetime | None]:
        """Return the UTC instants [from, to) the days cover in ``timezone``."""
        zone = ZoneInfo(timezone or "UTC")
        lower = datetime.combine(self.start, time.min, zone) if self.start else None
        upper = (
            datetime.combine(self.end + timedelta(days=1), time.min, zone) if self.end else None
        )
        return lower, upper


def _stamp(state: str):
    return Transfer.completed_at if state == "completed" else (
        Transfer.cancelled_at if state == "cancelled" else Transfer.created_at
    )


# A statement's rows for completed transfers: (entry, transfer, balance after it).
_COMPLETED_ROWS = (sa.select(Entry, Transfer, Entry.balance_after)
                   .join(Transfer, Transfer.id == Entry.transfer_id))


def statement_query(account: Account, flt: StatementFilter, *, timezone: str):
    """Return (select, key) for ``account``'s statement: rows ``(entry, transfer, balance
    after)`` plus the paging key, ordered by nothing yet (see :func:`statement_rows`)."""
    lower, upper = flt.bounds(timezone)
    if flt.state == "completed":
        key = Entry.id
        query = (_COMPLETED_ROWS.add_columns(Entry.id.label("key"))
                 .where(Entry.account_id == account.id))
        if lower:
            query = query.where(Entry.created_at >= lower)
        if upper:
            query = query.where(Entry.created_at < upper)
    else:
        key = Transfer.id
        query = sa.select(sa.null(), Transfer, sa.null(), Transfer.id.label("key")).where(
            Transfer.state == TransferState(flt.state),
            sa.or_(Transfer.payer_account_id == account.id,
                   Transfer.payee_account_id == account.id),
        )
        stamp = _stamp(flt.state)
        if lower:
            query = query.where(stamp >= lower)
        if upper:
            query = query.where(stamp < upper)
    if flt.counterparty_id:
        query = query.where(
            sa.or_(
                sa.and_(Transfer.payer_account_id == account.id,
                        Transfer.payee_account_id == flt.counterparty_id),
                sa.and_(Transfer.payee_account_id == account.id,
                        Transfer.payer_account_id == flt.counterparty_id),
            )
        )
    return query, key


def statement_rows(account: Account, flt: StatementFilter, *, timezone: str, limit: int,
                   before: int | None = None, after: int | None = None) -> Page:
    """Return one :class:`Page` of ``account``'s statement, newest first.

    For completed transfers each row is ``(entry, transfer, balance after it)``: the stored
    running balance over every entry of the account, so filters never change it, and a page
    costs the same however long the history. For pending or cancelled ones a row is
    ``(None, transfer, None)``. ``before`` / ``after`` are keys from a previous page.
    """
    query, key = statement_query(account, flt, timezone=timezone)
    return keyset_page(query, key, limit=limit, before=before, after=after)


# Built once, the account and the limit bind parameters: building it on every dashboard cost
# more CPU than running it. (The tenant hook still scopes it each time it runs.)
_LATEST_ENTRIES = (
    _COMPLETED_ROWS
    .where(Entry.account_id == sa.bindparam("account_id", type_=sa.Integer))
    .order_by(Entry.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def latest_entries(account: Account, *, limit: int) -> list[tuple[Entry, Transfer, int]]:
    """Return ``account``'s ``limit`` latest completed transfers, newest first, as the rows of
    its statement's first page (:func:`statement_rows`, no filter): ``(entry, transfer,
    balance after it)``, the balance in subunits. One statement (the dashboard's list)."""
    rows = db.session.execute(_LATEST_ENTRIES, {"account_id": account.id, "limit": limit})
    return [tuple(row) for row in rows]


def statement_chunks(account: Account, flt: StatementFilter, *, timezone: str,
                     **sizes: int) -> Iterator[list]:
    """Yield ``account``'s whole statement, newest first, as lists of rows (a small first one,
    then larger ones: :func:`~timebank.paging.keyset_chunks` and its ``sizes``), one keyed
    query each: a CSV streams it in constant memory."""
    return keyset_chunks(
        lambda limit, before: statement_rows(account, flt, timezone=timezone, limit=limit,
                                             before=before), **sizes)


# Accounts with their display names: the member's name, or the group account's own.
_NAMED_ACCOUNTS = (
    sa.select(Account.id, User.name, Account.name)
    .outerjoin(Membership, Membership.id == Account.membership_id)
    .outerjoin(User, User.id == Membership.user_id)
)
# Built once, the ids an (expanding) bind parameter: building it on every dashboard cost more
# CPU than running it. (The tenant hook still scopes it each time it runs.)
_ACCOUNT_NAMES = _NAMED_ACCOUNTS.where(Account.id.in_(sa.bindparam("ids", expanding=True)))


def _names(rows) -> dict[int, str]:
    return {account_id: member_name or account_name
            for account_id, member_name, account_name in rows}


def account_names(account_ids: Iterable[int]) -> dict[int, str]:
    """Map account id -> display name (member's name, or the group account's name); one query."""
    ids = set(account_ids)
    if not ids:
        return {}
    return _names(db.session.execute(_ACCOUNT_NAMES, {"ids": list(ids)}))


# How many of an account's latest entries the "with" filter draws its choices from: a long
# history must not make every statement view scan it. Anyone else is found by name
# (:func:`find_counterparties`, the search box).
COUNTERPARTY_WINDOW = 50
ACCOUNTS_FOUND = 20


def word_starts_with(name: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    """SQL: ``name``, or one of its words, starts with ``prefix`` (any case; at most 60
    characters are used; ``%`` and ``_`` are plain characters)."""
    prefix = prefix.strip()[:60]
    return sa.or_(name.istartswith(prefix, autoescape=True),
                  name.icontains(" " + prefix, autoescape=True))


def find_counterparties(account: Account, prefix: str, *, limit: int = ACCOUNTS_FOUND
                        ) -> list[tuple[int, str]]:
    """Accounts of ``account``'s currency in the group (members past and present, and group
    accounts; not ``account``) whose holder's name or one of its words starts with ``prefix``:
    at most ``limit`` (account id, name), by name; none for a blank prefix. One statement."""
    if not prefix.strip():
        return []
    rows = db.session.execute(
        sa.select(Account.id, sa.func.coalesce(User.name, Account.name).label("name"))
        .outerjoin(Membership, Membership.id == Account.membership_id)
        .outerjoin(User, User.id == Membership.user_id)
        .where(Account.currency_id == account.currency_id, Account.id != account.id,
               word_starts_with(sa.func.coalesce(User.name, Account.name), prefix))
        .order_by("name", Account.id)
        .limit(limit)
    ).all()
    return [(row.id, row.name) for row in rows]


def counterparty_choices(account: Account, *, selected: int | None = None, find: str = ""
                         ) -> list[tuple[int, str]]:
    """The "with" filter's choices without listing the whole group: the accounts ``account``
    traded with in its latest :data:`COUNTERPARTY_WINDOW` entries, ``selected`` (an account
    id) and those :func:`find_counterparties` finds for ``find`` (the search without
    JavaScript), as (account id, name), by name. One statement (two with ``find``)."""
    latest = (
        sa.select(Entry.transfer_id).where(Entry.account_id == account.id)
        .order_by(Entry.id.desc()).limit(COUNTERPARTY_WINDOW).subquery()
    )
    other = sa.case(
        (Transfer.payer_account_id == account.id, Transfer.payee_account_id),
        else_=Transfer.payer_account_id,
    )
    recent = sa.select(other).join(latest, latest.c.transfer_id == Transfer.id)
    chosen = Account.id.in_(recent)
    if selected:
        chosen = sa.or_(chosen, Account.id == selected)
    names = _names(db.session.execute(_NAMED_ACCOUNTS.where(chosen)))
    names.update(find_counterparties(account, find))
    return sorted(names.items(), key=lambda item: item[1].lower())


def monthly_totals(account: Account, *, timezone: str, months: int = 12) -> list[dict]:
    """Return the months with activity among the last ``months`` calendar months (this one
    included, in the group's time zone ``timezone``), newest first:
    ``[{"month": date(2026, 12, 1), "incoming": 90, "outgoing": 30}, ...]`` (``month`` is its
    first day; sums in subunits, outgoing positive).

    Read from the totals the ledger keeps with the entries (:class:`AccountMonth`, written by
    ``ledger_write_legs`` in the group's time zone): one statement reading at most ``months``
    rows by key, however long the history.
    """
    today = datetime.now(ZoneInfo(timezone or "UTC")).date()
    first = date(today.year, today.month, 1)
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    rows = db.session.execute(
        sa.select(AccountMonth.month, AccountMonth.incoming, AccountMonth.outgoing)
        .where(AccountMonth.account_id == account.id, AccountMonth.month >= first)
        .order_by(AccountMonth.month.desc())
        .limit(months)
    ).all()
    return [{"month": row.month, "incoming": row.incoming, "outgoing": row.outgoing}
            for row in rows]


# The chart's step by the range it covers: at most about 90 points, whatever the history.
def _chart_step(days: int) -> str:
    return "day" if days <= 90 else ("week" if days <= 550 else "month")


def balance_history(account: Account, *, timezone: str, days: int = 365) -> list[dict]:
    """Return the account's balance at the end of each day, week or month (by the range) of
    the last ``days`` days, oldest first: ``[{"day": "2026-01-31", "balance": 90}, ...]``.

    One point per step in which the balance changed, plus the balance carried in; each point is
    the stored ``balance_after`` of the last entry before the step's end (one index probe), so
    the cost is bounded by the number of steps, not by the history.
    """
    zone = timezone or "UTC"
    step = _chart_step(days)
    since = datetime.now(ZoneInfo(zone)).date() - timedelta(days=days)
    rows = db.session.execute(
        sa.text("""
            WITH steps AS (
                SELECT s AS start, s + ('1 ' || :step)::interval AS stop
                  FROM generate_series(date_trunc(:step, CAST(:since AS timestamp)),
                                       date_trunc(:step, timezone(:zone, now())),
                                       ('1 ' || :step)::interval) AS s
            )
            SELECT CAST(steps.start AS date) AS day, last.balance_after, last.created_at
              FROM steps
              CROSS JOIN LATERAL (
                  SELECT e.balance_after, e.created_at FROM entries e
                   WHERE e.account_id = :account
                     AND e.created_at < timezone(:zone, steps.stop)
                   ORDER BY e.created_at DESC, e.id DESC LIMIT 1) AS last
             ORDER BY steps.start"""),
        {"step": step, "since": since, "zone": zone, "account": account.id},
    ).all()
    points: list[dict] = []
    previous = None
    for day, balance, _at in rows:
        if balance is None or balance == previous:
            continue
        points.append({"day": max(day, since).isoformat(), "balance": int(balance)})
        previous = balance
    return points


def pending_for(accounts: list[Account], *, limit: int
                ) -> tuple[list[Transfer], list[tuple[Currency, int]]]:
    """``limit`` pending transfers touching any of ``accounts`` (a member's own accounts):
    those that ask one of them to accept first (the payer of a request, else the payee; see
    :func:`timebank.ledger.transfers.acceptor_account`), then the others, oldest first in each,
    each with both accounts, their holders (the names a list shows) and its currency; and how
    many more are pending and not listed, per currency: ``[(currency, count)]`` in the order
    of ``accounts``, only currencies with some (empty when all are listed).

    One statement when there are none, two when there are some (the transfers, then both
    sides' accounts with their memberships, each joining its user), three when there are more
    than ``limit`` (their count per currency). Loading the sides with the transfers, in one
    statement, costs more on every dashboard, pending transfers or not. The currency is that
    of the one of ``accounts`` a transfer touches (a transfer's accounts hold its currency:
    their keys say so), attached without a query.
    """
    by_id = {account.id: account for account in accounts}
    if not by_id:
        return [], []
    pending = sa.select(Transfer).where(
        Transfer.state == TransferState.PENDING,
        sa.or_(Transfer.payer_account_id.in_(by_id), Transfer.payee_account_id.in_(by_id)),
    )
    asks_one_of_them = sa.case(
        (Transfer.kind == TransferKind.REQUEST, Transfer.payer_account_id.in_(by_id)),
        else_=Transfer.payee_account_id.in_(by_id))
    transfers = list(db.session.scalars(
        pending.order_by(asks_one_of_them.desc(), Transfer.created_at, Transfer.id)
        .limit(limit + 1)))
    if not transfers:
        return [], []
    more: list[tuple[Currency, int]] = []
    if len(transfers) > limit:
        transfers = transfers[:limit]
        counts = dict(db.session.execute(
            pending.with_only_columns(Transfer.currency_id, sa.func.count())
            .group_by(Transfer.currency_id)).all())
        for transfer in transfers:
            counts[transfer.currency_id] -= 1
        more = [(account.currency, counts[account.currency_id]) for account in accounts
                if counts.get(account.currency_id)]
    sides = {transfer.payer_account_id for transfer in transfers} | {
        transfer.payee_account_id for transfer in transfers}
    parties = {
        account.id: account
        for account in db.session.scalars(
            sa.select(Account).where(Account.id.in_(sides)).options(joinedload(Account.membership))
        )
    }
    for transfer in transfers:
        set_committed_value(transfer, "payer_account", parties[transfer.payer_account_id])
        set_committed_value(transfer, "payee_account", parties[transfer.payee_account_id])
        mine = by_id.get(transfer.payer_account_id) or by_id[transfer.payee_account_id]
        set_committed_value(transfer, "currency", mine.currency)
    return transfers, more


def group_ledger(flt: StatementFilter, *, timezone: str, currency_id: int | None, limit: int,
                 before: int | None = None, after: int | None = None) -> Page:
    """Return one :class:`Page` of the whole group's transfers, newest first, filtered (rows
    are transfers with both sides loaded); ``before`` / ``after`` are keys from a page."""
    lower, upper = flt.bounds(timezone)
    query = sa.select(Transfer)
    if flt.state in STATES:
        query = query.where(Transfer.state == TransferState(flt.state))
    if flt.kind:
        query = query.where(Transfer.kind == TransferKind(flt.kind))
    if currency_id:
        query = query.where(Transfer.currency_id == currency_id)
    stamp = _stamp(flt.state) if flt.state in STATES else Transfer.created_at
    if lower:
        query = query.where(stamp >= lower)
    if upper:
        query = query.where(stamp < upper)
    if flt.counterparty_id:
        query = query.where(sa.or_(Transfer.payer_account_id == flt.counterparty_id,
                                   Transfer.payee_account_id == flt.counterparty_id))
    return keyset_objects(query.options(*_PARTIES), Transfer.id, limit=limit, before=before,
                          after=after)


def group_ledger_chunks(flt: StatementFilter, *, timezone: str, currency_id: int | None,
                        **sizes: int) -> Iterator[list]:
    """Yield the group's whole ledger, newest first, as lists of transfers (a small first one,
    then larger ones: :func:`~timebank.paging.keyset_chunks` and its ``sizes``), one keyed
    query each plus their parties: a CSV streams it in constant memory."""
    return keyset_chunks(
        lambda limit, before: group_ledger(flt, timezone=timezone, currency_id=currency_id,
                                           limit=limit, before=before), **sizes)


def reversal_ids(transfer_ids: Iterable[int]) -> dict[int, int]:
    """Map original transfer id -> its reversal's id, for the given transfers (one query)."""
    ids = list(transfer_ids)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Transfer.reverses_id, Transfer.id).where(Transfer.reverses_id.in_(ids))
        ).all()
    )


def plain_amount(amount: int, subunits_per_unit: int) -> str:
    """``amount`` subunits as a machine-readable number of units (``-1.5``, ``0.25``): CSV."""
    sign = "-" if amount < 0 else ""
    whole, rest = divmod(abs(amount), subunits_per_unit)
    if not rest:
        return f"{sign}{whole}"
    digits = 1
    while (10**digits * rest) % subunits_per_unit and digits < 6:
        digits += 1
    fraction = (10**digits * rest) // subunits_per_unit
    return f"{sign}{whole}.{fraction:0{digits}d}"


def _safe_cell(value) -> str:
    """Keep a spreadsheet from running a cell as a formula (OWASP "CSV injection")."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(header: list[str] | None, rows: Iterable[list]) -> str:
    """Render rows (after ``header`` if given) as CSV text; free-text cells are defused,
    numbers written as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow([
            cell if isinstance(cell, int | float) or _is_number(cell) else _safe_cell(cell)
            for cell in row
        ])
    return buffer.getvalue()


def _is_number(cell) -> bool:
    if not isinstance(cell, str) or not cell:
        return False
    body = cell[1:] if cell[0] == "-" else cell
    return body.replace(".", "", 1).isdigit()

"""Reading the ledger: statements with running balances, filters, monthly totals, balance
history, pending items, the group's ledger, CSV.

Reads only, scoped to the current group by the tenant hook. Amounts are integers in subunits;
dates a person types are days in the group's time zone.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from timebank.extensions import db
from timebank.models import (
    Account,
    Entry,
    Membership,
    Transfer,
    TransferKind,
    TransferState,
    User,
)

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


def statement_rows(account: Account, flt: StatementFilter, *, timezone: str,
                   limit: int | None = None, offset: int = 0):
    """Return (rows, total) for ``account``.

    For completed transfers each row is ``(entry, transfer, running balance after it)``,
    newest first; the running balance is over every entry of the account, so filters never
    change it. For pending or cancelled ones a row is ``(None, transfer, None)``.
    """
    lower, upper = flt.bounds(timezone)
    if flt.state == "completed":
        running = sa.cast(sa.func.sum(Entry.amount).over(order_by=Entry.id), sa.BigInteger)
        inner = (
            sa.select(Entry.id.label("entry_id"), running.label("running_balance"))
            .where(Entry.account_id == account.id)
            .subquery()
        )
        query = (
            sa.select(Entry, Transfer, inner.c.running_balance)
            .join(inner, inner.c.entry_id == Entry.id)
            .join(Transfer, Transfer.id == Entry.transfer_id)
        )
        if lower:
            query = query.where(Entry.created_at >= lower)
        if upper:
            query = query.where(Entry.created_at < upper)
        order = Entry.id.desc()
    else:
        query = sa.select(sa.null(), Transfer, sa.null()).where(
            Transfer.state == TransferState(flt.state),
            sa.or_(Transfer.payer_account_id == account.id,
                   Transfer.payee_account_id == account.id),
        )
        stamp = _stamp(flt.state)
        if lower:
            query = query.where(stamp >= lower)
        if upper:
            query = query.where(stamp < upper)
        order = Transfer.id.desc()
    if flt.counterparty_id:
        query = query.where(
            sa.or_(
                sa.and_(Transfer.payer_account_id == account.id,
                        Transfer.payee_account_id == flt.counterparty_id),
                sa.and_(Transfer.payee_account_id == account.id,
                        Transfer.payer_account_id == flt.counterparty_id),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    query = query.order_by(order).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return db.session.execute(query).all(), total


def account_names(account_ids: Iterable[int]) -> dict[int, str]:
    """Map account id -> display name (member's name, or the group account's name); one query."""
    ids = set(account_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Account.id, User.name, Account.name)
        .outerjoin(Membership, Membership.id == Account.membership_id)
        .outerjoin(User, User.id == Membership.user_id)
        .where(Account.id.in_(ids))
    ).all()
    return {row[0]: row[1] or row[2] for row in rows}


def counterparty_choices(account: Account) -> list[tuple[int, str]]:
    """Accounts ``account`` ever traded with, as (account id, name), by name."""
    other = sa.case(
        (Transfer.payer_account_id == account.id, Transfer.payee_account_id),
        else_=Transfer.payer_account_id,
    )
    ids = db.session.scalars(
        sa.select(other).distinct().where(
            sa.or_(Transfer.payer_account_id == account.id,
                   Transfer.payee_account_id == account.id)
        )
    ).all()
    names = account_names(ids)
    return sorted(names.items(), key=lambda item: item[1].lower())


def monthly_totals(account: Account, *, timezone: str, months: int = 12) -> list[dict]:
    """Return the last ``months`` months with activity: ``{month, incoming, outgoing}``
    (subunits; outgoing positive), newest first, months in the group's time zone."""
    month = sa.func.date_trunc("month", sa.func.timezone(timezone or "UTC", Entry.created_at))
    rows = db.session.execute(
        sa.select(
            month.label("month"),
            sa.func.coalesce(sa.func.sum(Entry.amount).filter(Entry.amount > 0), 0),
            sa.func.coalesce(-sa.func.sum(Entry.amount).filter(Entry.amount < 0), 0),
        )
        .where(Entry.account_id == account.id)
        .group_by(month)
        .order_by(month.desc())
        .limit(months)
    ).all()
    return [{"month": row[0].date(), "incoming": int(row[1]), "outgoing": int(row[2])}
            for row in rows]


def balance_history(account: Account, *, timezone: str, days: int = 365) -> list[dict]:
    """Return the closing balance of each day with activity in the last ``days`` days, oldest
    first, plus the balance carried in: ``[{"day": "2026-01-31", "balance": 90}, ...]``."""
    day = sa.cast(sa.func.timezone(timezone or "UTC", Entry.created_at), sa.Date)
    running = sa.cast(sa.func.sum(Entry.amount).over(order_by=Entry.id), sa.BigInteger)
    inner = (
        sa.select(day.label("day"), Entry.id.label("entry_id"), running.label("running"))
        .where(Entry.account_id == account.id)
        .subquery()
    )
    last = (
        sa.select(inner.c.day, sa.func.max(inner.c.entry_id).label("entry_id"))
        .group_by(inner.c.day)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(last.c.day, inner.c.running)
        .join(inner, inner.c.entry_id == last.c.entry_id)
        .order_by(last.c.day)
    ).all()
    since = date.today() - timedelta(days=days)
    carried = [row for row in rows if row[0] < since]
    points = [{"day": row[0].isoformat(), "balance": int(row[1])}
              for row in rows if row[0] >= since]
    if carried:
        points.insert(0, {"day": since.isoformat(), "balance": int(carried[-1][1])})
    return points


def pending_for(accounts: list[Account]) -> list[Transfer]:
    """Pending transfers touching any of ``accounts``, oldest first."""
    ids = [account.id for account in accounts]
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Transfer)
            .where(
                Transfer.state == TransferState.PENDING,
                sa.or_(Transfer.payer_account_id.in_(ids), Transfer.payee_account_id.in_(ids)),
            )
            .options(*_PARTIES)
            .order_by(Transfer.created_at)
        )
    )


def group_ledger(flt: StatementFilter, *, timezone: str, currency_id: int | None,
                 limit: int | None = None, offset: int = 0):
    """Return (transfers, total) of the whole group, newest first, filtered."""
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
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    query = query.options(*_PARTIES).order_by(Transfer.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query)), total


def reversal_ids(transfer_ids: Iterable[int]) -> dict[int, int]:
    """Map original transfer id -> its reversal's id, for the given transfers (one query)."""
    ids = list(transfer_ids)
    if not ids:
        return {}
    reversal = aliased(Transfer)
    return dict(
        db.session.execute(
            sa.select(reversal.reverses_id, reversal.id).where(reversal.reverses_id.in_(ids))
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


def to_csv(header: list[str], rows: Iterable[list]) -> str:
    """Render rows as CSV text; free-text cells are defused, numbers written as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
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

"""Export one group as a ZIP of CSV and JSON files.

What is in the ZIP (``manifest.json`` lists every file with its row count):

* ``group.json`` — the group's settings (and its marketplace settings);
* ``members.csv`` — one row per membership: email, name, role, status, joined, and the balance
  in the group's first currency (``H:MM`` for hours), which the import reads back;
* ``currencies.csv``, ``accounts.csv``;
* ``transfers.csv`` — every transfer with payer and payee by email (blank: a group account such
  as the community pot), the amount, the state; ``entries.csv`` — every ledger line;
* one ``<table>.csv`` for each other table the group owns (ads, categories, limit changes,
  volunteering and kudos when those tables exist...), every column — except private messages
  between members (:data:`PRIVATE_TABLES`), which are not the network's to hand out.

No password hashes leave the database. Free-text cells are defused against spreadsheet formulas.
Reads run in one transaction; the job (:mod:`timebank.portability.jobs`) makes it a repeatable-read
snapshot, so balances, transfers and entries agree.

However long the history, memory stays flat (issue 14): rows are written into the ZIP as a
server-side cursor reads them, the ZIP goes to a file, and it is stored and downloaded in pieces
of :data:`CHUNK_BYTES` (:func:`store`, :func:`stored_chunks`).
"""

import csv
import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.models import (
    Account,
    Currency,
    Entry,
    ExportStatus,
    Group,
    GroupExport,
    GroupExportChunk,
    Membership,
    Role,
    Transfer,
    User,
    utcnow,
)
from timebank.models.base import TenantMixin
from timebank.portability.formats import format_amount, safe_cell
from timebank.provisioning.service import ProvisioningError
from timebank.tenants import group_context

FORMAT = "timebank-export"
VERSION = 1
ROWS_AT_ONCE = 1_000  # read from a server-side cursor at a time
CHUNK_BYTES = 1 << 20  # a stored export's piece: what its download holds in memory at once
PRIVATE_TABLES = frozenset({"conversations", "messages", "message_reports", "blocks"})
# Written by name below; the generic dump skips them.
CORE_TABLES = frozenset({"memberships", "currencies", "accounts", "transfers", "entries"})
MEMBER_COLUMNS = ["email", "name", "role", "status", "joined_at", "balance", "currency",
                  "membership_id", "user_id"]
ACCOUNT_COLUMNS = ["id", "currency", "owner_email", "kind", "name", "is_issuer", "min_balance",
                   "max_balance", "balance", "created_at"]
TRANSFER_COLUMNS = ["id", "date", "completed_at", "state", "kind", "currency", "payer_email",
                    "payee_email", "amount", "description", "payer_account_id",
                    "payee_account_id", "amount_subunits", "reverses_id"]


class ExportError(ProvisioningError):
    message = _l("The export could not be made.")


class NothingToExport(ExportError):
    message = _l("This group no longer exists.")


def request_export(*, group: Group, requested_by: User | None) -> GroupExport:
    """Record an export of ``group`` and enqueue the job that builds it (after commit)."""
    from timebank.portability.jobs import build_group_export
    from timebank.tasks import enqueue

    export = GroupExport(group_id=group.id, group_slug=group.slug,
                         requested_by_id=requested_by.id if requested_by else None,
                         status=ExportStatus.QUEUED, created_at=utcnow())
    db.session.add(export)
    db.session.flush()
    enqueue(build_group_export, export.id)
    return export


def _cell(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return safe_cell(getattr(value, "value", value))


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return getattr(value, "value", value)


def _role_key(role: int) -> str:
    try:
        return Role(role).key
    except ValueError:
        return str(role)


def write_zip(file: BinaryIO, *, group_id: int,
              on_progress: Callable[[int], None] | None = None) -> None:
    """Write the ZIP of group ``group_id`` (see the module docstring) to ``file``, a binary
    file open for writing (seekable: the ZIP's sizes are written after each member).

    Each table is read through a server-side cursor, :data:`ROWS_AT_ONCE` rows at a time, and
    written into the ZIP as it is read: memory stays flat however long the history (issue 14).
    ``manifest.json`` comes last, with every file's row count. ``on_progress(percent)`` is
    called as files are written. Raises :class:`NothingToExport`.
    """
    progress = on_progress or (lambda percent: None)
    group = db.session.get(Group, group_id)
    if group is None:
        raise NothingToExport()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive, group_context(group_id):
        def add_csv(name: str, header: list[str], rows: Iterable[list]) -> None:
            counts[name] = _write_csv(archive, name, header, rows)

        currencies = db.session.scalars(sa.select(Currency).order_by(Currency.id)).all()
        first = next((c for c in currencies if c.is_active), currencies[0] if currencies else None)
        archive.writestr("group.json",
                         json.dumps(_group_settings(group), ensure_ascii=False, indent=2))
        progress(10)
        add_csv("members.csv", MEMBER_COLUMNS, _members(first))
        progress(25)
        add_csv("currencies.csv", *_table_rows(Currency.__table__, group_id))
        add_csv("accounts.csv", ACCOUNT_COLUMNS, _accounts())
        progress(40)
        add_csv("transfers.csv", TRANSFER_COLUMNS, _transfers())
        progress(60)
        add_csv("entries.csv", *_table_rows(Entry.__table__, group_id))
        progress(75)
        for table in _other_tenant_tables():
            add_csv(f"{table.name}.csv", *_table_rows(table, group_id))
        progress(90)
        manifest = {
            "format": FORMAT, "version": VERSION, "group": group.slug, "name": group.name,
            "exported_at": utcnow().isoformat(), "files": counts,
            "currency": first.code if first else None,
            "balance_sums": balance_sums(group_id=group_id),
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    progress(100)


def _write_csv(archive: zipfile.ZipFile, name: str, header: list[str],
               rows: Iterable[list]) -> int:
    """Write a CSV file (RFC 4180, ``\\r\\n`` line ends, UTF-8) into ``archive`` row by row;
    return its number of rows."""
    count = 0
    with archive.open(name, "w", force_zip64=True) as member, \
            io.TextIOWrapper(member, encoding="utf-8", newline="") as text:
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _streamed(query) -> sa.Result:
    """``query``'s rows through a server-side cursor, :data:`ROWS_AT_ONCE` at a time."""
    return db.session.execute(query.execution_options(yield_per=ROWS_AT_ONCE))


def store(export: GroupExport, file: BinaryIO) -> None:
    """Store the ZIP in ``file`` (read from its start) as ``export``'s content: pieces of
    :data:`CHUNK_BYTES` in ``group_export_chunks``, written one at a time (any it had before
    are replaced), and its ``size`` in bytes."""
    db.session.execute(sa.delete(GroupExportChunk).where(GroupExportChunk.export_id == export.id))
    file.seek(0)
    size = 0
    for seq, piece in enumerate(iter(lambda: file.read(CHUNK_BYTES), b"")):
        db.session.execute(sa.insert(GroupExportChunk).values(
            export_id=export.id, seq=seq, data=piece))
        size += len(piece)
    export.size = size


def stored_chunks(export_id: int) -> Iterator[bytes]:
    """Yield the stored ZIP of export ``export_id``, piece by piece in order. Each piece is
    read in a short transaction of its own: a slow download holds neither the file nor a
    transaction open. An export the previous release built (no pieces) comes whole from
    ``group_exports.content``."""
    for seq in itertools.count():
        piece = db.session.scalar(sa.select(GroupExportChunk.data).where(
            GroupExportChunk.export_id == export_id, GroupExportChunk.seq == seq))
        whole = piece is None and seq == 0  # built by the release before pieces: one value
        if whole:
            piece = db.session.scalar(
                sa.select(GroupExport.content).where(GroupExport.id == export_id))
        db.session.rollback()  # it only read
        if piece:
            yield piece
        if whole or not piece:
            return


def _group_settings(group: Group) -> dict:
    columns = [c.name for c in Group.__table__.columns]
    settings = {name: _jsonable(getattr(group, name)) for name in columns}
    from timebank.models import MarketplaceSettings

    marketplace = db.session.scalar(sa.select(MarketplaceSettings))
    settings["marketplace"] = (
        {"ad_lifetime_days": marketplace.ad_lifetime_days} if marketplace else None
    )
    return settings


def _members(currency: Currency | None) -> Iterator[list]:
    balance = (
        sa.select(Account.balance)
        .where(Account.membership_id == Membership.id,
               Account.currency_id == (currency.id if currency else None))
        .scalar_subquery()
    )
    rows = _streamed(
        sa.select(User.email, User.name, Membership.role, Membership.status,
                  Membership.created_at, balance, Membership.id, User.id)
        .join(User, User.id == Membership.user_id)
        .order_by(Membership.id)
    )
    per = currency.subunits_per_unit if currency else 60
    code = currency.code if currency else ""
    for email, name, role, status, created, amount, membership_id, user_id in rows:
        yield [safe_cell(email), safe_cell(name), _role_key(role), status.value,
               created.isoformat(), format_amount(amount or 0, per), code, membership_id,
               user_id]


def _accounts() -> Iterator[list]:
    rows = _streamed(
        sa.select(Account.id, Currency.code, User.email, Account.kind, Account.name,
                  Account.is_issuer, Account.min_balance, Account.max_balance, Account.balance,
                  Account.created_at)
        .join(Currency, Currency.id == Account.currency_id)
        .outerjoin(Membership, Membership.id == Account.membership_id)
        .outerjoin(User, User.id == Membership.user_id)
        .order_by(Account.id)
    )
    for (account_id, code, email, kind, name, is_issuer, min_balance, max_balance, balance,
         created_at) in rows:
        yield [account_id, code, safe_cell(email or ""), kind.value, safe_cell(name),
               str(is_issuer).lower(), _cell(min_balance), _cell(max_balance), balance,
               created_at.isoformat()]


def _transfers() -> Iterator[list]:
    payer = sa.orm.aliased(Account)
    payee = sa.orm.aliased(Account)
    payer_m, payee_m = sa.orm.aliased(Membership), sa.orm.aliased(Membership)
    payer_u, payee_u = sa.orm.aliased(User), sa.orm.aliased(User)
    rows = _streamed(
        sa.select(Transfer.id, Transfer.created_at, Transfer.completed_at, Transfer.state,
                  Transfer.kind, Currency.code, Currency.subunits_per_unit, payer_u.email,
                  payee_u.email, Transfer.amount, Transfer.description,
                  Transfer.payer_account_id, Transfer.payee_account_id, Transfer.reverses_id)
        .join(Currency, Currency.id == Transfer.currency_id)
        .join(payer, payer.id == Transfer.payer_account_id)
        .join(payee, payee.id == Transfer.payee_account_id)
        .outerjoin(payer_m, payer_m.id == payer.membership_id)
        .outerjoin(payee_m, payee_m.id == payee.membership_id)
        .outerjoin(payer_u, payer_u.id == payer_m.user_id)
        .outerjoin(payee_u, payee_u.id == payee_m.user_id)
        .order_by(Transfer.id)
    )
    for (transfer_id, created_at, completed_at, state, kind, code, per, payer_email,
         payee_email, amount, description, payer_account_id, payee_account_id,
         reverses_id) in rows:
        yield [transfer_id, created_at.isoformat(), _cell(completed_at), state.value,
               kind.value, code, safe_cell(payer_email or ""), safe_cell(payee_email or ""),
               format_amount(amount, per), safe_cell(description), payer_account_id,
               payee_account_id, amount, _cell(reverses_id)]


def _other_tenant_tables() -> list[sa.Table]:
    """Every other table with a ``group_id`` owned by a tenant model, by name."""
    tables = {}
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        if issubclass(cls, TenantMixin) and isinstance(mapper.local_table, sa.Table):
            table = mapper.local_table
            if table.name not in PRIVATE_TABLES | CORE_TABLES:
                tables[table.name] = table
    return [tables[name] for name in sorted(tables)]


def _table_rows(table: sa.Table, group_id: int) -> tuple[list[str], Iterator[list]]:
    """The header and the rows (every column but binary ones) of a table the group owns."""
    columns = [c for c in table.columns if not isinstance(c.type, sa.LargeBinary)]
    query = sa.select(*columns).where(table.c.group_id == group_id)
    if "id" in table.c:
        query = query.order_by(table.c.id)
    rows = ([_cell(value) for value in row] for row in _streamed(query))
    return [c.name for c in columns], rows


def balance_sums(*, group_id: int) -> dict[str, int]:
    """Return ``{currency code: sum of balances}`` of a group (all zero when sound)."""
    with group_context(group_id):
        return {
            code: int(total or 0) for code, total in db.session.execute(
                sa.select(Currency.code, sa.func.sum(Account.balance))
                .join(Account, Account.currency_id == Currency.id)
                .group_by(Currency.code)
            )
        }


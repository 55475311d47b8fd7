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
"""

import io
import json
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

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
    Membership,
    Role,
    Transfer,
    User,
    utcnow,
)
from timebank.models.base import TenantMixin
from timebank.portability.formats import format_amount, safe_cell, write_csv
from timebank.provisioning.service import ProvisioningError
from timebank.tenants import group_context

FORMAT = "timebank-export"
VERSION = 1
PRIVATE_TABLES = frozenset({"conversations", "messages", "message_reports", "blocks"})
# Written by name below; the generic dump skips them.
CORE_TABLES = frozenset({"memberships", "currencies", "accounts", "transfers", "entries"})
MEMBER_COLUMNS = ["email", "name", "role", "status", "joined_at", "balance", "currency",
                  "membership_id", "user_id"]
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


def build_zip(*, group_id: int, on_progress: Callable[[int], None] | None = None) -> bytes:
    """Return the ZIP of group ``group_id`` (see the module docstring).

    ``on_progress(percent)`` is called as files are written. Raises :class:`NothingToExport`.
    """
    progress = on_progress or (lambda percent: None)
    group = db.session.get(Group, group_id)
    if group is None:
        raise NothingToExport()
    files: dict[str, str] = {}
    counts: dict[str, int] = {}
    with group_context(group_id):
        currencies = db.session.scalars(sa.select(Currency).order_by(Currency.id)).all()
        first = next((c for c in currencies if c.is_active), currencies[0] if currencies else None)
        files["group.json"] = json.dumps(_group_settings(group), ensure_ascii=False, indent=2)
        progress(10)
        files["members.csv"], counts["members.csv"] = _members(first)
        progress(25)
        files["currencies.csv"], counts["currencies.csv"] = _table_rows(
            Currency.__table__, group_id)
        files["accounts.csv"], counts["accounts.csv"] = _accounts()
        progress(40)
        files["transfers.csv"], counts["transfers.csv"] = _transfers()
        progress(60)
        files["entries.csv"], counts["entries.csv"] = _table_rows(Entry.__table__, group_id)
        progress(75)
        for table in _other_tenant_tables():
            files[f"{table.name}.csv"], counts[f"{table.name}.csv"] = _table_rows(table, group_id)
        progress(90)
        balances = {
            code: int(total or 0) for code, total in db.session.execute(
                sa.select(Currency.code, sa.func.sum(Account.balance))
                .join(Account, Account.currency_id == Currency.id)
                .group_by(Currency.code)
            )
        }
    manifest = {
        "format": FORMAT, "version": VERSION, "group": group.slug, "name": group.name,
        "exported_at": utcnow().isoformat(), "files": counts,
        "currency": first.code if first else None,
        "balance_sums": balances,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for name, text in files.items():
            archive.writestr(name, text)
    progress(100)
    return buffer.getvalue()


def _group_settings(group: Group) -> dict:
    columns = [c.name for c in Group.__table__.columns]
    settings = {name: _jsonable(getattr(group, name)) for name in columns}
    from timebank.models import MarketplaceSettings

    marketplace = db.session.scalar(sa.select(MarketplaceSettings))
    settings["marketplace"] = (
        {"ad_lifetime_days": marketplace.ad_lifetime_days} if marketplace else None
    )
    return settings


def _members(currency: Currency | None) -> tuple[str, int]:
    balance = (
        sa.select(Account.balance)
        .where(Account.membership_id == Membership.id,
               Account.currency_id == (currency.id if currency else None))
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(User.email, User.name, Membership.role, Membership.status,
                  Membership.created_at, balance, Membership.id, User.id)
        .join(User, User.id == Membership.user_id)
        .order_by(Membership.id)
    ).all()
    per = currency.subunits_per_unit if currency else 60
    out = [
        [safe_cell(email), safe_cell(name), _role_key(role), status.value,
         created.isoformat(), format_amount(amount or 0, per), currency.code if currency else "",
         membership_id, user_id]
        for email, name, role, status, created, amount, membership_id, user_id in rows
    ]
    return write_csv(MEMBER_COLUMNS, out), len(out)


def _accounts() -> tuple[str, int]:
    rows = db.session.execute(
        sa.select(Account, Currency.code, User.email)
        .join(Currency, Currency.id == Account.currency_id)
        .outerjoin(Membership, Membership.id == Account.membership_id)
        .outerjoin(User, User.id == Membership.user_id)
        .order_by(Account.id)
    ).all()
    header = ["id", "currency", "owner_email", "kind", "name", "is_issuer", "min_balance",
              "max_balance", "balance", "created_at"]
    out = [
        [a.id, code, safe_cell(email or ""), a.kind.value, safe_cell(a.name),
         str(a.is_issuer).lower(), _cell(a.min_balance), _cell(a.max_balance), a.balance,
         a.created_at.isoformat()]
        for a, code, email in rows
    ]
    return write_csv(header, out), len(out)


def _transfers() -> tuple[str, int]:
    payer = sa.orm.aliased(Account)
    payee = sa.orm.aliased(Account)
    payer_m, payee_m = sa.orm.aliased(Membership), sa.orm.aliased(Membership)
    payer_u, payee_u = sa.orm.aliased(User), sa.orm.aliased(User)
    rows = db.session.execute(
        sa.select(Transfer, Currency.code, Currency.subunits_per_unit, payer_u.email,
                  payee_u.email)
        .join(Currency, Currency.id == Transfer.currency_id)
        .join(payer, payer.id == Transfer.payer_account_id)
        .join(payee, payee.id == Transfer.payee_account_id)
        .outerjoin(payer_m, payer_m.id == payer.membership_id)
        .outerjoin(payee_m, payee_m.id == payee.membership_id)
        .outerjoin(payer_u, payer_u.id == payer_m.user_id)
        .outerjoin(payee_u, payee_u.id == payee_m.user_id)
        .order_by(Transfer.id)
    ).all()
    out = [
        [t.id, t.created_at.isoformat(), _cell(t.completed_at), t.state.value, t.kind.value,
         code, safe_cell(payer_email or ""), safe_cell(payee_email or ""),
         format_amount(t.amount, per), safe_cell(t.description), t.payer_account_id,
         t.payee_account_id, t.amount, _cell(t.reverses_id)]
        for t, code, per, payer_email, payee_email in rows
    ]
    return write_csv(TRANSFER_COLUMNS, out), len(out)


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


def _table_rows(table: sa.Table, group_id: int) -> tuple[str, int]:
    columns = [c for c in table.columns if not isinstance(c.type, sa.LargeBinary)]
    query = sa.select(*columns).where(table.c.group_id == group_id)
    if "id" in table.c:
        query = query.order_by(table.c.id)
    rows = [[_cell(value) for value in row] for row in db.session.execute(query)]
    return write_csv([c.name for c in columns], rows), len(rows)


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


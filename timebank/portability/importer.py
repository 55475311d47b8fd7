"""Import a group from another platform's CSV export (or from our own export ZIP).

Two shapes are read, both with a members file:

* **members with balances** — ``members.csv``: ``email, name, balance`` (and optionally
  ``role``, ``status``, ``joined_at``). Each balance becomes one opening transfer between the
  member and the group's community pot, so the balances must sum to zero;
* **full transfer history** — the members file (``balance`` optional) plus ``transfers.csv``:
  ``date, payer_email, payee_email, amount`` (and optionally ``description``, ``state``,
  ``currency``). A blank payer or payee is the group's community pot. Only ``completed`` rows
  are replayed (when a ``state`` column exists). If the members file has balances too, each must
  equal what the history adds up to.

Amounts are hours: ``1:30`` or decimal ``1.5`` (whole minutes). The columns our own export
writes besides these are recognised and ignored; any other column is an error, so a file meant
for something else is not half-understood.

:func:`plan_import` is the dry run: it reads everything, checks everything, and returns an
:class:`ImportPlan` listing what would be created and every problem (file, line, column, why).
:func:`import_group` then writes it in one savepoint — the group, its people, their memberships
and accounts, and every transfer through :func:`timebank.ledger.service.transfer_between` — and
runs ``ledger verify`` on the new group before returning; any problem rolls the whole import
back. Imported people with no account yet get one without a password (they choose one with
"forgot password"); nobody is emailed about the replayed transfers.

Rules: emails valid and unique (case-insensitive); names present; roles and statuses known;
balances and amounts numeric, whole minutes; transfer amounts positive; no final balance below
the import's credit limit (a negative balance is normal in mutual credit, one below the limit
the group will enforce is not); balances sum to zero; dates ISO 8601 and not in the future.

Functions take keyword-only arguments, raise :class:`ImportError_` subclasses and never commit.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.i18n import LANGUAGES
from timebank.ledger import notify
from timebank.ledger import service as ledger
from timebank.ledger.amounts import MAX_UNITS
from timebank.ledger.verify import verify_ledger
from timebank.models import (
    Membership,
    MembershipStatus,
    Role,
    TransferKind,
    User,
    utcnow,
)
from timebank.people import service as people
from timebank.portability.formats import FormatError, format_amount, parse_amount, parse_date
from timebank.portability.formats import plain_text as text
from timebank.portability.formats import read_csv as read_csv_file
from timebank.provisioning import audit
from timebank.provisioning.requests import check_wished_slug
from timebank.provisioning.service import ProvisioningError, create_group
from timebank.tasks import discard_new_jobs
from timebank.tenants import group_context

MEMBER_REQUIRED = ("email", "name")
MEMBER_OPTIONAL = ("balance", "role", "status", "joined_at")
MEMBER_IGNORED = ("currency", "membership_id", "user_id")  # written by our own export
TRANSFER_REQUIRED = ("date", "payer_email", "payee_email", "amount")
TRANSFER_OPTIONAL = ("description", "state", "currency")
TRANSFER_IGNORED = ("id", "completed_at", "kind", "payer_account_id", "payee_account_id",
                    "amount_subunits", "reverses_id")
MAX_ROWS = 100_000
DEFAULT_CREDIT_LIMIT = 20 * 60  # minutes below zero
UNUSABLE_PASSWORD = "!imported"  # no argon2 hash matches it: "forgot password" sets one
ROLES = {role.key: role for role in Role}
STATUSES = {status.value: status for status in MembershipStatus}


class ImportError_(ProvisioningError):  # noqa: N801 (ImportError is a builtin)
    message = _l("The import could not be done.")


class ImportInvalid(ImportError_):
    message = _l("The files have problems: nothing was imported. See the report.")


class ImportFailed(ImportError_):
    message = _l("The imported ledger did not verify: nothing was imported.")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (file, line, column) and why (translated)."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        where += f" [{self.column}]" if self.column else ""
        return f"{where}: {self.message}"


@dataclass
class MemberRow:
    line: int
    email: str
    name: str
    role: Role
    status: MembershipStatus
    balance: int | None
    joined_at: datetime | None
    has_account: bool = False


@dataclass
class TransferRow:
    line: int
    when: datetime
    payer_email: str | None  # None: the community pot
    payee_email: str | None
    amount: int
    description: str


@dataclass
class ImportPlan:
    """What an import would create, and what is wrong (empty ``problems``: ready)."""

    name: str
    slug: str
    default_locale: str
    coordinator_email: str
    credit_limit: int
    timezone: str = "UTC"
    members: list[MemberRow] = field(default_factory=list)
    transfers: list[TransferRow] = field(default_factory=list)
    skipped_transfers: int = 0
    problems: list[Problem] = field(default_factory=list)
    final_balances: dict[str, int] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.problems

    @property
    def uses_history(self) -> bool:
        return bool(self.transfers) or self.skipped_transfers > 0

    def problem(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(file, line, column, message))

    def summary(self) -> dict:
        """Plain figures for the report (amounts in minutes)."""
        new = sum(1 for m in self.members if not m.has_account)
        return {
            "members": len(self.members),
            "new_accounts": new,
            "existing_accounts": len(self.members) - new,
            "transfers": len(self.transfers),
            "skipped_transfers": self.skipped_transfers,
            "volume": sum(t.amount for t in self.transfers),
            "opening_balances": 0 if self.uses_history else sum(
                1 for m in self.members if m.balance),
            "problems": len(self.problems),
        }


def read_upload(data: bytes) -> tuple[bytes, bytes | None]:
    """Return (members file, transfers file or None) from an upload: a CSV as it is, or our
    own export ZIP (its ``members.csv`` and ``transfers.csv``). Raises :class:`ImportInvalid`
    for a ZIP without a members file."""
    if data[:4] != b"PK\x03\x04":
        return data, None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "members.csv" not in names:
                raise ImportInvalid()
            members = archive.read("members.csv")
            transfers = archive.read("transfers.csv") if "transfers.csv" in names else None
    except zipfile.BadZipFile as error:
        raise ImportInvalid() from error
    return members, transfers


def _reason(code: str) -> str:
    return {
        "empty": _("This value is missing."),
        "non_numeric": _("This is not a number (write hours like 1:30 or 1.5)."),
        "precision": _("This is not a whole number of minutes."),
        "bad_date": _("This is not a date (write 2024-03-31 or 2024-03-31T14:00)."),
        "encoding": _("The file is not UTF-8 text."),
        "empty_file": _("The file is empty."),
    }.get(code, _("This value cannot be read."))


def _read(plan: ImportPlan, file: str, data: bytes, required, optional, ignored):
    try:
        header, rows = read_csv_file(data)
    except FormatError as error:
        plan.problem(file, None, None, _reason(str(error)))
        return None, []
    known = set(required) | set(optional) | set(ignored)
    for name in header:
        if name not in known:
            plan.problem(file, 1, name, _("Unknown column. Known columns: %(columns)s.",
                                          columns=", ".join((*required, *optional))))
    for name in required:
        if name not in header:
            plan.problem(file, 1, name, _("This column is missing."))
    duplicates = [name for name, n in Counter(header).items() if n > 1]
    for name in duplicates:
        plan.problem(file, 1, name, _("This column appears twice."))
    if len(rows) > MAX_ROWS:
        plan.problem(file, None, None, _("Too many rows (at most %(max)s).", max=MAX_ROWS))
        rows = rows[:MAX_ROWS]
    for number, row in enumerate(rows, start=2):
        if row.pop("__extra__", None):
            plan.problem(file, number, None, _("This row has more cells than the header."))
    return header, rows


def _members(plan: ImportPlan, header, rows) -> None:
    file = "members.csv"
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        raw_email = row.get("email", "").strip()
        try:
            email = people.normalize_email(
                validate_email(raw_email, check_deliverability=False).normalized)
        except EmailNotValidError:
            plan.problem(file, number, "email", _("This is not an email address."))
            continue
        if email in seen:
            plan.problem(file, number, "email",
                         _("Duplicate email (also on line %(line)s).", line=seen[email]))
            continue
        seen[email] = number
        name = text(row.get("name", ""))
        if not name or len(name) > 120:
            plan.problem(file, number, "name", _("Give a name of 1 to 120 characters."))
        role = ROLES.get((row.get("role") or "member").strip().lower())
        if role is None:
            plan.problem(file, number, "role", _("Unknown role (use %(roles)s).",
                                                 roles=", ".join(ROLES)))
        status = STATUSES.get((row.get("status") or "active").strip().lower())
        if status is None:
            plan.problem(file, number, "status", _("Unknown status (use %(statuses)s).",
                                                   statuses=", ".join(STATUSES)))
        balance = None
        if "balance" in header:
            try:
                balance = parse_amount(row.get("balance", ""), 60)
                if abs(balance) > MAX_UNITS * 60:
                    plan.problem(file, number, "balance", _("This amount is too large."))
            except FormatError as error:
                plan.problem(file, number, "balance", _reason(str(error)))
        joined_at = None
        if (row.get("joined_at") or "").strip():
            try:
                joined_at = parse_date(row["joined_at"], plan.timezone)
            except FormatError as error:
                plan.problem(file, number, "joined_at", _reason(str(error)))
        plan.members.append(MemberRow(number, email, name, role or Role.MEMBER,
                                      status or MembershipStatus.ACTIVE, balance, joined_at))


def _transfers(plan: ImportPlan, header, rows, emails: set[str], currency: str | None) -> None:
    file = "transfers.csv"
    now = utcnow()
    currencies = set()
    for number, row in enumerate(rows, start=2):
        if "state" in header and (row.get("state") or "").strip().lower() != "completed":
            plan.skipped_transfers += 1
            continue
        if "currency" in header and row.get("currency", "").strip():
            currencies.add(row["currency"].strip().upper())
        ok = True
        try:
            when = parse_date(row.get("date", ""), plan.timezone)
            if when > now:
                plan.problem(file, number, "date", _("This date is in the future."))
                ok = False
        except FormatError as error:
            plan.problem(file, number, "date", _reason(str(error)))
            ok = False
        sides = []
        for column in ("payer_email", "payee_email"):
            email = people.normalize_email(text(row.get(column, "")))
            if email and email not in emails:
                plan.problem(file, number, column, _("No member has this email in the "
                                                     "members file."))
                ok = False
            sides.append(email or None)
        if sides[0] == sides[1]:
            plan.problem(file, number, "payee_email",
                         _("The payer and the payee are the same."))
            ok = False
        try:
            amount = parse_amount(row.get("amount", ""), 60)
            if amount <= 0:
                plan.problem(file, number, "amount", _("A transfer amount must be positive."))
                ok = False
            elif amount > MAX_UNITS * 60:
                plan.problem(file, number, "amount", _("This amount is too large."))
                ok = False
        except FormatError as error:
            plan.problem(file, number, "amount", _reason(str(error)))
            ok = False
        if ok:
            plan.transfers.append(TransferRow(number, when, sides[0], sides[1], amount,
                                              text(row.get("description", ""))[:500]))
    if len(currencies) > 1 or (currency and currencies and currencies != {currency}):
        plan.problem(file, None, "currency",
                     _("Only one currency can be imported; this file has %(codes)s.",
                       codes=", ".join(sorted(currencies))))
    plan.transfers.sort(key=lambda t: (t.when, t.line))


def _ledger(plan: ImportPlan) -> None:
    """Work out every final balance and check sums and limits."""
    given = {m.email: m.balance for m in plan.members}
    if plan.uses_history:
        final = dict.fromkeys(given, 0)
        for t in plan.transfers:
            if t.payer_email:
                final[t.payer_email] -= t.amount
            if t.payee_email:
                final[t.payee_email] += t.amount
        for member in plan.members:
            if member.balance is not None and member.balance != final[member.email]:
                plan.problem("members.csv", member.line, "balance", _(
                    "The balance %(given)s does not match the transfers, which add up to "
                    "%(derived)s.", given=format_amount(member.balance, 60),
                    derived=format_amount(final[member.email], 60)))
    else:
        final = {email: balance or 0 for email, balance in given.items()}
        total = sum(final.values())
        if total:
            plan.problem("members.csv", None, "balance", _(
                "The balances add up to %(total)s, not zero: in mutual credit every hour "
                "someone has was given by someone else. Correct the balances.",
                total=format_amount(total, 60)))
    plan.final_balances = final
    for member in plan.members:
        if final.get(member.email, 0) < -plan.credit_limit:
            plan.problem("members.csv", member.line, "balance", _(
                "The balance %(balance)s is below the credit limit of %(limit)s. Correct it, "
                "or import with a higher credit limit.",
                balance=format_amount(final[member.email], 60),
                limit=format_amount(-plan.credit_limit, 60)))


def plan_import(
    *,
    members_data: bytes,
    transfers_data: bytes | None = None,
    name: str,
    slug: str,
    default_locale: str = "en",
    coordinator_email: str,
    credit_limit: int = DEFAULT_CREDIT_LIMIT,
    timezone: str = "UTC",
) -> ImportPlan:
    """Read and check an import without writing anything; return the plan and its problems.

    ``credit_limit`` is in minutes below zero (the new group's default). Checks the new
    group's address and that the coordinator is one of the members (or has an account).
    """
    plan = ImportPlan(name=(name or "").strip()[:120], slug=(slug or "").strip().lower(),
                      default_locale=default_locale,
                      coordinator_email=people.normalize_email(coordinator_email or ""),
                      credit_limit=max(0, int(credit_limit)), timezone=timezone)
    if not plan.name:
        plan.problem(_("group"), None, "name", _("Give the group a name."))
    try:
        plan.slug = check_wished_slug(plan.slug)
    except ProvisioningError as error:
        plan.problem(_("group"), None, "slug", str(error))
    if default_locale not in LANGUAGES:
        plan.problem(_("group"), None, "default_locale", _("Unknown language."))
    header, rows = _read(plan, "members.csv", members_data, MEMBER_REQUIRED, MEMBER_OPTIONAL,
                         MEMBER_IGNORED)
    if header is not None:
        _members(plan, header, rows)
    if transfers_data is not None:
        t_header, t_rows = _read(plan, "transfers.csv", transfers_data, TRANSFER_REQUIRED,
                                 TRANSFER_OPTIONAL, TRANSFER_IGNORED)
        if t_header is not None:
            _transfers(plan, t_header, t_rows, {m.email for m in plan.members}, None)
    elif header is not None and "balance" not in header:
        plan.problem("members.csv", 1, "balance",
                     _("Give a balance column, or a transfers file with the history."))
    if not plan.members and header is not None:
        plan.problem("members.csv", None, None, _("There are no members in this file."))
    emails = [m.email for m in plan.members]
    existing = set(db.session.scalars(
        sa.select(sa.func.lower(User.email)).where(sa.func.lower(User.email).in_(emails))
    )) if emails else set()
    for member in plan.members:
        member.has_account = member.email in existing
    if plan.coordinator_email not in set(emails) and people.find_user_by_email(
            plan.coordinator_email) is None:
        plan.problem(_("group"), None, "coordinator_email",
                     _("The coordinator must be one of the members, or have an account."))
    unreadable = any(p.file == "transfers.csv" or (p.column == "balance" and p.line)
                     for p in plan.problems)
    if not unreadable:  # sums over half-read figures would only add noise to the report
        _ledger(plan)
    return plan


def import_group(*, plan: ImportPlan, actor: User | None = None):
    """Create the group of a valid ``plan`` with its people, accounts and transfers; return it.

    Everything happens in one savepoint and the new group's ledger is verified before
    returning. Raises :class:`ImportInvalid` (the plan has problems), :class:`ImportFailed`
    (the ledger did not verify), or what :func:`create_group` raises (the address went
    meanwhile, say); in every case nothing is left behind.
    """
    if not plan.is_valid:
        raise ImportInvalid()
    # The ledger tells both sides of every transfer: replaying years of history must not send
    # years of mail, so the notices and jobs recorded while importing are dropped before commit.
    with db.session.begin_nested(), discard_new_jobs():
        users = _users(plan)
        coordinator = users.get(plan.coordinator_email) or people.find_user_by_email(
            plan.coordinator_email)
        group = create_group(
            name=plan.name, slug=plan.slug, default_locale=plan.default_locale,
            coordinator_email=coordinator.email, coordinator_name=coordinator.name,
            timezone=plan.timezone,
            default_min_balance=None,  # history is replayed without limits; set at the end
        )
        with group_context(group.id):
            currency = ledger.default_currency()
            accounts = _memberships(plan, users, group, currency)
            pot = ledger.group_account(currency=currency, locale=plan.default_locale)
            if plan.uses_history:
                for row in plan.transfers:
                    _move(accounts.get(row.payer_email, pot), accounts.get(row.payee_email, pot),
                          row.amount, row.description, row.when)
            else:
                with force_locale(plan.default_locale):
                    with_locale_description = _("Opening balance (import)")
                now = utcnow()
                for member in plan.members:
                    if member.balance:
                        account = accounts[member.email]
                        payer, payee = (pot, account) if member.balance > 0 else (account, pot)
                        _move(payer, payee, abs(member.balance), with_locale_description, now)
            ledger.set_currency_defaults(
                currency=currency, default_min_balance=-plan.credit_limit,
                default_max_balance=None, reason="import",
            )
            notify.discard_notices(group.id)
        db.session.flush()
        problems = verify_ledger(group_id=group.id)
        if problems:
            raise ImportFailed()
        audit.record(actor=actor, action="group.import", target=group, details=plan.summary())
    return group


def _move(payer, payee, amount: int, description: str, when: datetime) -> None:
    ledger.transfer_between(
        payer_account=payer, payee_account=payee, amount=amount, description=description,
        starter=None, kind=TransferKind.ON_BEHALF, occurred_at=when,
    )


def _users(plan: ImportPlan) -> dict[str, User]:
    """Return every member's user by email, creating those without an account."""
    found = {
        user.email.lower(): user for user in db.session.scalars(
            sa.select(User).where(sa.func.lower(User.email).in_([m.email for m in plan.members]))
        )
    }
    for member in plan.members:
        if member.email not in found:
            user = User(email=member.email, name=member.name, password_hash=UNUSABLE_PASSWORD,
                        locale=None)
            db.session.add(user)
            found[member.email] = user
    db.session.flush()
    return found


def _memberships(plan: ImportPlan, users: dict[str, User], group, currency) -> dict:
    """Create each member's membership and account; return ``{email: account}``."""
    existing = {
        m.user_id: m for m in db.session.scalars(sa.select(Membership))
    }  # the coordinator create_group made
    accounts = {}
    for member in plan.members:
        user = users[member.email]
        membership = existing.get(user.id)
        if membership is None:
            membership = Membership(user_id=user.id, group_id=group.id, user=user,
                                    role=member.role, status=MembershipStatus.PENDING,
                                    created_at=member.joined_at or utcnow())
            db.session.add(membership)
            db.session.flush()
            if member.status == MembershipStatus.ACTIVE:
                people.activate(membership=membership)
            else:
                membership.status = member.status
        accounts[member.email] = ledger.open_account(membership=membership, currency=currency)
    db.session.flush()
    return accounts

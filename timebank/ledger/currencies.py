"""A group's currencies: creating, changing, retiring and (while unused) deleting them.

Rules enforced here (issue 4 "Currencies"):

* a code is 1-12 capital letters or digits, unique in the group;
* ``subunits_per_unit`` is one of 60 (minutes of an hour), 4 (quarter units), 100
  (hundredths) or 1 (whole units); the ``time`` display (``1:30``) needs 60 subunits;
* an issued currency floors every holder at zero (its default floor is 0 and cannot go below);
  its issuer account is opened with the currency;
* a new active currency opens an account for every active member;
* kind and subunits cannot change once a currency has transfers, nor its value in network
  hours once it has moved between groups; a currency with transfers can
  be retired (no new transfers, its pending ones cancelled; balances stay) but never deleted;
  the last active currency of a group cannot be retired.
* default limits changes are recorded like an account's (:mod:`.limits`).

Functions take keyword-only arguments, raise :class:`~timebank.ledger.errors.LedgerError`
subclasses, and never commit. Amounts are integers in subunits.
"""

import re
from decimal import Decimal

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger.accounts import issuer_account, open_accounts_for_members
from timebank.ledger.errors import (
    CannotChangeKind,
    CurrencyCodeTaken,
    CurrencyInUse,
    HourValueFixed,
    InvalidCurrency,
    IssuedCurrencyFloor,
    LastActiveCurrency,
)
from timebank.ledger.limits import set_currency_defaults
from timebank.ledger.transfers import cancel_refused
from timebank.models import (
    Account,
    Currency,
    CurrencyKind,
    Entry,
    Membership,
    Transfer,
    TransferState,
)
from timebank.models.ledger import CancelCode

SUBUNIT_CHOICES = (60, 4, 100, 1)
CODE_PATTERN = re.compile(r"^[A-Z0-9]{1,12}$")


def is_used(currency: Currency) -> bool:
    """Whether any transfer (pending, completed or cancelled) was made in ``currency``."""
    return db.session.scalar(
        sa.select(sa.exists().where(Transfer.currency_id == currency.id))
    )


def has_traded(currency: Currency) -> bool:
    """Whether ``currency`` has moved between groups: then its value in network hours is fixed,
    so that the network's clearing accounts keep summing to zero in network hours."""
    return db.session.scalar(
        sa.select(sa.exists().where(
            Entry.account_id == Account.id, Account.currency_id == currency.id,
            Account.is_clearing,
        ))
    )


def _check_fields(
    *, code: str, subunits_per_unit: int, display_format: str, hour_value: Decimal,
    kind: CurrencyKind, default_min_balance: int | None, default_max_balance: int | None,
) -> None:
    if not CODE_PATTERN.match(code):
        raise InvalidCurrency()
    if subunits_per_unit not in SUBUNIT_CHOICES:
        raise InvalidCurrency()
    if display_format not in ("time", "decimal") or (
        display_format == "time" and subunits_per_unit != 60
    ):
        raise InvalidCurrency()
    if hour_value is None or hour_value <= 0:
        raise InvalidCurrency()
    if kind == CurrencyKind.ISSUED and (default_min_balance is None or default_min_balance < 0):
        raise IssuedCurrencyFloor()


def create_currency(
    *,
    code: str,
    name: str,
    symbol: str,
    purpose: str = "",
    kind: CurrencyKind = CurrencyKind.MUTUAL_CREDIT,
    subunits_per_unit: int = 60,
    display_format: str | None = None,
    default_min_balance: int | None = None,
    default_max_balance: int | None = None,
    hour_value: Decimal = Decimal(1),
    created_by: Membership | None = None,
    locale: str | None = None,
) -> Currency:
    """Create an active currency in the current group and open everyone's accounts in it.

    ``display_format`` defaults to ``time`` for 60 subunits, else ``decimal``. An issued
    currency's default floor is 0 when not given, and its issuer account is opened (named in
    ``locale``). Raises :class:`InvalidCurrency`, :class:`IssuedCurrencyFloor`,
    :class:`InvalidLimits` or :class:`CurrencyCodeTaken`.
    """
    code = (code or "").strip().upper()
    display_format = display_format or ("time" if subunits_per_unit == 60 else "decimal")
    if kind == CurrencyKind.ISSUED and default_min_balance is None:
        default_min_balance = 0
    _check_fields(
        code=code, subunits_per_unit=subunits_per_unit, display_format=display_format,
        hour_value=hour_value, kind=kind, default_min_balance=default_min_balance,
        default_max_balance=default_max_balance,
    )
    from timebank.ledger.errors import InvalidLimits

    if (
        default_min_balance is not None and default_max_balance is not None
        and default_min_balance > default_max_balance
    ):
        raise InvalidLimits()
    if db.session.scalar(sa.select(Currency.id).where(Currency.code == code)) is not None:
        raise CurrencyCodeTaken()
    currency = Currency(
        code=code, name=name.strip()[:60], symbol=symbol.strip()[:8], purpose=purpose.strip(),
        kind=kind, subunits_per_unit=subunits_per_unit, display_format=display_format,
        default_min_balance=default_min_balance, default_max_balance=default_max_balance,
        hour_value=hour_value, is_active=True,
    )
    try:
        with db.session.begin_nested():
            db.session.add(currency)
    except sa.exc.IntegrityError as error:  # taken between the check and now
        raise CurrencyCodeTaken() from error
    if kind == CurrencyKind.ISSUED:
        issuer_account(currency=currency, locale=locale)
    open_accounts_for_members(currency=currency)
    return currency


def update_currency(
    *,
    currency: Currency,
    name: str,
    symbol: str,
    purpose: str,
    display_format: str,
    hour_value: Decimal,
    default_min_balance: int | None,
    default_max_balance: int | None,
    subunits_per_unit: int | None = None,
    kind: CurrencyKind | None = None,
    changed_by: Membership | None = None,
) -> Currency:
    """Change a currency's descriptive fields and default limits (recorded).

    ``kind`` and ``subunits_per_unit`` may change only while the currency is unused. Raises
    :class:`CannotChangeKind`, :class:`InvalidCurrency`, :class:`InvalidLimits` or
    :class:`IssuedCurrencyFloor`.
    """
    kind = kind or currency.kind
    subunits = subunits_per_unit or currency.subunits_per_unit
    if (kind, subunits) != (currency.kind, currency.subunits_per_unit) and is_used(currency):
        raise CannotChangeKind()
    if Decimal(hour_value) != Decimal(currency.hour_value) and has_traded(currency):
        raise HourValueFixed()
    _check_fields(
        code=currency.code, subunits_per_unit=subunits, display_format=display_format,
        hour_value=hour_value, kind=kind, default_min_balance=default_min_balance,
        default_max_balance=default_max_balance,
    )
    currency.name = name.strip()[:60]
    currency.symbol = symbol.strip()[:8]
    currency.purpose = purpose.strip()
    currency.hour_value = hour_value
    if kind != currency.kind and kind == CurrencyKind.ISSUED:
        currency.default_min_balance = max(0, currency.default_min_balance or 0)
    currency.kind = kind
    currency.subunits_per_unit = subunits
    currency.display_format = display_format
    set_currency_defaults(
        currency=currency, default_min_balance=default_min_balance,
        default_max_balance=default_max_balance, changed_by=changed_by,
    )
    if kind == CurrencyKind.ISSUED:
        issuer_account(currency=currency)
    db.session.flush()
    return currency


def retire_currency(*, currency: Currency) -> Currency:
    """Retire ``currency``: no new transfers in it; balances and history stay. Its pending
    transfers are cancelled with the reason (``refused_inactive_currency``) and both sides are
    told: a retired currency completes no pending transfer (README "Ledger rules").

    Raises :class:`LastActiveCurrency` if it is the group's only active currency.
    """
    if currency.is_active:
        others = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Currency)
            .where(Currency.is_active, Currency.id != currency.id)
        )
        if not others:
            raise LastActiveCurrency()
    currency.is_active = False
    db.session.flush()
    pending = db.session.scalars(
        sa.select(Transfer)
        .where(Transfer.currency_id == currency.id, Transfer.state == TransferState.PENDING)
        .order_by(Transfer.id)
    ).all()
    for transfer in pending:
        cancel_refused(transfer, code=CancelCode.REFUSED_INACTIVE_CURRENCY)
    return currency


def reactivate_currency(*, currency: Currency) -> Currency:
    """Make a retired currency active again and open any missing member accounts."""
    currency.is_active = True
    db.session.flush()
    open_accounts_for_members(currency=currency)
    return currency


def delete_currency(*, currency: Currency) -> None:
    """Delete a currency no transfer ever used, with its (empty) accounts.

    Raises :class:`CurrencyInUse` once it has transfers (retire it instead) and
    :class:`LastActiveCurrency` for the group's only active currency.
    """
    if is_used(currency):
        raise CurrencyInUse()
    if currency.is_active:
        retire_currency(currency=currency)  # raises LastActiveCurrency when it is the last
    from timebank.models.ledger import LimitChange

    has_entries = db.session.scalar(
        sa.select(sa.exists().where(
            Entry.account_id.in_(sa.select(Account.id).where(Account.currency_id == currency.id))
        ))
    )
    if has_entries:
        raise CurrencyInUse()
    db.session.execute(sa.delete(LimitChange).where(LimitChange.currency_id == currency.id))
    db.session.execute(sa.delete(Account).where(Account.currency_id == currency.id))
    db.session.delete(currency)
    db.session.flush()


def issuance_summary(currency: Currency) -> dict:
    """Return the public figures of an issued currency, in subunits.

    ``issued``: issuances minus their reversals; ``in_circulation``: what holders hold (minus
    the issuer's balance); ``returned``: the difference (paid back to the issuer).
    """
    from timebank.models import TransferKind, TransferState

    issuer = db.session.scalar(
        sa.select(Account).where(Account.currency_id == currency.id, Account.is_issuer)
    )
    reversal = sa.orm.aliased(Transfer)
    issued = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Transfer.amount), 0)).where(
            Transfer.currency_id == currency.id,
            Transfer.kind == TransferKind.ISSUANCE,
            Transfer.state == TransferState.COMPLETED,
            ~sa.exists().where(reversal.reverses_id == Transfer.id),
        )
    )
    in_circulation = -issuer.balance if issuer is not None else 0
    return {
        "issued": int(issued),
        "in_circulation": int(in_circulation),
        "returned": int(issued) - int(in_circulation),
        "issuer": issuer,
    }

"""The double-entry ledger: currencies, accounts, transfers (headers) and entries (lines).

Amounts are integers in subunits of the currency (minutes for an hours currency). The
invariants in DESIGN.md ("Ledger") are enforced by :mod:`timebank.ledger.service` and checked
by :mod:`timebank.ledger.verify`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import TenantMixin, created_at_column, tenant_fk
from timebank.models.membership import Membership


def _enum(enum_cls, name):
    return sa.Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e])


class CurrencyKind(enum.StrEnum):
    MUTUAL_CREDIT = "mutual_credit"
    ISSUED = "issued"


class Currency(TenantMixin, db.Model):
    """A unit a group trades in, counted in integer subunits (60 per hour = minutes)."""

    __tablename__ = "currencies"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        sa.UniqueConstraint("group_id", "code"),
        sa.CheckConstraint("subunits_per_unit > 0", name="subunits_positive"),
        sa.CheckConstraint("code ~ '^[A-Z0-9]{1,12}$'", name="code_format"),
        sa.CheckConstraint(
            "display_format IN ('time', 'decimal')"
            " AND (display_format <> 'time' OR subunits_per_unit = 60)",
            name="display_format_valid",
        ),
        sa.CheckConstraint("hour_value > 0", name="hour_value_positive"),
        sa.CheckConstraint(
            "default_min_balance IS NULL OR default_max_balance IS NULL"
            " OR default_min_balance <= default_max_balance",
            name="default_limits_ordered",
        ),
        # An issued currency floors every holder at zero (the issuer is exempt per account).
        sa.CheckConstraint(
            "kind <> 'issued' OR (default_min_balance IS NOT NULL AND default_min_balance >= 0)",
            name="issued_floor_at_zero",
        ),
        sa.CheckConstraint("fee_amount IS NULL OR fee_amount > 0", name="fee_amount_positive"),
        sa.CheckConstraint("fee_interval IN ('month', 'year')", name="fee_interval_known"),
        sa.CheckConstraint("fee_policy IN ('skip', 'partial')", name="fee_policy_known"),
        sa.CheckConstraint("demurrage_rate IS NULL OR demurrage_rate BETWEEN 1 AND 10000",
                           name="demurrage_rate_range"),
        sa.CheckConstraint("demurrage_threshold >= 0", name="demurrage_threshold_positive"),
        # The levy on transfers (timebank/ledger/levies.py): a percentage in basis points
        # (100 = 1 %) plus a fixed amount, raised to a floor and cut to a cap, in subunits.
        sa.CheckConstraint(
            "levy_basis_points BETWEEN 0 AND 10000 AND levy_fixed >= 0"
            " AND coalesce(levy_minimum, 0) >= 0"
            " AND (levy_maximum IS NULL OR levy_maximum >= coalesce(levy_minimum, 0))"
            " AND levy_charged_to IN ('payer', 'payee', 'both')",
            name="levy_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[str] = mapped_column(sa.String(60))
    symbol: Mapped[str] = mapped_column(sa.String(8), default="h")
    purpose: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    kind: Mapped[CurrencyKind] = mapped_column(
        _enum(CurrencyKind, "currency_kind"), default=CurrencyKind.MUTUAL_CREDIT
    )
    subunits_per_unit: Mapped[int] = mapped_column(default=60)
    # "time" shows 1:30 (only with 60 subunits); "decimal" shows 1.50.
    display_format: Mapped[str] = mapped_column(
        sa.String(16), default="time", server_default="time"
    )
    # Defaults for new accounts, in subunits; null means unbounded on that side.
    default_min_balance: Mapped[int | None] = mapped_column(sa.BigInteger, default=-20 * 60)
    default_max_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    # What one unit is worth in network hours (for trade between groups); exact decimal.
    hour_value: Mapped[Decimal] = mapped_column(
        sa.Numeric(12, 4), default=Decimal(1), server_default="1"
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()
    # Scheduled charges (timebank.schedules), set by a treasurer. The membership fee: each
    # active member pays ``fee_amount`` subunits to the community pot every ``fee_interval``
    # ("month" or "year") from ``fee_starts_on``; null amount = no fee. ``fee_policy`` says
    # what happens to a member who cannot pay it all: "skip" (nothing taken, they are told)
    # or "partial" (what their credit limit still allows is taken).
    fee_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    fee_interval: Mapped[str] = mapped_column(sa.String(8), default="month",
                                              server_default="month")
    fee_policy: Mapped[str] = mapped_column(sa.String(8), default="skip", server_default="skip")
    fee_starts_on: Mapped[date | None] = mapped_column(sa.Date)
    # Demurrage: each month from ``demurrage_starts_on``, a balance above
    # ``demurrage_threshold`` (subunits) loses ``demurrage_rate`` basis points (1/100 of a
    # percent) of the part above it to the community pot; null rate = no demurrage.
    demurrage_rate: Mapped[int | None] = mapped_column(sa.Integer)
    demurrage_threshold: Mapped[int] = mapped_column(sa.BigInteger, default=0,
                                                     server_default="0")
    demurrage_starts_on: Mapped[date | None] = mapped_column(sa.Date)
    # The levy on each completed transfer between members, paid to the community pot
    # (timebank/ledger/sql/ledger_levy.sql): basis points of the amount (rounded down), plus
    # a fixed amount, at least levy_minimum and at most levy_maximum (subunits; null = none),
    # paid by the payer, the payee or each of them.
    levy_basis_points: Mapped[int] = mapped_column(default=0, server_default="0")
    levy_fixed: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    levy_minimum: Mapped[int | None] = mapped_column(sa.BigInteger)
    levy_maximum: Mapped[int | None] = mapped_column(sa.BigInteger)
    levy_charged_to: Mapped[str] = mapped_column(
        sa.String(8), default="payer", server_default="payer"
    )

    @property
    def has_levy(self) -> bool:
        """Whether transfers in this currency pay a levy (some amount may still pay none)."""
        return bool(self.levy_basis_points or self.levy_fixed or self.levy_minimum)

    @property
    def is_time(self) -> bool:
        """Whether amounts read as hours and minutes (``1:30``)."""
        return self.subunits_per_unit == 60 and self.display_format == "time"

    @property
    def is_issued(self) -> bool:
        return self.kind == CurrencyKind.ISSUED


class AccountKind(enum.StrEnum):
    MEMBER = "member"
    GROUP = "group"  # the community pot or an issuer account


class Account(TenantMixin, db.Model):
    """Holds a balance in one currency for a membership or for the group itself.

    ``min_balance`` is the credit limit (how far below zero), ``max_balance`` the ceiling;
    null means "use the currency's default". ``balance`` is a cache of the sum of entries,
    written only under a row lock by the ledger service.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        sa.UniqueConstraint("group_id", "currency_id", "membership_id"),
        # Target of the transfers' keys: a transfer's currency is both its accounts' currency.
        sa.UniqueConstraint("group_id", "currency_id", "id"),
        tenant_fk("currency_id", "currencies"),
        tenant_fk("membership_id", "memberships", ondelete="CASCADE"),
        sa.CheckConstraint(
            "(kind = 'member') = (membership_id IS NOT NULL)", name="owner_matches_kind"
        ),
        sa.CheckConstraint(
            "min_balance IS NULL OR max_balance IS NULL OR min_balance <= max_balance",
            name="limits_ordered",
        ),
        sa.CheckConstraint("NOT is_issuer OR kind = 'group'", name="issuer_is_group_account"),
        sa.CheckConstraint("NOT (is_clearing AND (is_issuer OR kind <> 'group'))",
                           name="clearing_is_group_account"),
        sa.Index("uq_accounts_clearing", "group_id", "currency_id", unique=True,
                 postgresql_where=sa.text("is_clearing")),
        # One issuer account per currency.
        sa.Index(
            "uq_accounts_issuer_currency_id", "currency_id", unique=True,
            postgresql_where=sa.text("is_issuer"),
        ),
        # Every transfer rewrites two balances: room on the page keeps those updates HOT
        # (no new index entries).
        {"postgresql_with": {"fillfactor": 80}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency_id: Mapped[int] = mapped_column(index=True)
    membership_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[AccountKind] = mapped_column(
        _enum(AccountKind, "account_kind"), default=AccountKind.MEMBER
    )
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    min_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    max_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    balance: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # The account an issued currency is issued from: may go negative by what it issued.
    is_issuer: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The group's account with the rest of the network in this currency (timebank.trading):
    # positive = what the group owes other groups, negative = what it is owed.
    is_clearing: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = created_at_column()

    currency: Mapped[Currency] = relationship(
        primaryjoin="Account.currency_id == Currency.id",
        foreign_keys="Account.currency_id"
    )
    membership: Mapped[Membership | None] = relationship(
        primaryjoin="Account.membership_id == Membership.id",
        foreign_keys="Account.membership_id"
    )

    @property
    def display_name(self) -> str:
        if self.membership is not None:
            return self.membership.user.name
        return self.name


# The limits in force, computed by the ledger's own SQL rules (timebank/ledger/sql/
# ledger_floor.sql, ledger_ceiling.sql), so the pages show exactly what the ledger enforces.
# Deferred: loaded when first read (a profile, the limits page), in subunits, None = no limit.
Account.effective_min_balance = column_property(
    sa.select(sa.func.ledger_floor(Account.is_issuer, Currency.kind, Account.min_balance,
                                   Currency.default_min_balance))
    .where(Currency.group_id == Account.group_id, Currency.id == Account.currency_id)
    .correlate_except(Currency)
    .scalar_subquery(),
    deferred=True,
)
Account.effective_max_balance = column_property(
    sa.select(sa.func.ledger_ceiling(Account.max_balance, Currency.default_max_balance))
    .where(Currency.group_id == Account.group_id, Currency.id == Account.currency_id)
    .correlate_except(Currency)
    .scalar_subquery(),
    deferred=True,
)


class TransferState(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TransferKind(enum.StrEnum):
    PAYMENT = "payment"
    REQUEST = "request"
    ON_BEHALF = "on_behalf"
    BULK = "bulk"
    REVERSAL = "reversal"
    ISSUANCE = "issuance"
    # Scheduled (timebank.schedules): a standing order's run, a membership fee, demurrage.
    STANDING_ORDER = "standing_order"
    FEE = "fee"
    DEMURRAGE = "demurrage"
    LEVY = "levy"  # a transfer's levy to the community pot (levied_on_id: that transfer)


class CancelCode(enum.StrEnum):
    """Why a transfer ended cancelled (shown translated; the person's note is separate)."""

    WITHDRAWN = "withdrawn"  # by its starter
    DECLINED = "declined"  # by the other side
    REFUSED_CREDIT_LIMIT = "refused_credit_limit"  # on acceptance, the payer's limit refused
    REFUSED_CEILING = "refused_ceiling"  # on acceptance, the payee's ceiling refused
    REFUSED_INACTIVE_CURRENCY = "refused_inactive_currency"  # its currency was retired
    REFUSED_LEVY_CREDIT_LIMIT = "refused_levy_credit_limit"  # the payee could not pay its levy


class Transfer(TenantMixin, db.Model):
    """The header of one movement of value from a payer account to a payee account.

    ``amount`` is positive, in subunits. A completed transfer has exactly the entries that
    move it; pending and cancelled transfers have none. Completed transfers are never edited:
    corrections are reversals (``reverses_id``).
    """

    __tablename__ = "transfers"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        # Both accounts hold the transfer's currency; their keys prove the currency, so there
        # is no key to ``currencies``, whose one row every concurrent transfer would lock.
        tenant_fk("payer_account_id", "accounts", also="currency_id"),
        tenant_fk("payee_account_id", "accounts", also="currency_id"),
        tenant_fk("starter_id", "memberships"),
        tenant_fk("completer_id", "memberships"),
        tenant_fk("cancelled_by_id", "memberships"),
        tenant_fk("reverses_id", "transfers"),
        tenant_fk("levied_on_id", "transfers"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("payer_account_id <> payee_account_id", name="distinct_accounts"),
        sa.CheckConstraint(
            "(state = 'completed') = (completed_at IS NOT NULL)", name="completed_at_matches"
        ),
        sa.CheckConstraint(
            "(state = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_at_matches"
        ),
        sa.CheckConstraint(
            "cancel_reason IS NULL OR state = 'cancelled'", name="cancel_reason_when_cancelled"
        ),
        sa.CheckConstraint(
            "(state = 'cancelled') = (cancel_code IS NOT NULL)", name="cancel_code_matches"
        ),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_links_original"
        ),
        sa.CheckConstraint("reverses_id IS NULL OR reverses_id <> id", name="not_self_reversal"),
        sa.CheckConstraint(
            "(kind = 'levy') = (levied_on_id IS NOT NULL)"
            " AND (kind <> 'levy' OR state = 'completed')",
            name="levy_links_transfer",
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating BETWEEN 1 AND 10 AND state = 'completed')",
            name="rating_range",
        ),
        sa.CheckConstraint(
            "kind NOT IN ('reversal', 'on_behalf', 'bulk', 'issuance') OR state <> 'pending'",
            name="only_payments_and_requests_wait",
        ),
        sa.Index("ix_transfers_group_id_created_at", "group_id", "created_at"),
        # Reports and the coordinator's month figures count trades by when they completed:
        # they read that range, not the whole history.
        sa.Index("ix_transfers_group_id_completed_at", "group_id", "completed_at"),
        # An issued currency's public page sums and lists its issuances: few rows among many.
        sa.Index(
            "ix_transfers_issuance", "group_id", "currency_id", "completed_at",
            postgresql_where=sa.text("kind = 'issuance' AND state = 'completed'"),
        ),
        # Most transfers have no key and no batch: their rows stay out of these two indexes.
        sa.Index(
            "uq_transfers_group_id_idempotency_key", "group_id", "idempotency_key", unique=True,
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        ),
        sa.Index(
            "ix_transfers_batch_key", "batch_key",
            postgresql_where=sa.text("batch_key IS NOT NULL"),
        ),
        # A transfer is reversed at most once.
        sa.Index(
            "uq_transfers_reverses_id", "reverses_id", unique=True,
            postgresql_where=sa.text("reverses_id IS NOT NULL"),
        ),
        sa.Index(
            "ix_transfers_levied_on_id", "levied_on_id",
            postgresql_where=sa.text("levied_on_id IS NOT NULL"),
        ),
        # Pending items are read on every dashboard and every limit check.
        sa.Index(
            "ix_transfers_pending_payer", "payer_account_id",
            postgresql_where=sa.text("state = 'pending'"),
        ),
        sa.Index(
            "ix_transfers_pending_payee", "payee_account_id",
            postgresql_where=sa.text("state = 'pending'"),
        ),
        # A member's average rating reads only rated transfers, however long the history.
        sa.Index(
            "ix_transfers_rated_payee", "payee_account_id",
            postgresql_where=sa.text("rating IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency_id: Mapped[int]
    payer_account_id: Mapped[int] = mapped_column(index=True)
    payee_account_id: Mapped[int] = mapped_column(index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str] = mapped_column(sa.String(500))
    state: Mapped[TransferState] = mapped_column(
        _enum(TransferState, "transfer_state"), default=TransferState.PENDING
    )
    kind: Mapped[TransferKind] = mapped_column(
        _enum(TransferKind, "transfer_kind"), default=TransferKind.PAYMENT
    )
    starter_id: Mapped[int | None]
    completer_id: Mapped[int | None]
    reverses_id: Mapped[int | None]
    # A levy (kind 'levy') names the transfer it was charged on.
    levied_on_id: Mapped[int | None]
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    # The legs of one bulk entry share a key (all written in one database transaction).
    batch_key: Mapped[str | None] = mapped_column(sa.String(64))
    # Why a transfer was cancelled: a CancelCode value, and the person's own words if any.
    cancel_code: Mapped[str | None] = mapped_column(sa.String(32))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    cancelled_by_id: Mapped[int | None]
    # The payer's rating of the work, 1..group.rating_scale, set once after completion.
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    currency: Mapped[Currency] = relationship(
        primaryjoin="Transfer.currency_id == Currency.id",
        foreign_keys="Transfer.currency_id"
    )
    payer_account: Mapped[Account] = relationship(
        primaryjoin="Transfer.payer_account_id == Account.id",
        foreign_keys="Transfer.payer_account_id"
    )
    payee_account: Mapped[Account] = relationship(
        primaryjoin="Transfer.payee_account_id == Account.id",
        foreign_keys="Transfer.payee_account_id"
    )
    starter: Mapped[Membership | None] = relationship(
        primaryjoin="Transfer.starter_id == Membership.id",
        foreign_keys="Transfer.starter_id"
    )
    completer: Mapped[Membership | None] = relationship(
        primaryjoin="Transfer.completer_id == Membership.id",
        foreign_keys="Transfer.completer_id"
    )
    cancelled_by: Mapped[Membership | None] = relationship(
        primaryjoin="Transfer.cancelled_by_id == Membership.id",
        foreign_keys="Transfer.cancelled_by_id"
    )
    entries: Mapped[list[Entry]] = relationship(
        primaryjoin="Transfer.id == Entry.transfer_id",
        foreign_keys="Entry.transfer_id",
        viewonly=True,
    )
    reverses: Mapped[Transfer | None] = relationship(
        primaryjoin="Transfer.reverses_id == Transfer.id",
        foreign_keys="Transfer.reverses_id",
        remote_side="Transfer.id",
        viewonly=True,
    )
    reversed_by: Mapped[Transfer | None] = relationship(
        primaryjoin="Transfer.id == Transfer.reverses_id",
        foreign_keys="Transfer.reverses_id",
        viewonly=True,
        uselist=False,
    )
    levied_on: Mapped[Transfer | None] = relationship(
        primaryjoin="Transfer.levied_on_id == Transfer.id",
        foreign_keys="Transfer.levied_on_id",
        remote_side="Transfer.id",
        viewonly=True,
    )
    levies: Mapped[list[Transfer]] = relationship(
        primaryjoin="Transfer.id == Transfer.levied_on_id",
        foreign_keys="Transfer.levied_on_id",
        order_by="Transfer.id",
        viewonly=True,
    )

    @property
    def is_pending(self) -> bool:
        return self.state == TransferState.PENDING

    @property
    def is_completed(self) -> bool:
        return self.state == TransferState.COMPLETED

    @property
    def waits_for_payer(self) -> bool:
        """Whether the payer is the side that must accept (a request / invoice)."""
        return self.kind == TransferKind.REQUEST


class Entry(TenantMixin, db.Model):
    """One ledger line: a signed amount (subunits) on one account, for one transfer.

    A completed transfer has exactly two entries, its legs: ``-amount`` on the payer's account
    and ``+amount`` on the payee's; other transfers have none. The database enforces it (the
    triggers ``ledger_entries_are_legs`` and ``ledger_transfers_balanced`` and the unique index
    below, migration ``da1b2c3d4e5f``), so every transfer's entries sum to zero.
    """

    __tablename__ = "entries"
    __table_args__ = (
        tenant_fk("transfer_id", "transfers"),
        tenant_fk("account_id", "accounts"),
        sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
        sa.Index("ix_entries_account_id_id", "account_id", "id"),
        sa.Index("ix_entries_account_id_created_at", "account_id", "created_at"),
        # At most one debit and one credit leg per transfer.
        sa.Index("uq_entries_transfer_id_credit", "transfer_id", sa.text("(amount > 0)"),
                 unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int]
    account_id: Mapped[int]
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    # The account's balance after this entry (subunits), written with it by ledger_write_legs:
    # statements and the balance chart read it instead of re-summing the history.
    balance_after: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = created_at_column()

    transfer: Mapped[Transfer] = relationship(
        primaryjoin="Entry.transfer_id == Transfer.id",
        foreign_keys="Entry.transfer_id"
    )
    account: Mapped[Account] = relationship(
        primaryjoin="Entry.account_id == Account.id",
        foreign_keys="Entry.account_id"
    )


class AccountMonth(TenantMixin, db.Model):
    """One account's totals for one calendar month, kept by the ledger with its entries.

    ``month`` is the first day of the month in the group's time zone; ``incoming`` and
    ``outgoing`` are the sums of the account's positive and (negated) negative entries in it,
    both positive, in subunits; ``entry_count`` counts them. ``ledger_write_legs`` adds each
    entry to its month in the same statement that writes it; a change of the group's time zone
    rebuilds the group's rows (``ledger_rebuild_months``). The statement's "Month by month"
    reads at most a year of these rows instead of the entries; ``flask ledger verify`` checks
    they equal the entries' sums.
    """

    __tablename__ = "account_months"
    __table_args__ = (
        tenant_fk("account_id", "accounts"),
        sa.CheckConstraint("incoming >= 0 AND outgoing >= 0 AND entry_count > 0",
                           name="totals_positive"),
        # Rewritten by every transfer: room on the page keeps those updates HOT.
        {"postgresql_with": {"fillfactor": 80}},
    )

    # The key leads with group_id (so it stays a key when tables are distributed by group, and
    # it is the group_id index); a statement reads one account's latest months from it.
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    incoming: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    outgoing: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    entry_count: Mapped[int] = mapped_column(default=0)


class LimitChange(TenantMixin, db.Model):
    """One recorded change of limits: who, when, old -> new (amounts in subunits).

    ``account_id`` set: that account's ``min_balance`` / ``max_balance`` changed (null values
    mean "the currency's default"). ``account_id`` null: the currency's defaults changed.
    ``flask ledger verify`` uses these rows to tell a balance left outside a lowered limit
    (allowed) from a transfer that broke a limit (never allowed).
    """

    __tablename__ = "limit_changes"
    __table_args__ = (
        tenant_fk("currency_id", "currencies"),
        tenant_fk("account_id", "accounts"),
        tenant_fk("changed_by_id", "memberships"),
        sa.CheckConstraint(
            "new_min_balance IS NULL OR new_max_balance IS NULL"
            " OR new_min_balance <= new_max_balance",
            name="new_limits_ordered",
        ),
        sa.Index("ix_limit_changes_account_id_created_at", "account_id", "created_at"),
        sa.Index("ix_limit_changes_currency_id_created_at", "currency_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency_id: Mapped[int]
    account_id: Mapped[int | None]
    changed_by_id: Mapped[int | None]
    old_min_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    old_max_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    new_min_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    new_max_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = created_at_column()

    currency: Mapped[Currency] = relationship(
        primaryjoin="LimitChange.currency_id == Currency.id",
        foreign_keys="LimitChange.currency_id",
    )
    account: Mapped[Account | None] = relationship(
        primaryjoin="LimitChange.account_id == Account.id",
        foreign_keys="LimitChange.account_id",
    )
    changed_by: Mapped[Membership | None] = relationship(
        primaryjoin="LimitChange.changed_by_id == Membership.id",
        foreign_keys="LimitChange.changed_by_id",
    )


class TransferNotice(TenantMixin, db.Model):
    """A transfer event whose emails are still to be sent (a transactional outbox).

    Written in the same transaction as the event itself, so a committed transfer is always
    announced and a rolled-back one never is; the delivery job
    (:func:`timebank.ledger.notify.deliver_notices`) sends the mail and deletes the row.
    ``event`` is one of the names in :mod:`timebank.ledger.notify` (``completed``, ...).
    """

    __tablename__ = "transfer_notices"
    __table_args__ = (tenant_fk("transfer_id", "transfers", ondelete="CASCADE"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    transfer_id: Mapped[int]
    event: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = created_at_column()

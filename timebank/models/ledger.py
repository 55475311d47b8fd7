"""The double-entry ledger: currencies, accounts, transfers (headers) and entries (lines).

Amounts are integers in subunits of the currency (minutes for an hours currency). The
invariants in DESIGN.md ("Ledger") are enforced by :mod:`timebank.ledger.service` and checked
by :mod:`timebank.ledger.verify`.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[str] = mapped_column(sa.String(60))
    symbol: Mapped[str] = mapped_column(sa.String(8), default="h")
    kind: Mapped[CurrencyKind] = mapped_column(
        _enum(CurrencyKind, "currency_kind"), default=CurrencyKind.MUTUAL_CREDIT
    )
    subunits_per_unit: Mapped[int] = mapped_column(default=60)
    # Defaults for new accounts, in subunits; null means unbounded on that side.
    default_min_balance: Mapped[int | None] = mapped_column(sa.BigInteger, default=-20 * 60)
    default_max_balance: Mapped[int | None] = mapped_column(sa.BigInteger)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()

    @property
    def is_time(self) -> bool:
        """Whether amounts read as hours and minutes (``1:30``)."""
        return self.subunits_per_unit == 60


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
        tenant_fk("currency_id", "currencies"),
        tenant_fk("membership_id", "memberships", ondelete="CASCADE"),
        sa.CheckConstraint(
            "(kind = 'member') = (membership_id IS NOT NULL)", name="owner_matches_kind"
        ),
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
    def effective_min_balance(self) -> int | None:
        """The credit limit in force, in subunits (null = no floor)."""
        if self.min_balance is not None:
            return self.min_balance
        return self.currency.default_min_balance

    @property
    def effective_max_balance(self) -> int | None:
        """The ceiling in force, in subunits (null = no ceiling)."""
        if self.max_balance is not None:
            return self.max_balance
        return self.currency.default_max_balance

    @property
    def can_still_spend(self) -> int | None:
        """How much more this account may pay out, in subunits (None = unlimited)."""
        floor = self.effective_min_balance
        return None if floor is None else max(0, self.balance - floor)

    @property
    def display_name(self) -> str:
        if self.membership is not None:
            return self.membership.user.name
        return self.name


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


class Transfer(TenantMixin, db.Model):
    """The header of one movement of value from a payer account to a payee account.

    ``amount`` is positive, in subunits. A completed transfer has exactly the entries that
    move it; pending and cancelled transfers have none. Completed transfers are never edited:
    corrections are reversals (``reverses_id``).
    """

    __tablename__ = "transfers"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        sa.UniqueConstraint("group_id", "idempotency_key"),
        tenant_fk("currency_id", "currencies"),
        tenant_fk("payer_account_id", "accounts"),
        tenant_fk("payee_account_id", "accounts"),
        tenant_fk("starter_id", "memberships"),
        tenant_fk("completer_id", "memberships"),
        tenant_fk("reverses_id", "transfers"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("payer_account_id <> payee_account_id", name="distinct_accounts"),
        sa.Index("ix_transfers_group_id_created_at", "group_id", "created_at"),
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
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
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
    entries: Mapped[list[Entry]] = relationship(
        primaryjoin="Transfer.id == Entry.transfer_id",
        foreign_keys="Entry.transfer_id",
        viewonly=True,
    )


class Entry(TenantMixin, db.Model):
    """One ledger line: a signed amount (subunits) on one account, for one transfer."""

    __tablename__ = "entries"
    __table_args__ = (
        tenant_fk("transfer_id", "transfers"),
        tenant_fk("account_id", "accounts"),
        sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
        sa.Index("ix_entries_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int]
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = created_at_column()

    transfer: Mapped[Transfer] = relationship(
        primaryjoin="Entry.transfer_id == Transfer.id",
        foreign_keys="Entry.transfer_id"
    )
    account: Mapped[Account] = relationship(
        primaryjoin="Entry.account_id == Account.id",
        foreign_keys="Entry.account_id"
    )

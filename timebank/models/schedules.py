"""Money that moves by itself (timebank.schedules): standing orders and the record of every
scheduled run (a standing order's period, a membership fee, demurrage). Amounts in subunits."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import TenantMixin, created_at_column, tenant_fk
from timebank.models.ledger import Account, Currency
from timebank.models.membership import Membership

# Why the job ended an order (kept in ``last_refusal``): its payer or its payee left the group.
PARTY_LEFT = ("payer_left", "payee_left")


class StandingOrder(TenantMixin, db.Model):
    """A payer pays ``amount`` subunits to a payee every week, month or year.

    Due dates are counted from ``starts_on`` (:func:`timebank.schedules.periods.due_date`);
    ``next_index`` / ``next_due_on`` name the next one not yet run. It runs while
    ``cancelled_at`` is null and ``next_due_on`` is on or before ``ends_on`` (null: no end).
    The last refusal (a code of :data:`timebank.schedules.jobs.REFUSALS`, with the due date it
    refused) stays on the order; each run is a :class:`ScheduledRun`.

    An order whose payer or payee left the group is ended by the job, not refused every
    period: ``cancelled_at`` is set with no ``cancelled_by_id`` (the system), and
    ``last_refusal`` / ``last_refused_on`` say why and on which due date
    (:data:`PARTY_LEFT`; :attr:`ended_because`).
    """

    __tablename__ = "standing_orders"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        tenant_fk("payer_account_id", "accounts", also="currency_id"),
        tenant_fk("payee_account_id", "accounts", also="currency_id"),
        tenant_fk("payer_membership_id", "memberships"),
        tenant_fk("payee_membership_id", "memberships"),
        tenant_fk("created_by_id", "memberships"),
        tenant_fk("cancelled_by_id", "memberships"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("payer_account_id <> payee_account_id", name="distinct_accounts"),
        sa.CheckConstraint("interval IN ('week', 'month', 'year')", name="interval_known"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        sa.Index("ix_standing_orders_due", "next_due_on",
                 postgresql_where=sa.text("cancelled_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency_id: Mapped[int]
    payer_account_id: Mapped[int] = mapped_column(index=True)
    payee_account_id: Mapped[int] = mapped_column(index=True)
    payer_membership_id: Mapped[int] = mapped_column(index=True)
    payee_membership_id: Mapped[int] = mapped_column(index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str] = mapped_column(sa.String(500))
    interval: Mapped[str] = mapped_column(sa.String(8))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    next_index: Mapped[int] = mapped_column(default=0)
    next_due_on: Mapped[date] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
    cancelled_by_id: Mapped[int | None]
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_refusal: Mapped[str | None] = mapped_column(sa.String(32))
    last_refused_on: Mapped[date | None] = mapped_column(sa.Date)

    currency: Mapped[Currency] = relationship(
        primaryjoin="StandingOrder.currency_id == Currency.id",
        foreign_keys="StandingOrder.currency_id")
    payer: Mapped[Membership] = relationship(
        primaryjoin="StandingOrder.payer_membership_id == Membership.id",
        foreign_keys="StandingOrder.payer_membership_id")
    payee: Mapped[Membership] = relationship(
        primaryjoin="StandingOrder.payee_membership_id == Membership.id",
        foreign_keys="StandingOrder.payee_membership_id")
    created_by: Mapped[Membership | None] = relationship(
        primaryjoin="StandingOrder.created_by_id == Membership.id",
        foreign_keys="StandingOrder.created_by_id")

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def ended_because(self) -> str | None:
        """``payer_left`` or ``payee_left`` when the job ended the order for that; else None."""
        if self.is_cancelled and self.cancelled_by_id is None and self.last_refusal in PARTY_LEFT:
            return self.last_refusal
        return None

    @property
    def has_ended(self) -> bool:
        """Whether every due date up to its end date has run."""
        return self.ends_on is not None and self.next_due_on > self.ends_on

    @property
    def is_running(self) -> bool:
        return not self.is_cancelled and not self.has_ended


class ScheduledRun(TenantMixin, db.Model):
    """One scheduled run for one period, written in the same transaction as its transfer.

    ``run_key`` is unique in the group and is also the transfer's idempotency key:
    ``standing_order:<order id>:<due date>``, ``fee:<account id>:<period>``,
    ``demurrage:<account id>:<period>``, and for the end of a whole fee or demurrage period
    of a currency ``fee:currency<id>:<period>`` (no account). Its insertion is what makes a
    period run exactly once, however often or concurrently the job runs. ``outcome``:
    ``paid`` (``amount`` moved), ``partial`` (a fee, less than due), ``refused`` (nothing
    moved; ``refusal`` says why) or ``done`` (a period's end marker).
    """

    __tablename__ = "scheduled_runs"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "run_key"),
        tenant_fk("standing_order_id", "standing_orders", ondelete="CASCADE"),
        tenant_fk("account_id", "accounts"),
        tenant_fk("transfer_id", "transfers"),
        sa.CheckConstraint("kind IN ('standing_order', 'fee', 'demurrage')", name="kind_known"),
        sa.CheckConstraint("outcome IN ('paid', 'partial', 'refused', 'done')",
                           name="outcome_known"),
        sa.CheckConstraint("(outcome IN ('paid', 'partial')) = (transfer_id IS NOT NULL)",
                           name="paid_has_transfer"),
        sa.Index("ix_scheduled_runs_standing_order_id", "standing_order_id",
                 postgresql_where=sa.text("standing_order_id IS NOT NULL")),
        sa.Index("ix_scheduled_runs_account_id", "account_id",
                 postgresql_where=sa.text("account_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    run_key: Mapped[str] = mapped_column(sa.String(64))
    period: Mapped[str] = mapped_column(sa.String(10))
    currency_id: Mapped[int]
    standing_order_id: Mapped[int | None]
    account_id: Mapped[int | None]
    amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    outcome: Mapped[str] = mapped_column(sa.String(8))
    refusal: Mapped[str | None] = mapped_column(sa.String(32))
    transfer_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()

    account: Mapped[Account | None] = relationship(
        primaryjoin="ScheduledRun.account_id == Account.id",
        foreign_keys="ScheduledRun.account_id")

"""Trade between groups: the partners a group chose, and the payments that cross groups.

Network-level tables (not tenant-owned): each row names the groups it joins. A payment from a
member of group A to a member of group B is two transfers, one in each group's ledger (payer ->
A's clearing account, B's clearing account -> payee), linked by one
:class:`IntergroupPayment`. Amounts of value between groups are in *network seconds*
(1 network hour = 3,600), exact: every currency's subunit (60, 4, 100 or 1 per unit) is a whole
number of them times its ``hour_value``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from timebank.extensions import db
from timebank.models.base import created_at_column


class TradingPartner(db.Model):
    """``group_id`` trades with ``partner_id`` (one direction: each side chooses its own)."""

    __tablename__ = "trading_partners"
    __table_args__ = (
        sa.CheckConstraint("group_id <> partner_id", name="not_self"),
    )

    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class IntergroupPayment(db.Model):
    """One payment between members of two groups: its two linked transfers.

    ``rounding`` is the value, in network seconds, that the conversion did not pass on (the
    payee's amount is rounded down to a whole subunit, never up: no value is created); a
    reversal carries minus its original's. ``flask ledger verify`` checks that the clearing
    accounts' balances, in network seconds, sum to the sum of ``rounding`` over the network.
    """

    __tablename__ = "intergroup_payments"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["payer_group_id", "payer_transfer_id"], ["transfers.group_id", "transfers.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payee_group_id", "payee_transfer_id"], ["transfers.group_id", "transfers.id"],
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("payer_group_id <> payee_group_id", name="two_groups"),
        sa.UniqueConstraint("payer_transfer_id", name="uq_intergroup_payments_payer_transfer"),
        sa.UniqueConstraint("payee_transfer_id", name="uq_intergroup_payments_payee_transfer"),
        sa.Index("uq_intergroup_payments_reverses_id", "reverses_id", unique=True,
                 postgresql_where=sa.text("reverses_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payer_group_id: Mapped[int] = mapped_column(index=True)
    payer_transfer_id: Mapped[int]
    payee_group_id: Mapped[int] = mapped_column(index=True)
    payee_transfer_id: Mapped[int]
    rounding: Mapped[Decimal] = mapped_column(sa.Numeric(30, 4), default=Decimal(0))
    reverses_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("intergroup_payments.id")
    )
    created_at: Mapped[datetime] = created_at_column()

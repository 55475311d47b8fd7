"""Messages between members of two groups, written from the network marketplace (issue 18).

The model, and why it is the simplest sound one:

* A :class:`NetworkConversation` is keyed by **both memberships** (one per pair,
  ``low_id < high_id``, like a group's own :class:`~timebank.models.Conversation`), and each
  side carries its group: ``(low_group_id, low_id)`` and ``(high_group_id, high_id)`` are
  composite foreign keys to ``memberships(group_id, id)``, so a row cannot name a member under
  the wrong group. The two groups always differ (two members of one group use their group's
  own messages).
* It is a **network-level** table, like ``trading_partners`` and ``intergroup_payments``: no
  group owns it, so tenant scoping does not apply and every read goes through
  :mod:`timebank.marketplace.network.messaging`, which filters by the reader's own memberships.
  Neither group's tenant tables gain rows pointing across groups.
* A :class:`NetworkMessage` belongs to one conversation, from one participant to the other;
  ``read_at`` is null until the recipient opens it.

Members are shown by name and group only; no email address is ever part of a conversation.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import created_at_column
from timebank.models.membership import Membership


class NetworkConversation(db.Model):
    """A private thread between two members of two different groups (one per pair)."""

    __tablename__ = "network_conversations"
    __table_args__ = (
        sa.UniqueConstraint("low_id", "high_id"),
        sa.ForeignKeyConstraint(["low_group_id", "low_id"],
                                ["memberships.group_id", "memberships.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["high_group_id", "high_id"],
                                ["memberships.group_id", "memberships.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ad_group_id", "ad_id"], ["ads.group_id", "ads.id"],
                                ondelete="SET NULL"),
        sa.CheckConstraint("low_id < high_id", name="ordered_pair"),
        sa.CheckConstraint("low_group_id <> high_group_id", name="two_groups"),
        sa.CheckConstraint("(ad_id IS NULL) = (ad_group_id IS NULL)", name="ad_complete"),
        sa.Index("ix_network_conversations_high_id", "high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    low_group_id: Mapped[int]
    low_id: Mapped[int]
    high_group_id: Mapped[int]
    high_id: Mapped[int]
    ad_group_id: Mapped[int | None]
    ad_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
    last_message_at: Mapped[datetime] = created_at_column()

    def has_participant(self, membership_id: int) -> bool:
        return membership_id in (self.low_id, self.high_id)

    def other_id(self, membership_id: int) -> int:
        """Return the id of the participant who is not ``membership_id``."""
        return self.high_id if membership_id == self.low_id else self.low_id


class NetworkMessage(db.Model):
    """One message of a :class:`NetworkConversation`."""

    __tablename__ = "network_messages"
    __table_args__ = (
        sa.ForeignKeyConstraint(["conversation_id"], ["network_conversations.id"],
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sender_id"], ["memberships.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recipient_id"], ["memberships.id"], ondelete="CASCADE"),
        sa.CheckConstraint("sender_id <> recipient_id", name="distinct_parties"),
        sa.CheckConstraint("char_length(body) BETWEEN 1 AND 5000", name="body_length"),
        sa.Index("ix_network_messages_conversation_id_id", "conversation_id", "id"),
        sa.Index("ix_network_messages_recipient_id_unread", "recipient_id",
                 postgresql_where=sa.text("read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int]
    sender_id: Mapped[int]
    recipient_id: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    sender: Mapped[Membership] = relationship(
        primaryjoin="NetworkMessage.sender_id == Membership.id",
        foreign_keys="NetworkMessage.sender_id", viewonly=True,
    )

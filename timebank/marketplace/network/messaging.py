"""Messages between members of two groups, from the network marketplace.

The model (:mod:`timebank.models.network_marketplace`): one network-level conversation per
pair of memberships in two different groups, its messages beside it. This module is the only
path that reads or writes them, and every read is filtered by the reader's own memberships:

* a member writes *as* one of their memberships, in an active group that trades with the
  network, to the author of a network ad (:func:`write_about_ad`) or to the other side of a
  conversation they are in (:func:`reply`); both sides must be active members of active
  groups that trade with the network at the moment of writing;
* two members of the same group use their group's own messages (refused here);
* a user sees only conversations one of their memberships takes part in
  (:func:`conversations_of`, :func:`conversation_for`); anything else is "not found";
* the recipient is emailed a link to the conversation on the network site (never the sender's
  address), when it gets its first unread message, after the transaction commits.

Functions take keyword-only arguments, raise
:class:`~timebank.marketplace.errors.MarketplaceError` subclasses and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from timebank.extensions import db
from timebank.i18n import N_
from timebank.marketplace.errors import (
    CannotMessageSelf,
    InvalidMessage,
    NotParticipant,
    RecipientUnavailable,
)
from timebank.models import (
    Ad,
    Group,
    GroupStatus,
    Membership,
    MembershipStatus,
    NetworkConversation,
    NetworkMessage,
    User,
    utcnow,
)
from timebank.models.marketplace import MESSAGE_MAX
from timebank.paging import Page, keyset_page
from timebank.tasks import enqueue
from timebank.tenants import all_groups

NOTIFICATION_SUBJECT = N_("New message from %(sender)s of %(group)s")


@dataclass
class Party:
    """One side of a conversation, as shown: never an email address."""

    membership_id: int
    name: str
    group_name: str
    group_slug: str


def _parties(membership_ids: set[int]) -> dict[int, Party]:
    """The :class:`Party` of each of ``membership_ids`` (one query)."""
    with all_groups():
        rows = db.session.execute(
            sa.select(Membership.id, User.name, Group.name, Group.slug)
            .select_from(Membership)
            .join(User, User.id == Membership.user_id)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.id.in_(membership_ids))
        ).all()
    return {row[0]: Party(*row) for row in rows}


def _party(membership_id: int) -> Party | None:
    return _parties({membership_id}).get(membership_id)


def can_trade_messages(membership: Membership) -> bool:
    """Return whether ``membership`` may write or receive messages between groups: active, in
    an active group that trades with the network."""
    with all_groups():
        group = db.session.get(Group, membership.group_id)
    return (membership.status == MembershipStatus.ACTIVE and group is not None
            and group.status == GroupStatus.ACTIVE and group.trades_with_network)


def sender_memberships(user: User) -> list[tuple[Membership, Group]]:
    """Return the memberships ``user`` may write between groups as (see
    :func:`can_trade_messages`), by group name."""
    from timebank.marketplace.network.listing import viewer_groups

    return [(m, g) for m, g in viewer_groups(user) if g.trades_with_network]


def _conversation_between(first: Membership, second: Membership) -> NetworkConversation | None:
    low, high = sorted((first.id, second.id))
    return db.session.scalar(sa.select(NetworkConversation).where(
        NetworkConversation.low_id == low, NetworkConversation.high_id == high))


def _send(*, sender: Membership, recipient: Membership, body: str, ad: Ad | None) -> NetworkMessage:
    body = (body or "").strip()
    if not body or len(body) > MESSAGE_MAX:
        raise InvalidMessage()
    if sender.user_id == recipient.user_id:
        raise CannotMessageSelf()
    if sender.group_id == recipient.group_id:
        raise RecipientUnavailable()  # one group: the group's own messages
    if not (can_trade_messages(sender) and can_trade_messages(recipient)):
        raise RecipientUnavailable()
    conversation = _conversation_between(sender, recipient)
    if conversation is None:
        low, high = sorted((sender, recipient), key=lambda m: m.id)
        conversation = NetworkConversation(
            low_id=low.id, low_group_id=low.group_id, high_id=high.id,
            high_group_id=high.group_id,
            ad_id=ad.id if ad else None, ad_group_id=ad.group_id if ad else None,
        )
        try:
            with db.session.begin_nested():
                db.session.add(conversation)
        except sa.exc.IntegrityError:  # the other side started it at the same moment
            conversation = _conversation_between(sender, recipient)
    already_unread = db.session.scalar(
        sa.select(NetworkMessage.id).where(
            NetworkMessage.conversation_id == conversation.id,
            NetworkMessage.recipient_id == recipient.id,
            NetworkMessage.read_at.is_(None),
        ).limit(1)
    )
    now = utcnow()
    message = NetworkMessage(conversation_id=conversation.id, sender_id=sender.id,
                             recipient_id=recipient.id, body=body, created_at=now)
    conversation.last_message_at = now
    db.session.add(message)
    db.session.flush()
    if already_unread is None:
        from timebank.mail import send_templated_mail

        me = _party(sender.id)
        enqueue(send_templated_mail, recipient.user_id, "network_marketplace_message",
                NOTIFICATION_SUBJECT,
                {"sender": me.name, "group": me.group_name,
                 "conversation_id": conversation.id, "ad_title": ad.title if ad else None})
    return message


def write_about_ad(*, sender: Membership, ad: Ad, body: str) -> NetworkMessage:
    """Send ``body`` from ``sender`` to the author of the network ad ``ad`` (found through
    :func:`timebank.marketplace.network.listing.network_ad`).

    Raises :class:`InvalidMessage`, :class:`CannotMessageSelf` or :class:`RecipientUnavailable`.
    """
    with all_groups():
        author = db.session.get(Membership, ad.author_id)
    return _send(sender=sender, recipient=author, body=body, ad=ad)


def conversation_for(user: User, conversation_id: int) -> tuple[NetworkConversation, Membership]:
    """Return conversation ``conversation_id`` and ``user``'s membership in it.

    Raises :class:`NotParticipant` when none of ``user``'s memberships takes part (or there is
    no such conversation): the same answer, so nothing leaks.
    """
    with all_groups():
        row = db.session.execute(
            sa.select(NetworkConversation, Membership)
            .join(Membership, sa.or_(Membership.id == NetworkConversation.low_id,
                                     Membership.id == NetworkConversation.high_id))
            .where(NetworkConversation.id == conversation_id, Membership.user_id == user.id)
        ).first()
    if row is None:
        raise NotParticipant()
    return row[0], row[1]


def reply(*, user: User, conversation_id: int, body: str) -> NetworkMessage:
    """Send ``body`` in a conversation ``user`` takes part in, to the other side.

    Raises :class:`NotParticipant`, :class:`InvalidMessage` or :class:`RecipientUnavailable`.
    """
    conversation, mine = conversation_for(user, conversation_id)
    with all_groups():
        other = db.session.get(Membership, conversation.other_id(mine.id))
    return _send(sender=mine, recipient=other, body=body, ad=None)


@dataclass
class MessageView:
    body: str
    created_at: datetime
    is_mine: bool


def open_conversation(*, user: User, conversation_id: int, limit: int, mark_read: bool = True,
                      before: int | None = None, after: int | None = None
                      ) -> tuple[NetworkConversation, Party, Party, Page]:
    """Return the conversation, the reader's side, the other side and one page of
    ``limit`` messages from the keys ``before`` / ``after`` (message ids; the latest page
    without either), as :class:`MessageView` rows oldest first, paged by key
    (:func:`timebank.paging.keyset_page`); mark every message to the reader read.
    Raises :class:`NotParticipant`."""
    conversation, mine = conversation_for(user, conversation_id)
    if mark_read:
        db.session.execute(
            sa.update(NetworkMessage)
            .where(NetworkMessage.conversation_id == conversation.id,
                   NetworkMessage.recipient_id == mine.id,
                   NetworkMessage.read_at.is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    page = keyset_page(
        sa.select(NetworkMessage.body, NetworkMessage.created_at,
                  NetworkMessage.sender_id == mine.id, NetworkMessage.id.label("key"))
        .where(NetworkMessage.conversation_id == conversation.id),
        NetworkMessage.id, limit=limit, before=before, after=after)
    page.rows = [MessageView(*row) for row in reversed(page.rows)]
    other_id = conversation.other_id(mine.id)
    parties = _parties({mine.id, other_id})
    return conversation, parties[mine.id], parties[other_id], page


@dataclass
class ConversationSummary:
    conversation_id: int
    me: Party
    other: Party
    unread: int
    last_body: str
    last_message_at: datetime


def conversations_of(user: User) -> list[ConversationSummary]:
    """Return the conversations between groups of every membership of ``user``, most recent
    first, with unread counts (three queries however many there are)."""
    with all_groups():
        my_ids = set(db.session.scalars(
            sa.select(Membership.id).where(Membership.user_id == user.id)))
        unread = (
            sa.select(sa.func.count(NetworkMessage.id))
            .where(NetworkMessage.conversation_id == NetworkConversation.id,
                   NetworkMessage.recipient_id.in_(my_ids), NetworkMessage.read_at.is_(None))
            .correlate(NetworkConversation).scalar_subquery()
        )
        last_body = (
            sa.select(NetworkMessage.body)
            .where(NetworkMessage.conversation_id == NetworkConversation.id)
            .order_by(NetworkMessage.id.desc()).limit(1)
            .correlate(NetworkConversation).scalar_subquery()
        )
        rows = db.session.execute(
            sa.select(NetworkConversation, unread, last_body)
            .where(sa.or_(NetworkConversation.low_id.in_(my_ids),
                          NetworkConversation.high_id.in_(my_ids)))
            .order_by(NetworkConversation.last_message_at.desc())
        ).all()
    parties = _parties({c.low_id for c, _n, _b in rows} | {c.high_id for c, _n, _b in rows})
    summaries = []
    for conversation, count, body in rows:
        me_id = conversation.low_id if conversation.low_id in my_ids else conversation.high_id
        summaries.append(ConversationSummary(
            conversation_id=conversation.id, me=parties[me_id],
            other=parties[conversation.other_id(me_id)], unread=count or 0,
            last_body=body or "", last_message_at=conversation.last_message_at))
    return summaries


def unread_count(user: User) -> int:
    """Return how many messages between groups to ``user``'s memberships are unread."""
    with all_groups():
        return db.session.scalar(
            sa.select(sa.func.count(NetworkMessage.id))
            .join(Membership, Membership.id == NetworkMessage.recipient_id)
            .where(Membership.user_id == user.id, NetworkMessage.read_at.is_(None))
        ) or 0

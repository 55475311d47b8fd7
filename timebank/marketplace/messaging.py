"""Private messages between members, without exposing email addresses.

Rules enforced here:

* one conversation per pair of memberships (``low_id < high_id``), optionally started from an ad;
* a message has 1 to 5,000 characters; nobody messages themselves or an inactive member;
* a member who blocked the sender does not receive their messages (the sender is told);
* the recipient is emailed a link (never the sender's address) when a conversation gets its
  first unread message, after the transaction commits;
* a participant may report a message; coordinators see and resolve reports.

Functions take keyword-only arguments, raise :class:`~timebank.marketplace.errors.MarketplaceError`
subclasses and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from timebank.extensions import db
from timebank.i18n import N_
from timebank.marketplace.errors import (
    CannotMessageSelf,
    InvalidMessage,
    NotParticipant,
    RecipientUnavailable,
    SenderBlocked,
)
from timebank.models import (
    Ad,
    Block,
    Conversation,
    Group,
    Membership,
    Message,
    MessageReport,
    utcnow,
)
from timebank.models.marketplace import MESSAGE_MAX
from timebank.paging import Page, keyset_objects
from timebank.tasks import enqueue

NOTIFICATION_SUBJECT = N_("New message from %(sender)s")


def is_blocked(*, blocker: Membership, blocked: Membership) -> bool:
    """Return whether ``blocker`` has blocked ``blocked``."""
    return db.session.scalar(
        sa.select(Block.id).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id)
    ) is not None


def conversation_between(first: Membership, second: Membership) -> Conversation | None:
    low, high = sorted((first.id, second.id))
    return db.session.scalar(
        sa.select(Conversation).where(Conversation.low_id == low, Conversation.high_id == high)
    )


def _conversation_for(sender: Membership, recipient: Membership, ad: Ad | None) -> Conversation:
    conversation = conversation_between(sender, recipient)
    if conversation is not None:
        return conversation
    low, high = sorted((sender.id, recipient.id))
    conversation = Conversation(low_id=low, high_id=high, ad_id=ad.id if ad else None)
    try:
        with db.session.begin_nested():
            db.session.add(conversation)
    except sa.exc.IntegrityError:  # the other side started it at the same moment
        conversation = conversation_between(sender, recipient)
    return conversation


def send_message(
    *, sender: Membership, recipient: Membership, body: str, ad: Ad | None = None
) -> Message:
    """Send ``body`` from ``sender`` to ``recipient`` (optionally about ``ad``).

    Raises :class:`CannotMessageSelf`, :class:`RecipientUnavailable`, :class:`SenderBlocked` or
    :class:`InvalidMessage`. Enqueues the notification email (sent after commit).
    """
    body = (body or "").strip()
    if not body or len(body) > MESSAGE_MAX:
        raise InvalidMessage()
    if sender.id == recipient.id:
        raise CannotMessageSelf()
    if not (sender.is_active and recipient.is_active):
        raise RecipientUnavailable()
    if is_blocked(blocker=recipient, blocked=sender):
        raise SenderBlocked()
    conversation = _conversation_for(sender, recipient, ad)
    already_unread = db.session.scalar(
        sa.select(Message.id).where(
            Message.conversation_id == conversation.id,
            Message.recipient_id == recipient.id,
            Message.read_at.is_(None),
        ).limit(1)
    )
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        sender_id=sender.id,
        recipient_id=recipient.id,
        ad_id=ad.id if ad else None,
        body=body,
        created_at=now,
    )
    conversation.last_message_at = now
    db.session.add(message)
    db.session.flush()
    if already_unread is None:
        group = db.session.get(Group, recipient.group_id)
        from timebank.mail import send_templated_mail

        enqueue(
            send_templated_mail,
            recipient.user_id,
            "marketplace_message",
            NOTIFICATION_SUBJECT,
            {
                "sender": sender.user.name,
                "group_name": group.name,
                "group_slug": group.slug,
                "conversation_id": conversation.id,
                "ad_title": ad.title if ad else None,
            },
        )
    return message


def open_conversation_page(
    *, conversation: Conversation, reader: Membership, limit: int, mark_read: bool = True,
    before: int | None = None, after: int | None = None,
) -> Page:
    """Return one page of the conversation, ``limit`` messages from the keys ``before`` /
    ``after`` (message ids; the latest page without either), paged by key as statements are
    (:func:`timebank.paging.keyset_page`), and mark every message to ``reader`` read. The
    page's rows are the messages, oldest first, to be read down. A long conversation costs a
    page what a short one does.

    With ``mark_read=False`` (a suspended group is read only) nothing is written.
    Raises :class:`NotParticipant`.
    """
    if not conversation.has_participant(reader.id):
        raise NotParticipant()
    if mark_read:
        db.session.execute(
            sa.update(Message)
            .where(Message.conversation_id == conversation.id, Message.recipient_id == reader.id,
                   Message.read_at.is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    page = keyset_objects(
        sa.select(Message).where(Message.conversation_id == conversation.id)
        .execution_options(populate_existing=True),
        Message.id, limit=limit, before=before, after=after)
    page.rows.reverse()  # read down: oldest first
    return page


@dataclass
class ConversationSummary:
    conversation: Conversation
    other: Membership
    unread: int
    last_body: str


def conversations_of(membership: Membership) -> list[ConversationSummary]:
    """Return ``membership``'s conversations, most recent first, with unread counts."""
    unread = (
        sa.select(sa.func.count(Message.id))
        .where(
            Message.conversation_id == Conversation.id,
            Message.recipient_id == membership.id,
            Message.read_at.is_(None),
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    last_body = (
        sa.select(Message.body)
        .where(Message.conversation_id == Conversation.id)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Conversation, unread, last_body)
        .where(sa.or_(Conversation.low_id == membership.id, Conversation.high_id == membership.id))
        .options(selectinload(Conversation.low), selectinload(Conversation.high))
        .order_by(Conversation.last_message_at.desc())
    ).all()
    return [
        ConversationSummary(conversation=c, other=c.other(membership.id), unread=n, last_body=b)
        for c, n, b in rows
    ]


# Built once, the recipient a bind parameter: it runs on every page (the navigation bar), and
# building it cost more CPU than running it. (The tenant hook still scopes it each time.)
_UNREAD = sa.select(sa.func.count(Message.id)).where(
    Message.recipient_id == sa.bindparam("recipient_id", type_=sa.Integer),
    Message.read_at.is_(None),
)


def unread_count(membership: Membership) -> int:
    """Return how many messages to ``membership`` are unread."""
    return db.session.scalar(_UNREAD, {"recipient_id": membership.id}) or 0


def block(*, blocker: Membership, blocked: Membership) -> Block:
    """Stop ``blocked``'s messages reaching ``blocker`` (idempotent)."""
    if blocker.id == blocked.id:
        raise CannotMessageSelf()
    query = sa.select(Block).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id)
    return db.session.scalar(query) or _insert_once(
        Block(blocker_id=blocker.id, blocked_id=blocked.id), query
    )


def unblock(*, blocker: Membership, blocked: Membership) -> None:
    """Let ``blocked``'s messages reach ``blocker`` again."""
    db.session.execute(
        sa.delete(Block).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id)
    )


def report_message(*, message: Message, reporter: Membership, reason: str = "") -> MessageReport:
    """Report ``message`` to the coordinators. Only its recipient may (idempotent).

    Raises :class:`NotParticipant`.
    """
    if message.recipient_id != reporter.id:
        raise NotParticipant()
    query = sa.select(MessageReport).where(
        MessageReport.message_id == message.id, MessageReport.reporter_id == reporter.id
    )
    return db.session.scalar(query) or _insert_once(
        MessageReport(
            message_id=message.id, reporter_id=reporter.id, reason=(reason or "").strip()[:500]
        ),
        query,
    )


def _insert_once(row, query):
    """Insert ``row`` and return it; if a twin won the race (a double click), return the twin."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
        return row
    except sa.exc.IntegrityError:
        return db.session.scalar(query)


def open_reports() -> list[MessageReport]:
    """Return the group's unresolved reports, oldest first."""
    return list(
        db.session.scalars(
            sa.select(MessageReport)
            .where(MessageReport.resolved_at.is_(None))
            .options(
                selectinload(MessageReport.message).selectinload(Message.sender),
                selectinload(MessageReport.reporter),
            )
            .order_by(MessageReport.created_at)
        )
    )


def resolve_report(*, report: MessageReport, coordinator: Membership) -> MessageReport:
    """Mark a report dealt with."""
    report.resolved_at = utcnow()
    report.resolved_by_id = coordinator.id
    db.session.flush()
    return report

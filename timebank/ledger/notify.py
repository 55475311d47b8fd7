"""Tell the people on both sides of a transfer by email, after the transaction commits.

A transfer event is written as a :class:`~timebank.models.TransferNotice` row in the event's
own transaction (the ledger's outbox: a committed transfer is always announced, a rolled-back
one never), and :func:`request_delivery` asks for the delivery job after commit — at most one
waits in the queue (``enqueue(..., once=True)``), and a sweep every minute in
:mod:`timebank.ledger.cron` catches any left behind. The job (:func:`deliver_notices`) reads
each transfer and sends one message per person, rendered in the recipient's language from
``mail/ledger_transfer.txt``, then deletes the notice. Keeping rendering and Redis out of the
transaction keeps the ledger's hot path short. Group accounts (community pot, issuer) have no
inbox and are skipped.
"""

import sqlalchemy as sa

from timebank.boundary import run_in_transaction
from timebank.extensions import db
from timebank.i18n import N_, locale_for_user
from timebank.ledger.amounts import format_amount
from timebank.mail import send_templated_mail
from timebank.models import (
    AccountKind,
    Group,
    Transfer,
    TransferKind,
    TransferNotice,
    TransferState,
    utcnow,
)
from timebank.tasks import enqueue
from timebank.tenants import all_groups, group_context

STARTED = "started"  # a pending payment or request was made
EDITED = "edited"
ACCEPTED = "accepted"
CANCELLED = "cancelled"  # withdrawn, declined or refused (see transfer.cancel_code)
COMPLETED = "completed"  # completed at once (payment, on-behalf, bulk leg, issuance)
REVERSED = "reversed"

SUBJECTS = {
    (STARTED, "payment"): N_("%(payer)s wants to pay you %(amount)s: please confirm"),
    (STARTED, "request"): N_("%(payee)s asks you to pay %(amount)s"),
    # The starter's own copy: the other side's subject would tell them to pay themself.
    (STARTED, "payment", "starter"): N_(
        "You offered %(payee)s %(amount)s: waiting for their confirmation"
    ),
    (STARTED, "request", "starter"): N_("You asked %(payer)s to pay you %(amount)s"),
    (EDITED, "any"): N_("A pending transfer of %(amount)s was changed"),
    (ACCEPTED, "any"): N_("Transfer completed: %(amount)s from %(payer)s to %(payee)s"),
    (CANCELLED, "any"): N_("Transfer cancelled: %(amount)s from %(payer)s to %(payee)s"),
    (COMPLETED, "any"): N_("%(amount)s from %(payer)s to %(payee)s"),
    (REVERSED, "any"): N_("A transfer of %(amount)s was reversed"),
}


def _subject(event: str, transfer: Transfer, membership_id: int | None = None) -> str:
    """Return the subject's msgid for ``event``, as the recipient ``membership_id`` reads it."""
    kind = "request" if transfer.kind == TransferKind.REQUEST else "payment"
    if membership_id is not None and transfer.starter_id == membership_id:
        own = SUBJECTS.get((event, kind, "starter"))
        if own:
            return own
    return SUBJECTS.get((event, kind)) or SUBJECTS[(event, "any")]


def _recipients(event: str, transfer: Transfer) -> list:
    """The member accounts' memberships to tell, without duplicates."""
    sides = [transfer.payer_account, transfer.payee_account]
    if event == COMPLETED and transfer.kind in (TransferKind.PAYMENT, TransferKind.ISSUANCE):
        # The payer did it themself (or it is an issuance): only the payee needs telling.
        sides = [transfer.payee_account]
    seen, memberships = set(), []
    for account in sides:
        if account.kind == AccountKind.MEMBER and account.membership_id not in seen:
            seen.add(account.membership_id)
            memberships.append(account.membership)
    return memberships


def transfer_event(transfer: Transfer, event: str) -> None:
    """Record that the people on ``transfer``'s sides are to be told about ``event`` (in this
    transaction), and ask for delivery after commit."""
    db.session.add(TransferNotice(group_id=transfer.group_id, transfer_id=transfer.id,
                                  event=event, created_at=utcnow()))
    request_delivery()


def request_delivery() -> None:
    """After this transaction commits, run :func:`deliver_notices` (at most one waiting)."""
    enqueue(deliver_notices, once=True)


def discard_notices(group_id: int) -> int:
    """Delete group ``group_id``'s waiting notices (an import replaying history tells nobody);
    returns how many."""
    return db.session.execute(
        sa.delete(TransferNotice).where(TransferNotice.group_id == group_id)
    ).rowcount


def deliver_notices() -> int:
    """Job: send the mail of every waiting transfer notice, oldest first, in any group; each
    notice is deleted in the same transaction as its sending. Returns how many were sent.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so two jobs never send one notice.
    """
    sent = 0
    while run_in_transaction(_deliver_next_notice):  # one transaction per notice
        sent += 1
    return sent


def _deliver_next_notice() -> bool:
    """Step: send the oldest waiting notice and delete it; False when none is waiting."""
    with all_groups():  # the outbox is the network's: each notice names its group
        notice = db.session.scalar(
            sa.select(TransferNotice).order_by(TransferNotice.id).limit(1)
            .with_for_update(skip_locked=True)
        )
    if notice is None:
        return False
    with group_context(notice.group_id):
        deliver_transfer_event(notice.transfer_id, notice.event)
    db.session.delete(notice)
    return True


def deliver_transfer_event(transfer_id: int, event: str) -> None:
    """Job: email each person on the sides of transfer ``transfer_id`` about ``event``, in their
    language. The transfer is read as it is now (an edit followed by a withdrawal tells of
    the withdrawn amount)."""
    from timebank.tenants.urls import group_url

    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        return
    group = db.session.get(Group, transfer.group_id)
    currency = transfer.currency
    payer, payee = transfer.payer_account.display_name, transfer.payee_account.display_name
    if transfer.payer_account.is_clearing or transfer.payee_account.is_clearing:
        from timebank.ledger.intergroup import remote_parties  # builds on this module

        remote = remote_parties([transfer.id]).get(transfer.id, "")  # "Luis (Barrio)"
        payer = remote if transfer.payer_account.is_clearing else payer
        payee = remote if transfer.payee_account.is_clearing else payee
    for membership in _recipients(event, transfer):
        user = membership.user
        locale = locale_for_user(user, group)
        context = {
            "event": event,
            "kind": transfer.kind.value,
            "state": transfer.state.value,
            "amount": format_amount(
                transfer.amount, subunits_per_unit=currency.subunits_per_unit, locale=locale,
                symbol=currency.symbol,
            ),
            "description": transfer.description,
            "payer": payer,
            "payee": payee,
            "starter": transfer.starter.user.name if transfer.starter else "",
            "is_payer": transfer.payer_account.membership_id == membership.id,
            "is_acceptor": _is_acceptor(transfer, membership.id),
            "cancel_code": transfer.cancel_code or "",
            "reason": transfer.cancel_reason or (
                transfer.description if transfer.kind == TransferKind.REVERSAL else ""
            ),
            "group_name": group.name,
            "link": group_url(group.slug, f"/transfers/{transfer.id}"),
            "locale": locale,
        }
        subject = _subject(event, transfer, membership.id)
        if _by_notice_choice(user, group, subject, context):
            continue
        send_templated_mail(user.id, "ledger_transfer", subject, context)


def _by_notice_choice(user, group, subject: str, context: dict) -> bool:
    """Return True when ``user`` chose the digest (noted there) or nothing for transfers."""
    from timebank.models.notices import Delivery, NoticeKind
    from timebank.notices import service as notices

    delivery = notices.delivery_for(user.id, NoticeKind.TRANSFERS)
    if delivery == Delivery.IMMEDIATE:
        return False
    if delivery == Delivery.DIGEST:
        from flask_babel import force_locale, gettext

        from timebank.models.notices import DigestNotice

        with force_locale(context["locale"]):
            text = gettext(subject, **context)
        db.session.add(DigestNotice(user_id=user.id, kind=NoticeKind.TRANSFERS.value,
                                    group_name=group.name, text=text, link=context["link"]))
    return True


def _is_acceptor(transfer: Transfer, membership_id: int) -> bool:
    if transfer.state != TransferState.PENDING:
        return False
    account = (
        transfer.payer_account if transfer.kind == TransferKind.REQUEST
        else transfer.payee_account
    )
    return account.membership_id == membership_id

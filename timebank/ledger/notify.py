"""Tell the people on both sides of a transfer by email, after the transaction commits.

The request only records one rq job per event, holding the transfer's id
(:func:`transfer_event`); the job (:func:`deliver_transfer_event`) reads the transfer and sends
one message per person, rendered in the recipient's language from ``mail/ledger_transfer.txt``.
Keeping the rendering out of the transaction keeps the ledger's hot path short. Group accounts
(community pot, issuer) have no inbox and are skipped.
"""

from timebank.extensions import db
from timebank.i18n import N_, locale_for_user
from timebank.ledger.amounts import format_amount
from timebank.models import AccountKind, Group, Transfer, TransferKind, TransferState
from timebank.tasks import enqueue
from timebank.tasks.mail import send_templated_mail

STARTED = "started"  # a pending payment or request was made
EDITED = "edited"
ACCEPTED = "accepted"
CANCELLED = "cancelled"  # withdrawn, declined or refused (see transfer.cancel_code)
COMPLETED = "completed"  # completed at once (payment, on-behalf, bulk leg, issuance)
REVERSED = "reversed"

SUBJECTS = {
    (STARTED, "payment"): N_("%(payer)s wants to pay you %(amount)s: please confirm"),
    (STARTED, "request"): N_("%(payee)s asks you to pay %(amount)s"),
    (EDITED, "any"): N_("A pending transfer of %(amount)s was changed"),
    (ACCEPTED, "any"): N_("Transfer completed: %(amount)s from %(payer)s to %(payee)s"),
    (CANCELLED, "any"): N_("Transfer cancelled: %(amount)s from %(payer)s to %(payee)s"),
    (COMPLETED, "any"): N_("%(amount)s from %(payer)s to %(payee)s"),
    (REVERSED, "any"): N_("A transfer of %(amount)s was reversed"),
}


def _subject(event: str, transfer: Transfer) -> str:
    kind = "request" if transfer.kind == TransferKind.REQUEST else "payment"
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
    """Record a job telling the people on ``transfer``'s sides about ``event`` (run after
    commit, dropped on rollback)."""
    enqueue(deliver_transfer_event, transfer.id, event, group_id=transfer.group_id)


def deliver_transfer_event(transfer_id: int, event: str) -> None:
    """Job: email each person on the sides of transfer ``transfer_id`` about ``event``, in their
    language. The transfer is read as it is now (an edit followed by a withdrawal tells of
    the withdrawn amount)."""
    from timebank.templating import group_url

    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        return
    group = db.session.get(Group, transfer.group_id)
    currency = transfer.currency
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
            "payer": transfer.payer_account.display_name,
            "payee": transfer.payee_account.display_name,
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
        send_templated_mail(user.id, "ledger_transfer", _subject(event, transfer), context)


def _is_acceptor(transfer: Transfer, membership_id: int) -> bool:
    if transfer.state != TransferState.PENDING:
        return False
    account = (
        transfer.payer_account if transfer.kind == TransferKind.REQUEST
        else transfer.payee_account
    )
    return account.membership_id == membership_id

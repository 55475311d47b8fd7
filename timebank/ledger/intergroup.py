"""Payments between members of two groups, settled in one database transaction.

A payment from Ann (greenvale) to Luis (barrio) is two linked transfers: Ann -> greenvale's
clearing account, in greenvale's currency, and barrio's clearing account -> Luis, in barrio's,
the amount converted through each currency's value in network hours and rounded down (no value
is created). The rules of both groups apply, in the database functions
``ledger_intergroup_transfer``, ``_accept``, ``_cancel`` and ``_reverse``
(``timebank/ledger/sql/``): the groups trade with each other, both members are active, both
currencies active, and four bounds hold — the payer's credit limit, what the payer's group may
owe the network (its clearing account's ceiling), what the payee's group may be owed (its
clearing account's floor) and the payee's ceiling. This module asks who may act, calls them,
and maps refusals to typed errors. Amounts are integers in subunits of each side's currency.

The payee's group is another tenant: its rows are reached only here and through
:mod:`timebank.trading`, each an explicit ``all_groups()`` path.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from timebank.audit.ledger_hooks import record_written_transfer
from timebank.extensions import db
from timebank.ledger import notify
from timebank.ledger.errors import (
    AmountTooSmall,
    CeilingExceeded,
    ClearingLimitExceeded,
    CreditLimitExceeded,
    InactiveParty,
    LedgerError,
    NotPending,
    NotTrading,
    NotYourTurn,
)
from timebank.ledger.functions import call, refusal_error
from timebank.ledger.transfers import (
    DESCRIPTION_MAX,
    REASON_MAX,
    acts_for,
    expire_balances,
    validate_amount,
)
from timebank.models import (
    Account,
    Currency,
    Group,
    IntergroupPayment,
    Membership,
    Role,
    Transfer,
    TransferKind,
    TransferState,
    utcnow,
)
from timebank.models.ledger import CancelCode
from timebank.tenants import all_groups


@dataclass(frozen=True)
class Crossing:
    """An inter-group payment with both of its transfers (read across the two groups)."""

    payment: IntergroupPayment
    payer_leg: Transfer
    payee_leg: Transfer

    @property
    def state(self) -> TransferState:
        return self.payee_leg.state


def crossing_of(transfer: Transfer) -> Crossing | None:
    """Return the inter-group payment ``transfer`` is a leg of, with both legs, or None."""
    with all_groups():
        payment = db.session.scalar(
            sa.select(IntergroupPayment).where(sa.or_(
                IntergroupPayment.payer_transfer_id == transfer.id,
                IntergroupPayment.payee_transfer_id == transfer.id,
            ))
        )
        if payment is None:
            return None
        return _crossing(payment)


def _crossing(payment: IntergroupPayment) -> Crossing:
    with all_groups():
        legs = {
            t.id: t for t in db.session.scalars(
                sa.select(Transfer)
                .where(Transfer.id.in_([payment.payer_transfer_id, payment.payee_transfer_id]))
                .options(selectinload(Transfer.payer_account), selectinload(Transfer.payee_account))
                .execution_options(populate_existing=True)
            )
        }
    return Crossing(payment, legs[payment.payer_transfer_id], legs[payment.payee_transfer_id])


def _call_across(function: str, *arguments) -> tuple:
    """Call one of the ``ledger_intergroup_*`` functions: it reads and writes the rows of both
    groups, so it runs past the database's tenant fence (its rules name both groups)."""
    with all_groups():
        return call(function, *arguments)


def _limit_error(refusal: str, available: int, account_id: int, payer_currency: Currency):
    """The typed error for a refused bound; ``available`` is in the payer's subunits."""
    with all_groups():
        account = db.session.get(Account, account_id)
        if account.is_clearing:
            group = db.session.get(Group, account.group_id)
            return ClearingLimitExceeded(available=available, currency=payer_currency,
                                         group_name=group.name, owes=refusal == "ceiling")
        kind = CreditLimitExceeded if refusal == "credit_limit" else CeilingExceeded
        return kind(available=available, currency=payer_currency, name=account.display_name)


def pay_across(
    *,
    payer: Membership,
    payee: Membership,
    payer_currency: Currency,
    payee_currency: Currency,
    amount: int,
    description: str,
    starter: Membership,
    idempotency_key: str | None = None,
) -> Crossing:
    """Pay ``amount`` subunits of ``payer_currency`` from ``payer`` to ``payee``, a member of
    another group, who receives it converted into ``payee_currency`` (rounded down).

    Completes at once unless the payee's group asks payees to confirm payments; a ``starter``
    other than the payer (a treasurer of the payer's group) records an on-behalf entry, which
    never waits. A repeated ``idempotency_key`` returns the first payment. Raises
    :class:`NotYourTurn`, :class:`InvalidAmount`, :class:`SameAccount`, :class:`NotTrading`,
    :class:`InactiveParty`, :class:`InactiveCurrency`, :class:`CurrencyMismatch`,
    :class:`KeyReused`, :class:`AmountTooSmall`, :class:`CreditLimitExceeded`,
    :class:`CeilingExceeded` or :class:`ClearingLimitExceeded` (nothing written).
    """
    on_behalf = starter.id != payer.id
    if on_behalf and not (starter.group_id == payer.group_id
                          and starter.has_role(Role.TREASURER)):
        raise NotYourTurn()
    validate_amount(amount, payer_currency)
    with all_groups():
        payee_group = db.session.get(Group, payee.group_id)
    waits = payee_group.payments_need_confirmation and not on_behalf
    payment_id, created, refusal, available, refused_account_id, _ = _call_across(
        "ledger_intergroup_transfer", payer.group_id, payer.id, payer_currency.id,
        payee.group_id, payee.id, payee_currency.id, amount,
        (description or "").strip()[:DESCRIPTION_MAX],
        (TransferKind.ON_BEHALF if on_behalf else TransferKind.PAYMENT).value,
        (TransferState.PENDING if waits else TransferState.COMPLETED).value,
        starter.id, idempotency_key or None, utcnow(),
    )
    if refusal in ("credit_limit", "ceiling"):
        raise _limit_error(refusal, available, refused_account_id, payer_currency)
    if refusal is not None:
        raise _refusal(refusal)
    with all_groups():
        crossing = _crossing(db.session.get(IntergroupPayment, payment_id))
    if created:
        expire_balances([crossing.payer_leg.payer_account_id, crossing.payer_leg.payee_account_id,
                         crossing.payee_leg.payer_account_id, crossing.payee_leg.payee_account_id])
        record_written_transfer(crossing.payer_leg)  # an on-behalf entry is on the trail
        notify.request_delivery()
    return crossing


def _refusal(refusal: str) -> LedgerError:
    if refusal == "not_trading":
        return NotTrading()
    if refusal == "too_small":
        return AmountTooSmall()
    return refusal_error(refusal)


def may_accept_across(membership: Membership | None, crossing: Crossing) -> bool:
    """Whether ``membership`` may accept or decline a pending crossing: its payee."""
    return crossing.state == TransferState.PENDING and acts_for(
        membership, crossing.payee_leg.payee_account
    )


def may_withdraw_across(membership: Membership | None, crossing: Crossing) -> bool:
    """Whether ``membership`` may withdraw a pending crossing: the member who started it."""
    return (crossing.state == TransferState.PENDING and membership is not None
            and membership.is_active and crossing.payer_leg.starter_id == membership.id)


def accept_across(*, crossing: Crossing, by: Membership) -> Crossing:
    """Complete a pending crossing ``by`` its payee; the rules are checked again
    (``ledger_intergroup_accept.sql``): one that no longer fits is cancelled with the reason and
    returned cancelled (both sides told). Raises :class:`NotPending`, :class:`NotYourTurn`,
    :class:`InactiveParty` or :class:`NotTrading`."""
    if not acts_for(by, crossing.payee_leg.payee_account):
        raise NotYourTurn()
    (outcome,) = _call_across("ledger_intergroup_accept", crossing.payment.id, by.id, utcnow())
    if outcome == "not_pending":
        raise NotPending()
    if outcome == "inactive_party":
        raise InactiveParty()
    if outcome == "not_trading":
        raise NotTrading()
    if outcome != "already":
        notify.request_delivery()
    return _reloaded(crossing)


def _reloaded(crossing: Crossing) -> Crossing:
    fresh = _crossing(crossing.payment)
    expire_balances([fresh.payer_leg.payer_account_id, fresh.payer_leg.payee_account_id,
                     fresh.payee_leg.payer_account_id, fresh.payee_leg.payee_account_id])
    return fresh


def cancel_across(*, crossing: Crossing, by: Membership, reason: str = "") -> Crossing:
    """Withdraw (the payer who started it) or decline (the payee) a pending crossing; both
    transfers are cancelled together. A repeat returns it unchanged. Raises
    :class:`NotPending` or :class:`NotYourTurn`."""
    if acts_for(by, crossing.payee_leg.payee_account):
        code = CancelCode.DECLINED
    elif crossing.payer_leg.starter_id == by.id and by.is_active:
        code = CancelCode.WITHDRAWN
    else:
        raise NotYourTurn()
    (outcome,) = _call_across("ledger_intergroup_cancel", crossing.payment.id, by.group_id, by.id,
                      code.value, (reason or "").strip()[:REASON_MAX], utcnow())
    if outcome == "not_pending":
        raise NotPending()
    notify.request_delivery()
    return _reloaded(crossing)


def reverse_across(*, crossing: Crossing, by: Membership, reason: str) -> Crossing:
    """Reverse a completed crossing as a pair, ``by`` a treasurer of either group, with
    ``reason`` (``ledger_intergroup_reverse.sql``); returns the reversal's crossing. Raises
    :class:`NotYourTurn`, :class:`ReasonRequired`, :class:`CannotReverse`,
    :class:`InactiveCurrency` or :class:`ReversalWouldOverdraw`."""
    from timebank.ledger.errors import ReasonRequired

    if not by.has_role(Role.TREASURER) or by.group_id not in (
        crossing.payment.payer_group_id, crossing.payment.payee_group_id
    ):
        raise NotYourTurn()
    reason = (reason or "").strip()[:DESCRIPTION_MAX]
    if not reason:
        raise ReasonRequired()
    payment_id, created, refusal = _call_across(
        "ledger_intergroup_reverse", crossing.payment.id, by.group_id, by.id, reason, utcnow()
    )
    if refusal is not None or payment_id is None:
        raise refusal_error(refusal or "cannot_reverse")
    with all_groups():
        reversal = _crossing(db.session.get(IntergroupPayment, payment_id))
    if created:
        _reloaded(crossing)
        for leg in (reversal.payer_leg, reversal.payee_leg):
            if leg.group_id == by.group_id:
                record_written_transfer(leg)
        notify.request_delivery()
    return reversal


_REMOTE_PARTIES = sa.text("""
    SELECT ip.payer_transfer_id, coalesce(u.name, a.name), g.name
      FROM intergroup_payments ip
      JOIN transfers t ON t.id = ip.payee_transfer_id
      JOIN accounts a ON a.id = t.payee_account_id
      LEFT JOIN memberships m ON m.id = a.membership_id
      LEFT JOIN users u ON u.id = m.user_id
      JOIN groups g ON g.id = ip.payee_group_id
     WHERE ip.payer_transfer_id = ANY(:ids)
    UNION ALL
    SELECT ip.payee_transfer_id, coalesce(u.name, a.name), g.name
      FROM intergroup_payments ip
      JOIN transfers t ON t.id = ip.payer_transfer_id
      JOIN accounts a ON a.id = t.payer_account_id
      LEFT JOIN memberships m ON m.id = a.membership_id
      LEFT JOIN users u ON u.id = m.user_id
      JOIN groups g ON g.id = ip.payer_group_id
     WHERE ip.payee_transfer_id = ANY(:ids)
""")


def remote_parties(transfer_ids) -> dict[int, str]:
    """Map each of these transfers that is a leg of a payment between groups to the member on
    the other side and their group ("Luis Pérez (Banco de Tiempo del Barrio)"): what a
    statement shows instead of the clearing account. One query; an explicit path past tenant
    scoping (names of the other side only)."""
    ids = list(set(transfer_ids))
    if not ids:
        return {}
    with all_groups():
        rows = db.session.execute(_REMOTE_PARTIES, {"ids": ids}).all()
    return {transfer_id: f"{name} ({group})" for transfer_id, name, group in rows}

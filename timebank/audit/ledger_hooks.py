"""Record the ledger's administrative acts in the audit trail as the ledger writes them.

The ledger service (owned by :mod:`timebank.ledger`) writes a :class:`Transfer` for an
on-behalf entry, a reversal, a bulk entry leg or an issuance, and a :class:`LimitChange` for
every limit change. After each flush this hook appends one audit event per such new row, in the
same transaction, so every path that writes them (pages, CLI, jobs) is on the trail; who did it
is the transfer's starter or the change's author. Transfers written by the database function
``ledger_transfer`` (payments, on-behalf entries) are not flushed: the ledger service hands them
to :func:`record_written_transfer`.

A service that records an act itself (moving a leaving member's balance, thanking a volunteer)
wraps the ledger call in :func:`recorded_elsewhere`, so the act is on the trail once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from timebank.audit.service import json_safe
from timebank.extensions import db
from timebank.models import AuditEvent, Membership, Transfer, TransferKind, User, utcnow
from timebank.models.ledger import LimitChange

TRANSFER_ACTIONS = {
    TransferKind.ON_BEHALF: "ledger.on_behalf",
    TransferKind.REVERSAL: "ledger.reversal",
    TransferKind.BULK: "ledger.bulk",
    TransferKind.ISSUANCE: "ledger.issuance",
}

_elsewhere: ContextVar[bool] = ContextVar("audit_recorded_elsewhere", default=False)


@contextmanager
def recorded_elsewhere() -> Iterator[None]:
    """Run a block whose ledger writes the caller records in the trail itself."""
    token = _elsewhere.set(True)
    try:
        yield
    finally:
        _elsewhere.reset(token)


def _transfer_event(transfer: Transfer) -> dict | None:
    action = TRANSFER_ACTIONS.get(transfer.kind)
    if action is None:
        return None
    return {
        "group_id": transfer.group_id,
        "actor_id": transfer.starter_id,
        "action": action,
        "object_type": "transfer",
        "object_id": transfer.id,
        "before": None,
        "after": json_safe({
            "amount": transfer.amount,
            "currency_id": transfer.currency_id,
            "payer_account_id": transfer.payer_account_id,
            "payee_account_id": transfer.payee_account_id,
            "description": transfer.description,
            "state": transfer.state,
            "reverses_id": transfer.reverses_id,
        }),
    }


def _limit_event(change: LimitChange) -> dict:
    if change.account_id is None:
        action, object_type, object_id = "ledger.currency_defaults", "currency", change.currency_id
    else:
        action, object_type, object_id = "ledger.limits", "account", change.account_id
    return {
        "group_id": change.group_id,
        "actor_id": change.changed_by_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": {"min_balance": change.old_min_balance, "max_balance": change.old_max_balance},
        "after": {
            "min_balance": change.new_min_balance,
            "max_balance": change.new_max_balance,
            "reason": change.reason,
        },
    }


def _after_flush(session: Session, flush_context) -> None:
    if _elsewhere.get():
        return
    rows = []
    for obj in session.new:
        if isinstance(obj, Transfer):
            row = _transfer_event(obj)
            if row is not None:
                rows.append(row)
        elif isinstance(obj, LimitChange):
            rows.append(_limit_event(obj))
    if rows:
        _insert(session.connection(), rows)


def record_written_transfer(transfer: Transfer) -> None:
    """Record ``transfer`` if it is an administrative act: for transfers the database function
    ``ledger_transfer`` wrote, which no ORM flush sees (called by the ledger service)."""
    if _elsewhere.get():
        return
    row = _transfer_event(transfer)
    if row is not None:
        _insert(db.session.connection(), [row])


def _insert(connection, rows: list[dict]) -> None:
    actor_ids = {row["actor_id"] for row in rows if row["actor_id"] is not None}
    names = {}
    if actor_ids:  # Core, not the ORM: this runs inside the flush
        names = dict(connection.execute(
            sa.select(Membership.id, User.name)
            .join(User, User.id == Membership.user_id)
            .where(Membership.id.in_(actor_ids))
        ).all())
    now = utcnow()
    connection.execute(
        sa.insert(AuditEvent.__table__),
        [{**row, "actor_name": (names.get(row["actor_id"]) or "")[:120], "created_at": now}
         for row in rows],
    )


def install_ledger_hooks() -> None:
    """Register the hook (idempotent; called by the app factory)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)

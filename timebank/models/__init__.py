"""All tables, importable from one place: ``from timebank.models import Transfer``."""

from timebank.models.base import TenantMixin, utcnow
from timebank.models.ledger import (
    Account,
    AccountKind,
    Currency,
    CurrencyKind,
    Entry,
    Transfer,
    TransferKind,
    TransferState,
)
from timebank.models.membership import Membership, MembershipStatus, Role
from timebank.models.network import Group, GroupStatus, JoinPolicy, User

__all__ = [
    "Account",
    "AccountKind",
    "Currency",
    "CurrencyKind",
    "Entry",
    "Group",
    "GroupStatus",
    "JoinPolicy",
    "Membership",
    "MembershipStatus",
    "Role",
    "TenantMixin",
    "Transfer",
    "TransferKind",
    "TransferState",
    "User",
    "utcnow",
]

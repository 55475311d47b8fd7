"""A group's ledger settings (issue 4): whether payments wait for the payee's confirmation,
and the scale payers rate work on; and what a change of the group's time zone means for the
ledger (its monthly totals are kept in that zone)."""

from timebank.extensions import db
from timebank.ledger.errors import InvalidRating
from timebank.ledger.functions import call
from timebank.models import Group


def update_settings(
    *, group: Group, payments_need_confirmation: bool, rating_scale: int
) -> Group:
    """Change the group's ledger settings. ``rating_scale`` is the highest mark (2-10).

    Pending payments keep waiting when confirmation is switched off; ratings already given stay
    as they are when the scale changes. Raises :class:`InvalidRating` for a scale off 2-10.
    """
    if not isinstance(rating_scale, int) or not 2 <= rating_scale <= 10:
        raise InvalidRating()
    group.payments_need_confirmation = bool(payments_need_confirmation)
    group.rating_scale = rating_scale
    db.session.flush()
    return group


def change_time_zone(*, group: Group, timezone: str) -> Group:
    """Set the group's time zone (an IANA name, already checked) and, when it changes, rebuild
    its accounts' monthly totals in the new zone, in the caller's transaction.

    The ledger keeps each account's totals by calendar month in the group's time zone
    (``account_months``); the same entries fall into other months in another zone, so the
    rows are rebuilt from the entries by ``ledger_rebuild_months``, which first locks the
    group's accounts in the ledger's order (a transfer writing meanwhile waits, then counts
    in the new zone). One read of the group's entries: a rare act.
    """
    if group.timezone == timezone:
        return group
    group.timezone = timezone
    call("ledger_rebuild_months", group.id)  # flushes the new zone first
    return group

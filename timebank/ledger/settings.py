"""A group's ledger settings (issue 4): whether payments wait for the payee's confirmation,
and the scale payers rate work on."""

from timebank.extensions import db
from timebank.ledger.errors import InvalidRating
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

"""Possible trades with other groups: a member's ads paired with network ads of other groups,
for the digest of members who ask for them (``User.digest_includes_network``).

The pairing is the group marketplace's (:func:`timebank.marketplace.matching.matches_for`),
with other groups' network ads (:func:`timebank.marketplace.network.listing.published_ads`)
as the candidates. Only members of groups that trade with the network get them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from timebank.extensions import db
from timebank.marketplace import matching, search
from timebank.marketplace.network.listing import published_ads
from timebank.models import Ad, Group, Membership
from timebank.tenants import all_groups, group_context


def network_matches(*, membership: Membership, since: datetime | None = None,
                    limit: int = 5) -> list[dict]:
    """Return ``membership``'s possible trades with other groups' network ads (new since
    ``since``), best first, as plain values for the digest email: ``mine_title``,
    ``other_id``, ``other_title``, ``other_author``, ``other_group``."""
    with all_groups():
        group = db.session.get(Group, membership.group_id)
    if group is None or not group.trades_with_network:
        return []
    with group_context(membership.group_id):
        mine = list(db.session.scalars(
            search.visible_ads().where(Ad.author_id == membership.id)
            .order_by(Ad.created_at.desc()).limit(matching.MY_ADS_CONSIDERED)))
    if not mine:
        return []
    with all_groups():  # other groups' network ads: the network marketplace's explicit path
        candidates = published_ads().where(Ad.group_id != membership.group_id)
        found = matching.matches_for(mine, exclude_author_id=membership.id, since=since,
                                     limit=limit, candidates=candidates)
        names = dict(db.session.execute(sa.select(Group.id, Group.name).where(
            Group.id.in_({m.other.group_id for m in found}))).all())
        return [{"mine_title": m.mine.title, "other_id": m.other.id,
                 "other_title": m.other.title, "other_author": m.other.author.user.name,
                 "other_group": names.get(m.other.group_id, "")} for m in found]

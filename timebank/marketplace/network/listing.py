"""Find network ads: what the apex's ``/marketplace`` lists, searches and filters.

An ad is on the network marketplace when all of these hold (:func:`published_ads`):

* its author published it to the network (``Ad.network_published``);
* it is visible in its own group (active, not expired, by an active member);
* its group is active and trades with the network (``Group.trades_with_network``). A group that
  has not opted in, or opts out, or is suspended, is invisible: none of its ads, names or
  places appear, whatever flags its ads carry.

Text search is the group marketplace's (:mod:`timebank.marketplace.search`): words folded
like the stored columns, full-text prefix match, plus trigram word similarity where ``pg_trgm``
exists (a misspelling still finds the ad), else ``ILIKE`` on the embedded PostgreSQL. Filters:
group, place (the group's ``place``), category (by name: each group names its own), offer or
want, and "I can pay for it from my group" (:func:`payable_group_ids`).

Every query here reads across groups, on purpose and only here: each runs in a small
``with all_groups():`` block, under the conditions above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from timebank.extensions import db
from timebank.marketplace import search
from timebank.models import (
    Ad,
    AdKind,
    AdStatus,
    Category,
    Group,
    GroupStatus,
    Membership,
    MembershipStatus,
    User,
    utcnow,
)
from timebank.tenants import all_groups

PER_PAGE = 20


def published_ads(now: datetime | None = None) -> sa.Select:
    """Return a select of every ad on the network marketplace (see the module docstring).

    Run it inside ``all_groups()``: it spans groups by design.
    """
    now = now or utcnow()
    return (
        sa.select(Ad)
        .join(Membership, sa.and_(Membership.id == Ad.author_id,
                                  Membership.group_id == Ad.group_id))
        .join(Group, Group.id == Ad.group_id)
        .where(
            Ad.network_published,
            Ad.status == AdStatus.ACTIVE,
            Ad.expires_at > now,
            Membership.status == MembershipStatus.ACTIVE,
            Group.status == GroupStatus.ACTIVE,
            Group.trades_with_network,
        )
    )


def _text_match(terms: list[str], *, trigram: bool):
    """(condition, score) matching ads to ``terms`` in any group, as
    :func:`timebank.marketplace.search.text_match` does within one."""
    tsquery = search._prefix_tsquery(terms)
    arms = [Ad.search_vector.op("@@")(tsquery)]
    score = sa.func.ts_rank(Ad.search_vector, tsquery)
    for term in terms:
        if trigram and len(term) >= search.MIN_TRIGRAM_WORD:
            arms.append(Ad.search_text.op("%>")(term))
            score = score + sa.func.word_similarity(term, Ad.search_text)
        elif not trigram:
            like = Ad.search_text.ilike(search._like_pattern(search.word_prefix(term)),
                                        escape="\\")
            arms.append(like)
            score = score + sa.case((like, 1.0), else_=0.0)
    return sa.or_(*arms), score


def viewer_groups(user: User | None) -> list[tuple[Membership, Group]]:
    """Return ``user``'s active memberships in active groups, by group name (none when logged
    out). The user's own rows: read across groups like "My timebanks"."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    with all_groups():
        return [tuple(row) for row in db.session.execute(
            sa.select(Membership, Group)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.user_id == user.id,
                   Membership.status == MembershipStatus.ACTIVE,
                   Group.status == GroupStatus.ACTIVE)
            .order_by(Group.name)
        )]


def payable_group_ids(user: User | None) -> set[int]:
    """Return the ids of the groups that trade with one of ``user``'s groups (per
    :func:`timebank.trading.service.trading_partners_of`): the groups whose members ``user``
    can pay from a group of their own. Empty when logged out."""
    from timebank.trading.service import trading_partners_of

    ids: set[int] = set()
    for _membership, group in viewer_groups(user):
        ids.update(partner.id for partner in trading_partners_of(group))
    return ids


def payer_groups(user: User | None, ad_group_id: int) -> list[tuple[Membership, Group]]:
    """Return ``user``'s memberships (with their groups) from which they can pay a member of
    group ``ad_group_id``: those whose group trades with it."""
    from timebank.trading.service import trading_partners_of

    return [
        (membership, group) for membership, group in viewer_groups(user)
        if group.id != ad_group_id
        and any(partner.id == ad_group_id for partner in trading_partners_of(group))
    ]


@dataclass
class NetworkSearchResult:
    ads: list[Ad]
    total: int
    page: int
    pages: int
    sort: str
    groups: dict[int, Group] = field(default_factory=dict)


def search_network_ads(
    *,
    query: str = "",
    kind: AdKind | None = None,
    group_id: int | None = None,
    place: str = "",
    category: str = "",
    payable_by: User | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> NetworkSearchResult:
    """Return one page of network ads matching the filters, best match first with a query,
    newest first without one. ``category`` is a category name (case-insensitive), ``place``
    a group's place; with ``payable_by`` only ads of groups that user can pay
    (:func:`payable_group_ids`)."""
    statement = published_ads()
    if payable_by is not None:
        payable = payable_group_ids(payable_by)
        statement = statement.where(Ad.group_id.in_(payable) if payable else sa.false())
    terms = search.search_terms(query)
    score = None
    with all_groups():
        if terms:
            trigram = search.trigram_available()
            if trigram:
                search.use_similarity_threshold()
            condition, score = _text_match(terms, trigram=trigram)
            statement = statement.where(condition)
        if kind is not None:
            statement = statement.where(Ad.kind == kind)
        if group_id:
            statement = statement.where(Ad.group_id == group_id)
        if place:
            statement = statement.where(sa.func.lower(Group.place) == place.strip().lower())
        if category:
            statement = statement.join(
                Category, sa.and_(Category.group_id == Ad.group_id, Category.id == Ad.category_id)
            ).where(sa.func.lower(Category.name) == category.strip().lower())
        if score is not None:
            statement = statement.order_by(score.desc(), Ad.created_at.desc(), Ad.id.desc())
            sort = "relevance"
        else:
            statement = statement.order_by(Ad.created_at.desc(), Ad.id.desc())
            sort = "newest"
        found = search.paginate(statement, page=page, per_page=per_page, sort=sort)
        groups = {g.id: g for g in db.session.scalars(
            sa.select(Group).where(Group.id.in_({ad.group_id for ad in found.ads})))}
    return NetworkSearchResult(ads=found.ads, total=found.total, page=found.page,
                               pages=found.pages, sort=sort, groups=groups)


@dataclass
class FilterChoices:
    groups: list[Group]
    places: list[str]
    categories: list[str]


def filter_choices() -> FilterChoices:
    """Return what the filters offer: the trading groups with network ads, their places and
    the categories those ads are filed under (names, alphabetical)."""
    ads = published_ads().subquery()
    with all_groups():
        groups = list(db.session.scalars(
            sa.select(Group).where(Group.id.in_(sa.select(ads.c.group_id)))
            .order_by(Group.name)
        ))
        categories = sorted(set(db.session.scalars(
            sa.select(Category.name).join(
                ads, sa.and_(ads.c.group_id == Category.group_id,
                             ads.c.category_id == Category.id))
        )), key=str.casefold)
    places = sorted({g.place.strip() for g in groups if g.place.strip()}, key=str.casefold)
    return FilterChoices(groups=groups, places=places, categories=categories)


def network_ad(ad_id: int) -> tuple[Ad, Group] | None:
    """Return the network ad ``ad_id`` and its group, or None when it is not on the network
    marketplace (unpublished, hidden in its group, or of a group that does not trade)."""
    with all_groups():
        ad = db.session.scalar(published_ads().where(Ad.id == ad_id))
        if ad is None:
            return None
        ad.author, ad.category, ad.price_currency  # noqa: B018 - load while unscoped
        return ad, db.session.get(Group, ad.group_id)


def price_in_payer_currency(ad: Ad, payer_group_id: int) -> int | None:
    """Return ``ad``'s price in subunits of the payer group's first active currency (the one
    ``/trading/pay`` pays in by default), converted through both currencies' value in network
    hours and rounded up, so the author receives at least the price; None without a price."""
    from decimal import ROUND_CEILING, Decimal

    from timebank.models import Currency

    if ad.price_amount is None or ad.price_currency is None:
        return None
    with all_groups():
        payer_currency = db.session.scalar(
            sa.select(Currency).where(Currency.group_id == payer_group_id, Currency.is_active)
            .order_by(Currency.id).limit(1))
    if payer_currency is None:
        return None

    def seconds_per_subunit(currency) -> Decimal:
        return Decimal(currency.hour_value) * 3600 / currency.subunits_per_unit

    value = ad.price_amount * seconds_per_subunit(ad.price_currency)
    return int((value / seconds_per_subunit(payer_currency)).to_integral_value(ROUND_CEILING))

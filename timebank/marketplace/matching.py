"""Pair wants with offers ("possible trades").

For each of a member's active ads, the significant words of its title and tags (4+ characters,
minus a short list of words every ad uses, in the shipped languages) are looked up in the other
kind's ads of the same group, exactly as a search would (full-text prefix match, plus trigram
word similarity where ``pg_trgm`` exists). Pairs are ranked by how many words matched and how
closely. Everything runs as one query, however many ads the member has.

The pairs are stored (``ad_matches``): :func:`refresh_ad_matches` re-pairs one ad when it is
posted, edited, paused or renewed (in the same transaction), the hourly marketplace job drops
the pairs of ads that stopped being visible, and :func:`rebuild_matches` (nightly) re-pairs
every ad of every group. Pages read them with :func:`possible_trades` and :func:`stored_matches`,
one indexed query each; the dashboard, which lists only titles and a name, with
:func:`possible_trades_in_brief` (the same pairs as columns, no ad loaded).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from timebank.extensions import db
from timebank.marketplace.search import (
    MIN_TRIGRAM_WORD,
    search_terms,
    trigram_available,
    use_similarity_threshold,
    visible_ads,
    word_prefix,
)
from timebank.models import (
    Ad,
    AdKind,
    AdMatch,
    AdStatus,
    Group,
    Membership,
    MembershipStatus,
    User,
)
from timebank.models.base import shared_alias, utcnow
from timebank.tenants import all_groups, current_group_id, group_context

MY_ADS_CONSIDERED = 20
# How many counterparts are stored for each ad (the matches page shows 50 a member).
STORED_PER_AD = 50
TERMS_PER_AD = 8
# Words nearly every ad contains; matching on them pairs everything with everything.
COMMON_WORDS = frozenset(
    """
    with from have need needs want wants wanted offer offers offering looking some your this
    that help please anyone someone something time hour hours good nice free small large
    para pour avec sans dans sont busco necesito ofrezco ofrece tengo algo alguien quien
    cerca chez besoin cherche propose offre mit fur eine einen einem suche biete brauche
    cerco offro serve voor zoek zoekt bied biedt heb precis ofereco procuro preciso
    """.split()
)


@dataclass
class Match:
    """``mine`` (the member's ad) and ``other`` (someone else's ad of the other kind)."""

    mine: Ad
    other: Ad
    score: float


def match_terms(ad: Ad) -> list[str]:
    """Return the words of ``ad``'s title and tags used to find its counterparts."""
    words = search_terms(" ".join([ad.title, *(ad.tags or [])]), limit=50)
    return [w for w in words if len(w) >= MIN_TRIGRAM_WORD and w not in COMMON_WORDS][
        :TERMS_PER_AD
    ]


def matches_for(
    ads: list[Ad], *, exclude_author_id: int, since: datetime | None = None, limit: int = 10,
    candidates: sa.Select | None = None,
) -> list[Match]:
    """Return the best counterparts of ``ads`` among the group's visible ads of the other kind
    (not by ``exclude_author_id``), best first. With ``since``, only pairs in which one of the
    two ads was posted after that time (new matches, for the digest). ``candidates`` (a select
    of ads) replaces the group's visible ads: the network marketplace passes other groups'
    network ads (:mod:`timebank.marketplace.network.matching`)."""
    rows = [(ad.id, ad.kind.opposite.value, term, word_prefix(term) + ":*")
            for ad in ads for term in match_terms(ad)]
    if not rows:
        return []
    trigram = trigram_available()
    if trigram:
        use_similarity_threshold()
    terms = sa.values(
        sa.column("ad_id", sa.Integer),
        sa.column("wanted_kind", sa.String),
        sa.column("term", sa.Text),
        sa.column("prefix", sa.Text),
        name="terms",
    ).data(rows)
    if candidates is None:
        candidates = visible_ads().where(Ad.group_id == current_group_id())
    other = (
        candidates
        .with_only_columns(Ad.id, Ad.kind, Ad.author_id, Ad.created_at, Ad.search_text,
                           Ad.search_vector)
        .subquery("other")
    )
    tsquery = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), terms.c.prefix)
    word_matches = other.c.search_vector.op("@@")(tsquery)
    if trigram:
        word_matches = sa.or_(word_matches, other.c.search_text.op("%>")(terms.c.term))
        closeness = sa.func.word_similarity(terms.c.term, other.c.search_text)
    else:
        closeness = sa.case(
            (other.c.search_text.contains(terms.c.term, autoescape=False), 1.0), else_=0.5
        )
    score = (sa.func.count(sa.distinct(terms.c.term)) + sa.func.max(closeness)).label("score")
    statement = (
        sa.select(terms.c.ad_id, other.c.id, score)
        .select_from(terms)
        .join(
            other,
            sa.and_(
                sa.cast(other.c.kind, sa.String) == terms.c.wanted_kind,
                other.c.author_id != exclude_author_id,
                word_matches,
            ),
        )
        .group_by(terms.c.ad_id, other.c.id)
        .order_by(sa.desc("score"), other.c.id.desc())
    )
    if since is not None:
        mine_new = {ad.id for ad in ads if ad.created_at > since}
        is_new = other.c.created_at > since
        if mine_new:
            is_new = sa.or_(is_new, terms.c.ad_id.in_(mine_new))
        statement = statement.where(is_new)
    found = db.session.execute(statement.limit(limit * 3)).all()
    by_id = {ad.id: ad for ad in ads}
    others = {
        ad.id: ad
        for ad in db.session.scalars(
            sa.select(Ad)
            .where(Ad.id.in_({row[1] for row in found}))
            .options(selectinload(Ad.author), selectinload(Ad.price_currency))
        )
    }
    matches: list[Match] = []
    seen_pairs: set[tuple[int, int]] = set()
    for mine_id, other_id, value in found:
        if (mine_id, other_id) in seen_pairs or other_id not in others:
            continue
        seen_pairs.add((mine_id, other_id))
        matches.append(Match(mine=by_id[mine_id], other=others[other_id], score=float(value)))
        if len(matches) >= limit:
            break
    return matches


def _store(matches: list[Match]) -> None:
    """Insert ``matches`` into ``ad_matches``; a pair already stored keeps its row."""
    rows = []
    for match in matches:
        want, offer = ((match.mine, match.other) if match.mine.kind == AdKind.WANT
                       else (match.other, match.mine))
        rows.append({"group_id": want.group_id, "want_id": want.id, "offer_id": offer.id,
                     "want_author_id": want.author_id, "offer_author_id": offer.author_id,
                     "score": match.score, "created_at": utcnow()})
    if rows:
        db.session.execute(
            insert(AdMatch).values(rows).on_conflict_do_nothing(
                index_elements=["group_id", "want_id", "offer_id"])
        )


def refresh_ad_matches(ad: Ad) -> None:
    """Re-pair ``ad`` after it was posted, edited, paused or renewed: drop its stored pairs
    and, while others may see it, store its best counterparts (up to ``STORED_PER_AD``)."""
    db.session.flush()
    db.session.execute(
        sa.delete(AdMatch)
        .where(AdMatch.group_id == ad.group_id,
               sa.or_(AdMatch.want_id == ad.id, AdMatch.offer_id == ad.id))
        .execution_options(synchronize_session=False)
    )
    if ad.status != AdStatus.ACTIVE or ad.expires_at <= utcnow():
        return
    _store(matches_for([ad], exclude_author_id=ad.author_id, limit=STORED_PER_AD))


def rebuild_matches() -> int:
    """Re-pair every visible ad of the current group (each author's newest
    ``MY_ADS_CONSIDERED`` ads, one query per author); return how many pairs are stored."""
    db.session.execute(sa.delete(AdMatch).execution_options(synchronize_session=False))
    by_author: dict[int, list[Ad]] = {}
    for ad in db.session.scalars(visible_ads().order_by(Ad.author_id, Ad.created_at.desc())):
        ads = by_author.setdefault(ad.author_id, [])
        if len(ads) < MY_ADS_CONSIDERED:
            ads.append(ad)
    for author_id, ads in by_author.items():
        _store(matches_for(ads, exclude_author_id=author_id, limit=STORED_PER_AD * len(ads)))
    return db.session.scalar(sa.select(sa.func.count()).select_from(AdMatch)) or 0


def rebuild_all_matches() -> None:
    """Job (rq cron, nightly): :func:`rebuild_matches` in every group, one group at a time."""
    with all_groups():
        group_ids = list(db.session.scalars(sa.select(Group.id).order_by(Group.id)))
    for group_id in group_ids:
        with group_context(group_id):
            rebuild_matches()
            db.session.flush()


def drop_invisible_matches() -> int:
    """Delete, in every group, the stored pairs of which one ad others can no longer see
    (paused, expired, or by a member who is not active); return how many."""
    now = utcnow()
    hidden = (
        sa.select(Ad.id)
        .join(Membership, sa.and_(Membership.id == Ad.author_id,
                                  Membership.group_id == Ad.group_id))
        .where(sa.or_(Ad.status != AdStatus.ACTIVE, Ad.expires_at <= now,
                      Membership.status != MembershipStatus.ACTIVE))
    )
    with all_groups():
        result = db.session.execute(
            sa.delete(AdMatch)
            .where(sa.or_(AdMatch.want_id.in_(hidden), AdMatch.offer_id.in_(hidden)))
            .execution_options(synchronize_session=False)
        )
    return result.rowcount


# Built once per process: an alias adapts its columns the first time it is used, which cost
# ~15 ms of CPU on every dashboard when the aliases were built in each call.
_MINE, _OTHER = shared_alias(Ad, name="mine"), shared_alias(Ad, name="other")
_OTHER_AUTHOR = shared_alias(Membership, name="other_author")


def _stored_pairs(*columns, mine_id, where, since: datetime | None, limit,
                  now=None) -> sa.Select:
    """Return a select of ``columns`` over the stored pairs ``where`` picks, visible ones only,
    best first: the one place the rules of what a member may see of them are written.

    ``mine_id`` is the SQL expression naming the member's own ad of each pair. The pair's two
    ads are :data:`_MINE` and :data:`_OTHER`, the other ad's author :data:`_OTHER_AUTHOR`; both
    ads must be active and unexpired (at ``now``: the current time unless given, which a
    statement built once gives as a bind parameter, as it does ``limit``) and the other author
    an active member. With ``since``, only pairs in which one of the two ads was posted after
    that time.
    """
    mine, other, other_author = _MINE, _OTHER, _OTHER_AUTHOR
    other_id = sa.case((AdMatch.want_id == mine_id, AdMatch.offer_id), else_=AdMatch.want_id)
    if now is None:
        now = utcnow()
    statement = (
        sa.select(*columns)
        .select_from(AdMatch)
        .join(mine, sa.and_(mine.group_id == AdMatch.group_id, mine.id == mine_id))
        .join(other, sa.and_(other.group_id == AdMatch.group_id, other.id == other_id))
        .join(other_author, sa.and_(other_author.group_id == other.group_id,
                                    other_author.id == other.author_id))
        .where(
            where,
            mine.status == AdStatus.ACTIVE, mine.expires_at > now,
            other.status == AdStatus.ACTIVE, other.expires_at > now,
            other_author.status == MembershipStatus.ACTIVE,
        )
        .order_by(AdMatch.score.desc(), other.id.desc())
        .limit(limit)
    )
    if since is not None:
        statement = statement.where(sa.or_(mine.created_at > since, other.created_at > since))
    return statement


def _read_stored(*, mine_id, where, since: datetime | None, limit: int) -> list[Match]:
    """Return the pairs :func:`_stored_pairs` selects as :class:`Match`, with both ads, the
    other ad's author (and their user), category and price currency, in one statement."""
    statement = _stored_pairs(
        _MINE, _OTHER, AdMatch.score, mine_id=mine_id, where=where, since=since, limit=limit,
    ).options(
        contains_eager(_OTHER.author.of_type(_OTHER_AUTHOR)),
        joinedload(_OTHER.category),
        joinedload(_OTHER.price_currency),
    )
    return [Match(mine=m, other=o, score=float(score))
            for m, o, score in db.session.execute(statement).unique()]


def _pairs_of(membership_id) -> tuple[sa.ColumnElement, sa.ColumnElement[bool]]:
    """Return (``mine_id``, ``where``) for :func:`_stored_pairs`: the pairs in which one ad is
    the member's whose id is ``membership_id`` (an int, or a bind parameter), that ad being
    "mine"."""
    is_want_side = AdMatch.want_author_id == membership_id
    mine_id = sa.case((is_want_side, AdMatch.want_id), else_=AdMatch.offer_id)
    return mine_id, sa.or_(is_want_side, AdMatch.offer_author_id == membership_id)


def possible_trades(
    *, membership: Membership, since: datetime | None = None, limit: int = 10
) -> list[Match]:
    """Return ``membership``'s possible trades: its visible ads paired with other members'
    visible ads of the other kind, best first, as stored (one indexed query). With ``since``,
    only pairs in which one of the two ads was posted after that time."""
    mine_id, where = _pairs_of(membership.id)
    return _read_stored(mine_id=mine_id, where=where, since=since, limit=limit)


@functools.cache
def _brief_statement() -> sa.Select:
    """The statement :func:`possible_trades_in_brief` runs, built once per process (on first
    use): building it and its cache key cost more CPU than running it. Its parameters are
    ``membership_id``, ``now`` and ``limit``; the tenant hook still adds the group's criteria
    each time it runs."""
    mine_id, where = _pairs_of(sa.bindparam("membership_id", type_=sa.Integer))
    return _stored_pairs(
        _OTHER.id.label("other_id"),
        _OTHER.title.label("other_title"),
        User.name.label("other_author_name"),
        _MINE.title.label("mine_title"),
        _MINE.kind.label("mine_kind"),
        mine_id=mine_id, where=where, since=None,
        limit=sa.bindparam("limit", type_=sa.Integer),
        now=sa.bindparam("now", type_=sa.DateTime(timezone=True)),
    ).join(User, User.id == _OTHER_AUTHOR.user_id)


def possible_trades_in_brief(*, membership: Membership, limit: int = 5) -> list[sa.Row]:
    """Return what the dashboard lists of ``membership``'s possible trades (the pairs
    :func:`possible_trades` returns, best first) as rows of ``other_id``, ``other_title``,
    ``other_author_name``, ``mine_title`` and ``mine_kind`` (an :class:`AdKind`): one
    statement of columns, no ad loaded."""
    return list(db.session.execute(
        _brief_statement(), {"membership_id": membership.id, "now": utcnow(), "limit": limit}))


def stored_matches(ad: Ad, *, limit: int = 5) -> list[Match]:
    """Return the stored counterparts of ``ad``, best first (one indexed query)."""
    return _read_stored(
        mine_id=sa.literal(ad.id),
        where=sa.or_(AdMatch.want_id == ad.id, AdMatch.offer_id == ad.id),
        since=None, limit=limit,
    )

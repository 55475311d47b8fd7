"""Pair wants with offers ("possible trades").

For each of a member's active ads, the significant words of its title and tags (4+ characters,
minus a short list of words every ad uses, in the shipped languages) are looked up in the other
kind's ads of the same group, exactly as a search would (full-text prefix match, plus trigram
word similarity where ``pg_trgm`` exists). Pairs are ranked by how many words matched and how
closely. Everything runs as one query, however many ads the member has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from timebank.extensions import db
from timebank.marketplace.search import (
    MIN_TRIGRAM_WORD,
    search_terms,
    trigram_available,
    use_similarity_threshold,
    visible_ads,
    word_prefix,
)
from timebank.models import Ad, Membership
from timebank.tenants import current_group_id

MY_ADS_CONSIDERED = 20
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
    network ads (:mod:`timebank.network_marketplace.matching`)."""
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


def possible_trades(
    *, membership: Membership, since: datetime | None = None, limit: int = 10
) -> list[Match]:
    """Return ``membership``'s possible trades: its active ads paired with other members' ads
    of the other kind, best first (see :func:`matches_for`)."""
    mine = list(
        db.session.scalars(
            visible_ads()
            .where(Ad.author_id == membership.id)
            .order_by(Ad.created_at.desc())
            .limit(MY_ADS_CONSIDERED)
        )
    )
    return matches_for(mine, exclude_author_id=membership.id, since=since, limit=limit)

"""Find ads: filters, sort orders and typo-tolerant text search.

How text search works (DESIGN.md, "Marketplace and kudos"):

* The query is folded like the stored columns (lower case, accents removed) and split into
  words: ``"Organic-Vegetables"`` -> ``organic``, ``vegetables``.
* An ad matches when any word matches, either by **full text** (``search_vector``, prefix match
  on the word less its last two letters when long: ``veg`` finds "vegetables", ``vegetables``
  finds "vegetable") or, where the ``pg_trgm`` extension exists, by **trigram word
  similarity** on the title and tags (``search_text %> word``, threshold
  :data:`WORD_SIMILARITY_THRESHOLD`): ``vegetalbes`` finds "vegetables". Results are ordered by
  relevance (full-text rank plus similarity) unless another order is chosen.
* Both columns are indexed by GIN indexes that start with ``group_id`` (``btree_gin``), so a
  search reads only the current group's postings.

Fallback: the embedded development server (pgserver) ships neither ``pg_trgm`` nor ``unaccent``.
There the migration folds accents with ``translate()`` and this module detects the missing
extension and matches words by full text and by substring (``ILIKE``) instead: accents and
partial words still work, misspellings do not. Set ``MARKETPLACE_TRIGRAM = False`` to force the
fallback (tests do, to cover it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager, selectinload

from timebank.extensions import db
from timebank.models import (
    Account,
    Ad,
    AdKind,
    AdStatus,
    Currency,
    GoodsOrService,
    Membership,
    MembershipStatus,
    User,
    utcnow,
)
from timebank.tenants import current_group_id

WORD_SIMILARITY_THRESHOLD = 0.5  # "vegetalbes" vs "vegetables" scores 0.55
MIN_TRIGRAM_WORD = 4  # shorter words match by prefix only: trigrams of "tea" match too much
MAX_TERMS = 6
SORTS = ("relevance", "newest", "expiry", "balance")
_trigram_cache: dict[str, bool] = {}


def trigram_available() -> bool:
    """Return whether ``pg_trgm`` is installed in this database (checked once per database)."""
    setting = current_app.config.get("MARKETPLACE_TRIGRAM")
    if setting is not None:
        return bool(setting)
    key = str(db.engine.url)
    if key not in _trigram_cache:
        _trigram_cache[key] = db.session.scalar(
            sa.text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')")
        )
    return _trigram_cache[key]


def fold(text: str) -> str:
    """Return ``text`` lower case without accents, as the stored search columns hold it."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.lower().replace("ß", "ss").replace("ø", "o").replace("ł", "l")


def search_terms(text: str, *, limit: int = MAX_TERMS) -> list[str]:
    """Return the distinct words of ``text`` worth searching for (folded, 2+ characters)."""
    terms: list[str] = []
    for word in re.findall(r"\w+", fold(text)):
        word = word.strip("_")
        if len(word) >= 2 and word not in terms:
            terms.append(word)
    return terms[:limit]


def _like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def word_prefix(term: str) -> str:
    """Return the prefix a word is matched by: long words lose their last two letters, so
    plurals and other endings meet (``vegetables`` -> ``vegetabl``, ``clases`` -> ``clas``)."""
    return term[: max(4, len(term) - 2)] if len(term) > 5 else term


def _prefix_tsquery(terms: list[str]):
    # Terms are \w+ only, so they cannot carry tsquery operators.
    return sa.func.to_tsquery(
        sa.literal_column("'simple'::regconfig"),
        " | ".join(f"{word_prefix(t)}:*" for t in terms),
    )


def use_similarity_threshold() -> None:
    """Set this transaction's ``pg_trgm`` word-similarity threshold (for the ``%>`` operator)."""
    db.session.execute(
        sa.text("SELECT set_config('pg_trgm.word_similarity_threshold', :value, true)"),
        {"value": str(WORD_SIMILARITY_THRESHOLD)},
    )


def text_match(terms: list[str], *, trigram: bool):
    """Return (condition, score) SQL expressions matching ads to ``terms`` (see module doc)."""
    group_id = current_group_id()
    tsquery = _prefix_tsquery(terms)
    arms = [sa.and_(Ad.group_id == group_id, Ad.search_vector.op("@@")(tsquery))]
    score = sa.func.ts_rank(Ad.search_vector, tsquery)
    for term in terms:
        if trigram and len(term) >= MIN_TRIGRAM_WORD:
            arms.append(sa.and_(Ad.group_id == group_id, Ad.search_text.op("%>")(term)))
            score = score + sa.func.word_similarity(term, Ad.search_text)
        elif not trigram:
            like = Ad.search_text.ilike(_like_pattern(word_prefix(term)), escape="\\")
            arms.append(sa.and_(Ad.group_id == group_id, like))
            score = score + sa.case((like, 1.0), else_=0.0)
    return sa.or_(*arms), score


def visible_ads(now: datetime | None = None) -> sa.Select:
    """Return a select of the current group's ads a member may see: active, not past their
    expiry, by an active (not suspended, not departed) member."""
    now = now or utcnow()
    return (
        sa.select(Ad)
        .join(Membership, sa.and_(Membership.id == Ad.author_id,
                                  Membership.group_id == Ad.group_id))
        .where(
            Ad.status == AdStatus.ACTIVE,
            Ad.expires_at > now,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )


def default_currency_id():
    """SQL for the id of the group's default currency (its first active one)."""
    return (
        sa.select(sa.func.min(Currency.id)).where(Currency.is_active).scalar_subquery()
    )


@dataclass
class SearchResult:
    ads: list[Ad]
    total: int
    page: int
    pages: int
    sort: str


def search_ads(
    *,
    query: str = "",
    kind: AdKind | None = None,
    category_id: int | None = None,
    goods_or_service: GoodsOrService | None = None,
    author_id: int | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
) -> SearchResult:
    """Return one page of the current group's visible ads matching the filters.

    ``sort`` is ``relevance`` (the default with a query; newest first without one),
    ``newest``, ``expiry`` (nearest expiry first) or ``balance`` (the author's balance in the
    default currency, lowest first, to bring trade to those who need it).
    """
    statement, sort = ad_search_statement(
        query=query, kind=kind, category_id=category_id, goods_or_service=goods_or_service,
        author_id=author_id, sort=sort,
    )
    return paginate(statement, page=page, per_page=per_page, sort=sort)


def ad_search_statement(
    *,
    query: str = "",
    kind: AdKind | None = None,
    category_id: int | None = None,
    goods_or_service: GoodsOrService | None = None,
    author_id: int | None = None,
    sort: str = "relevance",
) -> tuple[sa.Select, str]:
    """Return the ordered select behind :func:`search_ads` and the sort actually used.

    With a query on a database with ``pg_trgm``, this sets the transaction's word-similarity
    threshold first (:func:`use_similarity_threshold`).
    """
    terms = search_terms(query)
    trigram = bool(terms) and trigram_available()
    statement = visible_ads()
    score = None
    if terms:
        if trigram:
            use_similarity_threshold()
        condition, score = text_match(terms, trigram=trigram)
        statement = statement.where(condition)
    if kind is not None:
        statement = statement.where(Ad.kind == kind)
    if category_id:
        statement = statement.where(Ad.category_id == category_id)
    if goods_or_service is not None:
        statement = statement.where(Ad.goods_or_service == goods_or_service)
    if author_id:
        statement = statement.where(Ad.author_id == author_id)

    if sort not in SORTS or (sort == "relevance" and score is None):
        sort = "relevance" if score is not None else "newest"
    if sort == "relevance":
        statement = statement.order_by(score.desc(), Ad.created_at.desc(), Ad.id.desc())
    elif sort == "expiry":
        statement = statement.order_by(Ad.expires_at.asc(), Ad.id.desc())
    elif sort == "balance":
        statement = statement.outerjoin(
            Account,
            sa.and_(Account.membership_id == Ad.author_id,
                    Account.currency_id == default_currency_id()),
        ).order_by(Account.balance.asc().nulls_last(), Ad.created_at.desc(), Ad.id.desc())
    else:
        statement = statement.order_by(Ad.created_at.desc(), Ad.id.desc())
    return statement, sort


def paginate(statement: sa.Select, *, page: int, per_page: int, sort: str = "") -> SearchResult:
    """Run an ordered select of ads for one page, counting all matches in the same query
    (``count(*) OVER ()``: the filter is evaluated once); a page past the end shows the last.
    """
    per_page = max(1, min(per_page, 100))
    page = max(1, page)
    statement = statement.add_columns(sa.func.count().over().label("total")).options(
        contains_eager(Ad.author),
        selectinload(Ad.category),
        selectinload(Ad.price_currency),
    )

    def fetch(number: int) -> list:
        return db.session.execute(
            statement.limit(per_page).offset((number - 1) * per_page)
        ).all()

    rows = fetch(page)
    if not rows and page > 1:
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(
                statement.order_by(None).limit(None).subquery()
            )
        ) or 0
        page = max(1, -(-total // per_page))
        rows = fetch(page) if total else []
    total = rows[0].total if rows else 0
    pages = max(1, -(-total // per_page))
    return SearchResult(ads=[row[0] for row in rows], total=total, page=page, pages=pages,
                        sort=sort)


def search_members(*, query: str = "", limit: int = 50) -> list[Membership]:
    """Return the current group's active members whose name, bio (skills) or ads' titles and
    tags match ``query`` (all active members, by name, when it is empty)."""
    statement = (
        sa.select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE)
    )
    terms = search_terms(query)
    if terms:
        trigram = trigram_available()
        if trigram:
            use_similarity_threshold()
        person_text = sa.func.lower(
            sa.func.timebank_unaccent(User.name + sa.literal(" ") + User.bio)
        )
        visible = visible_ads().with_only_columns(Ad.author_id)
        arms = []
        for term in terms:
            arms.append(person_text.ilike(_like_pattern(term), escape="\\"))
            if trigram and len(term) >= MIN_TRIGRAM_WORD:
                arms.append(person_text.op("%>")(term))
        ad_condition, _ = text_match(terms, trigram=trigram)
        arms.append(Membership.id.in_(visible.where(ad_condition)))
        statement = statement.where(sa.or_(*arms))
    return list(db.session.scalars(statement.order_by(User.name, Membership.id).limit(limit)))

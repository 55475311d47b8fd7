"""Marketplace writes: ads, categories, favourites and the group's marketplace settings.

Rules enforced here:

* only the author or a coordinator (``marketplace.moderate``) edits, pauses or renews an ad;
* when the group publishes over ActivityPub, its followers are told of a new ad, of an edit
  of a visible one and of a visible ad's closing (:mod:`timebank.marketplace.fediverse`);
* a title has 1 to 120 characters, a body at most 10,000; at most 10 tags of 40 characters;
* category and price currency are the current group's own (an id from another group is
  "unknown", exactly like an id that does not exist);
* a price is complete (amount in subunits > 0, currency, unit) or absent;
* an ad lasts the group's ``ad_lifetime_days`` (default 90) and is renewed for as long again;
* a new group gets a default set of categories named in its own language.

Functions take keyword-only arguments, raise :class:`~timebank.marketplace.errors.MarketplaceError`
subclasses and never commit. Photos are written to disk only after every check has passed.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from timebank.extensions import db
from timebank.federation import service as federation
from timebank.ledger.amounts import MAX_UNITS
from timebank.marketplace import fediverse, matching, photos
from timebank.marketplace.errors import (
    BodyTooLong,
    CategoryNameTaken,
    InvalidCategoryName,
    InvalidLifetime,
    InvalidPrice,
    InvalidTags,
    InvalidTitle,
    NotAllowed,
    UnknownCategory,
    UnknownCurrency,
)
from timebank.models import (
    Ad,
    AdKind,
    AdStatus,
    Category,
    Currency,
    DigestFrequency,
    FavouriteAd,
    FavouriteMember,
    GoodsOrService,
    MarketplaceSettings,
    Membership,
    PriceUnit,
    User,
    utcnow,
)
from timebank.models.marketplace import (
    BODY_MAX,
    CATEGORY_NAME_MAX,
    TAG_MAX,
    TAGS_PER_AD,
    TITLE_MAX,
)
from timebank.paging import Page, keyset_objects
from timebank.policy import can
from timebank.tasks import enqueue

DEFAULT_AD_LIFETIME_DAYS = 90


# --- settings and categories -------------------------------------------------------------------


def ad_lifetime_days() -> int:
    """Return how many days a new or renewed ad lasts in the current group."""
    days = db.session.scalar(sa.select(MarketplaceSettings.ad_lifetime_days))
    return days or DEFAULT_AD_LIFETIME_DAYS


def set_ad_lifetime(*, days: int) -> MarketplaceSettings:
    """Set how many days ads last in the current group (1-730). Raises InvalidLifetime."""
    if not isinstance(days, int) or not 1 <= days <= 730:
        raise InvalidLifetime()
    settings = db.session.scalar(sa.select(MarketplaceSettings))
    if settings is None:
        settings = MarketplaceSettings()
        db.session.add(settings)
    settings.ad_lifetime_days = days
    db.session.flush()
    return settings


def default_category_names() -> list[str]:
    """Return the default category names in the current locale (called under force_locale)."""
    return [
        _("Home and garden"),
        _("Food and cooking"),
        _("Repairs and DIY"),
        _("Transport"),
        _("Care and wellbeing"),
        _("Children and family"),
        _("Lessons and languages"),
        _("Computers and technology"),
        _("Arts, crafts and music"),
        _("Clothes and household goods"),
        _("Other"),
    ]


def create_default_categories() -> list[Category]:
    """Create the default categories in the current group, named in the current locale.

    Provisioning calls this inside ``force_locale(group.default_locale)``.
    """
    categories = [Category(name=name[:CATEGORY_NAME_MAX], position=index)
                  for index, name in enumerate(default_category_names())]
    db.session.add_all(categories)
    db.session.flush()
    return categories


def categories() -> list[Category]:
    """Return the current group's categories in display order."""
    return list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.name)))


def _category_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > CATEGORY_NAME_MAX:
        raise InvalidCategoryName()
    return name


def _check_category_name_free(name: str, *, except_id: int | None = None) -> None:
    clash = db.session.scalar(
        sa.select(Category.id).where(sa.func.lower(Category.name) == name.lower())
    )
    if clash is not None and clash != except_id:
        raise CategoryNameTaken()


def create_category(*, name: str) -> Category:
    """Add a category at the end. Raises InvalidCategoryName or CategoryNameTaken."""
    name = _category_name(name)
    _check_category_name_free(name)
    position = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Category.position), -1)))
    category = Category(name=name, position=position + 1)
    db.session.add(category)
    db.session.flush()
    return category


def rename_category(*, category: Category, name: str) -> Category:
    """Rename a category. Raises InvalidCategoryName or CategoryNameTaken."""
    name = _category_name(name)
    _check_category_name_free(name, except_id=category.id)
    category.name = name
    db.session.flush()
    return category


def delete_category(*, category: Category) -> None:
    """Delete a category; its ads stay, without a category."""
    db.session.execute(
        sa.update(Ad).where(Ad.category_id == category.id).values(category_id=None)
    )
    db.session.delete(category)
    db.session.flush()


# --- ads ----------------------------------------------------------------------------------------


def can_edit_ad(membership: Membership | None, ad: Ad) -> bool:
    """Return whether ``membership`` may edit, pause or renew ``ad`` (author or coordinator)."""
    if membership is None or not membership.is_active:
        return False
    return ad.author_id == membership.id or can(membership, "marketplace.moderate")


def _require_editor(editor: Membership, ad: Ad) -> None:
    if not can_edit_ad(editor, ad):
        raise NotAllowed()


def normalize_tags(tags: list[str] | str | None) -> list[str]:
    """Return tags lower case, trimmed, without duplicates. Accepts a comma-separated string.

    Raises :class:`InvalidTags` for more than 10 tags or one longer than 40 characters.
    """
    if isinstance(tags, str):
        tags = tags.split(",")
    result: list[str] = []
    for tag in tags or []:
        tag = " ".join(tag.strip().lstrip("#").lower().split())
        if not tag or tag in result:
            continue
        if len(tag) > TAG_MAX:
            raise InvalidTags()
        result.append(tag)
    if len(result) > TAGS_PER_AD:
        raise InvalidTags()
    return result


def _checked_fields(
    *,
    title: str,
    body: str,
    category_id: int | None,
    tags,
    price_amount: int | None,
    price_currency_id: int | None,
    price_unit: PriceUnit | None,
) -> dict:
    title = " ".join((title or "").split())
    if not title or len(title) > TITLE_MAX:
        raise InvalidTitle()
    body = (body or "").strip()
    if len(body) > BODY_MAX:
        raise BodyTooLong()
    if category_id is not None and db.session.get(Category, category_id) is None:
        raise UnknownCategory()
    if price_amount is None and price_currency_id is None:
        price_unit = None
    else:
        if price_amount is None or price_currency_id is None or price_unit is None:
            raise InvalidPrice()
        currency = db.session.get(Currency, price_currency_id)
        if currency is None or not currency.is_active:
            raise UnknownCurrency()
        if not isinstance(price_amount, int) or not (
            0 < price_amount <= MAX_UNITS * currency.subunits_per_unit
        ):
            raise InvalidPrice()
        price_unit = PriceUnit(price_unit)
    return {
        "title": title,
        "body": body,
        "category_id": category_id,
        "tags": normalize_tags(tags),
        "price_amount": price_amount,
        "price_currency_id": price_currency_id,
        "price_unit": price_unit,
    }


def create_ad(
    *,
    author: Membership,
    kind: AdKind,
    title: str,
    body: str = "",
    category_id: int | None = None,
    tags: list[str] | str | None = None,
    goods_or_service: GoodsOrService = GoodsOrService.SERVICE,
    price_amount: int | None = None,
    price_currency_id: int | None = None,
    price_unit: PriceUnit | None = None,
    photo: photos.ProcessedPhoto | None = None,
    network_published: bool = False,
) -> Ad:
    """Post an ad for ``author``, active for the group's ad lifetime.

    ``network_published`` shows it on the network marketplace too, while the group trades
    with the network (:mod:`timebank.marketplace.network.listing`).
    ``price_amount`` is in subunits of ``price_currency_id``. ``photo`` comes from
    :func:`timebank.marketplace.photos.process_photo`. Raises the errors named in the module
    docstring; on error nothing is written (no row, no file).
    """
    if not author.is_active:
        raise NotAllowed()
    fields = _checked_fields(
        title=title, body=body, category_id=category_id, tags=tags, price_amount=price_amount,
        price_currency_id=price_currency_id, price_unit=price_unit,
    )
    now = utcnow()
    ad = Ad(
        author_id=author.id,
        kind=AdKind(kind),
        goods_or_service=GoodsOrService(goods_or_service),
        status=AdStatus.ACTIVE,
        expires_at=now + timedelta(days=ad_lifetime_days()),
        created_at=now,
        updated_at=now,
        network_published=bool(network_published),
        **fields,
    )
    db.session.add(ad)
    db.session.flush()
    if photo is not None:
        ad.photo_path = photos.store_photo(photo, group_id=ad.group_id)
        db.session.flush()
    matching.refresh_ad_matches(ad)
    _tell_followers(fediverse.announce_ad, ad)
    return ad


def update_ad(
    *,
    ad: Ad,
    editor: Membership,
    kind: AdKind,
    title: str,
    body: str = "",
    category_id: int | None = None,
    tags: list[str] | str | None = None,
    goods_or_service: GoodsOrService = GoodsOrService.SERVICE,
    price_amount: int | None = None,
    price_currency_id: int | None = None,
    price_unit: PriceUnit | None = None,
    photo: photos.ProcessedPhoto | None = None,
    remove_photo: bool = False,
    network_published: bool | None = None,
) -> tuple[Ad, str | None]:
    """Change an ad's content. Returns ``(ad, replaced_photo_path)``: the caller deletes the
    replaced file after committing (:func:`timebank.marketplace.photos.delete_photo`).
    ``network_published`` None leaves the ad's publication to the network as it is.

    Raises :class:`NotAllowed` unless ``editor`` is the author or a coordinator, and the
    errors of :func:`create_ad`.
    """
    _require_editor(editor, ad)
    fields = _checked_fields(
        title=title, body=body, category_id=category_id, tags=tags, price_amount=price_amount,
        price_currency_id=price_currency_id, price_unit=price_unit,
    )
    for name, value in fields.items():
        setattr(ad, name, value)
    ad.kind = AdKind(kind)
    ad.goods_or_service = GoodsOrService(goods_or_service)
    if network_published is not None:
        ad.network_published = bool(network_published)
    ad.updated_at = utcnow()
    replaced = None
    if photo is not None or remove_photo:
        replaced, ad.photo_path = ad.photo_path, None
    if photo is not None:
        ad.photo_path = photos.store_photo(photo, group_id=ad.group_id)
    db.session.flush()
    matching.refresh_ad_matches(ad)
    if is_visible(ad):  # an edit of a paused or expired ad is nobody else's business
        _tell_followers(fediverse.announce_ad_update, ad)
    return ad, replaced


def pause_ad(*, ad: Ad, editor: Membership) -> Ad:
    """Hide an ad from others until it is renewed. Raises NotAllowed."""
    _require_editor(editor, ad)
    was_visible = is_visible(ad)
    ad.status = AdStatus.PAUSED
    ad.updated_at = utcnow()
    db.session.flush()
    matching.refresh_ad_matches(ad)
    if was_visible:
        _tell_followers(fediverse.announce_ad_removal, ad)
    return ad


def renew_ad(*, ad: Ad, editor: Membership) -> Ad:
    """Make an ad active again for the group's full ad lifetime, from now. Raises NotAllowed."""
    _require_editor(editor, ad)
    now = utcnow()
    ad.status = AdStatus.ACTIVE
    ad.expires_at = now + timedelta(days=ad_lifetime_days())
    ad.expiry_reminded_at = None
    ad.updated_at = now
    db.session.flush()
    matching.refresh_ad_matches(ad)
    return ad


def withdraw_ads_of(membership: Membership) -> int:
    """Tell the group's fediverse followers that the ads ``membership`` showed are gone: a
    ``Delete`` of each ad that was visible (active, unexpired), for a member who has just
    stopped being active (suspended or left; call it after the status changed). Their ads
    stay in the group, hidden, as they were. Returns how many deletions were enqueued (none
    when the group does not publish); they run after the commit.

    A member made active again does not announce them anew: a ``Delete`` leaves a tombstone
    under the ad's address on the followers' servers, which refuse a second ``Create`` there.
    """
    if not federation.publishes():
        return 0
    ad_ids = db.session.scalars(
        sa.select(Ad.id).where(Ad.author_id == membership.id, Ad.status == AdStatus.ACTIVE,
                               Ad.expires_at > utcnow())
    ).all()
    for ad_id in ad_ids:
        enqueue(fediverse.announce_ad_removal, ad_id, group_id=membership.group_id)
    return len(ad_ids)


def _tell_followers(job, ad: Ad) -> None:
    """Enqueue ``job(ad.id)`` (a job of :mod:`timebank.marketplace.fediverse`) when the group
    publishes its ads to fediverse followers (issue 19); it runs after the commit."""
    if federation.publishes():
        enqueue(job, ad.id, group_id=ad.group_id)


def is_visible(ad: Ad) -> bool:
    """Return whether other members may see ``ad`` (active, unexpired, active author)."""
    return ad.is_active and ad.expires_at > utcnow() and ad.author.is_active


def ad_for(membership: Membership | None, ad_id: int) -> Ad | None:
    """Return ad ``ad_id`` of the current group if ``membership`` may see it, else None.

    Others see visible ads only; the author and coordinators also see paused and expired ones.
    """
    ad = db.session.get(Ad, ad_id)
    if ad is None:
        return None
    if is_visible(ad) or can_edit_ad(membership, ad):
        return ad
    return None


def my_ads(membership: Membership, *, limit: int, before: int | None = None,
           after: int | None = None) -> Page:
    """Return one page of ``limit`` ads by ``membership`` (every status), newest first, paged
    by key from the ad ids ``before`` / ``after`` (:func:`timebank.paging.keyset_page`); the
    page's rows are :class:`Ad` objects."""
    return keyset_objects(sa.select(Ad).where(Ad.author_id == membership.id), Ad.id,
                          limit=limit, before=before, after=after)


def set_digest_frequency(*, user: User, frequency: DigestFrequency | str,
                         includes_network: bool | None = None) -> User:
    """Choose how often ``user`` gets the marketplace digest (daily, weekly or never), and
    whether it lists possible trades with other groups' network ads (None: unchanged)."""
    user.digest_frequency = DigestFrequency(frequency).value
    if includes_network is not None:
        user.digest_includes_network = bool(includes_network)
    db.session.flush()
    return user


# --- favourites ---------------------------------------------------------------------------------


def toggle_favourite_ad(*, membership: Membership, ad: Ad) -> bool:
    """Star ``ad`` for ``membership``, or unstar it; return whether it is now starred."""
    existing = db.session.scalar(
        sa.select(FavouriteAd).where(
            FavouriteAd.membership_id == membership.id, FavouriteAd.ad_id == ad.id
        )
    )
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        return False
    _add_once(FavouriteAd(membership_id=membership.id, ad_id=ad.id))
    return True


def toggle_favourite_member(*, membership: Membership, member: Membership) -> bool:
    """Star ``member`` for ``membership``, or unstar them; return whether now starred."""
    if member.id == membership.id:
        return False
    existing = db.session.scalar(
        sa.select(FavouriteMember).where(
            FavouriteMember.membership_id == membership.id,
            FavouriteMember.favourite_id == member.id,
        )
    )
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        return False
    _add_once(FavouriteMember(membership_id=membership.id, favourite_id=member.id))
    return True


def _add_once(row) -> None:
    """Insert ``row``; a twin inserted concurrently (a double click) is not an error."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except sa.exc.IntegrityError:
        pass


def favourite_ad_ids(membership: Membership) -> set[int]:
    return set(db.session.scalars(
        sa.select(FavouriteAd.ad_id).where(FavouriteAd.membership_id == membership.id)
    ))


def favourite_member_ids(membership: Membership) -> set[int]:
    return set(db.session.scalars(
        sa.select(FavouriteMember.favourite_id)
        .where(FavouriteMember.membership_id == membership.id)
    ))

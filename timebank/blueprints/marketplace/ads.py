"""Ads: browse and search, post and edit, pause and renew, photos, favourites, possible trades."""

import sqlalchemy as sa
from flask import abort, current_app, flash, g, render_template, request, send_file, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from timebank.blueprints.marketplace import bp
from timebank.blueprints.marketplace.forms import AdForm, MessageForm
from timebank.blueprints.marketplace.helpers import back
from timebank.blueprints.navigation import page_keys
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.marketplace import matching, photos, search
from timebank.marketplace import service as marketplace
from timebank.marketplace.errors import MarketplaceError
from timebank.models import (
    Ad,
    AdKind,
    Currency,
    FavouriteAd,
    FavouriteMember,
    GoodsOrService,
    Membership,
    MembershipStatus,
    PriceUnit,
)
from timebank.policy import current_membership, require
from timebank.tasks import enqueue


def _enum_arg(name: str, enum_cls):
    value = request.args.get(name, "")
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


@bp.route("/")
@require("marketplace.view")
def browse():
    from timebank.blueprints.marketplace.directory import alphabetical_categories

    filters = {
        "q": request.args.get("q", "")[:200],
        "kind": _enum_arg("kind", AdKind),
        "category": request.args.get("category", type=int),
        "type": _enum_arg("type", GoodsOrService),
        "member": request.args.get("member", type=int),
        "sort": request.args.get("sort", ""),
    }
    result = search.search_ads(
        query=filters["q"],
        kind=filters["kind"],
        category_id=filters["category"],
        goods_or_service=filters["type"],
        author_id=filters["member"],
        sort=filters["sort"],
        page=request.args.get("page", 1, type=int),
    )
    return render_template(
        "marketplace/browse.html",
        result=result,
        filters=filters,
        categories=alphabetical_categories(),
        favourites=marketplace.favourite_ad_ids(current_membership()),
    )


def _currencies() -> list[Currency]:
    return list(db.session.scalars(
        sa.select(Currency).where(Currency.is_active).order_by(Currency.id)
    ))


def _prepare(form: AdForm) -> None:
    from timebank.blueprints.marketplace.directory import alphabetical_categories

    form.category.choices = [SelectChoice(0, _("No category"))] + [
        SelectChoice(category.id, category.name) for category in alphabetical_categories()
    ]
    currencies = _currencies()
    form.price_currency.choices = [SelectChoice(c.id, f"{c.name} ({c.symbol})")
                                   for c in currencies]
    chosen = request.form.get("price_currency", type=int)
    fallback = currencies[0] if currencies else None
    currency = next((c for c in currencies if c.id == chosen), fallback)
    if currency is not None:
        form.price_amount.subunits_per_unit = currency.subunits_per_unit
        if form.price_currency.data is None:
            form.price_currency.data = currency.id  # only read when a price is given


def _submitted_fields(form: AdForm) -> dict:
    priced = form.price_amount.subunits is not None
    fields = {}
    if g.group.trades_with_network:  # the choice is offered only then (edit.html)
        fields["network_published"] = bool(form.network_published.data)
    return fields | {
        "kind": AdKind(form.kind.data),
        "title": form.title.data,
        "body": form.body.data or "",
        "category_id": form.category.data or None,
        "tags": form.tags.data or "",
        "goods_or_service": GoodsOrService(form.goods_or_service.data),
        "price_amount": form.price_amount.subunits,
        "price_currency_id": form.price_currency.data if priced else None,
        "price_unit": PriceUnit(form.price_unit.data) if priced else None,
    }


def _uploaded_photo(form: AdForm) -> photos.ProcessedPhoto | None:
    """Return the checked photo, None when none was sent; raise MarketplaceError if bad."""
    upload = form.photo.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return photos.process_photo(upload.stream)


def _show_error(form: AdForm, error: MarketplaceError) -> None:
    roll_back_at_end()
    field = getattr(form, error.field or "title", form.title)
    field.errors = [*field.errors, str(error)]


@bp.route("/new", methods=["GET", "POST"])
@require("marketplace.post")
def new_ad():
    form = AdForm()
    _prepare(form)
    if request.method == "GET" and request.args.get("kind") in ("offer", "want"):
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            photo = _uploaded_photo(form)
            ad = marketplace.create_ad(
                author=current_membership(), photo=photo, **_submitted_fields(form)
            )
        except MarketplaceError as error:
            _show_error(form, error)
        else:
            flash(_("Your ad is published."), "success")
            return back(url_for("marketplace.ad", ad_id=ad.id))
    return render_template("marketplace/edit.html", form=form, ad=None)


def _ad_or_404(ad_id: int) -> Ad:
    ad = marketplace.ad_for(current_membership(), ad_id)
    if ad is None:
        abort(404)
    return ad


def _editable_ad_or_404(ad_id: int) -> Ad:
    ad = _ad_or_404(ad_id)
    if not marketplace.can_edit_ad(current_membership(), ad):
        abort(404)
    return ad


@bp.route("/ads/<int:ad_id>")
@require("marketplace.view")
def ad(ad_id: int):
    ad = _ad_or_404(ad_id)
    me = current_membership()
    is_favourite = db.session.scalar(
        sa.select(FavouriteAd.id).where(
            FavouriteAd.membership_id == me.id, FavouriteAd.ad_id == ad.id
        )
    ) is not None
    matches = []
    if marketplace.can_edit_ad(me, ad):
        matches = matching.stored_matches(ad, limit=5)
    return render_template(
        "marketplace/ad.html",
        ad=ad,
        is_favourite=is_favourite,
        is_visible=marketplace.is_visible(ad),
        matches=matches,
        message_form=MessageForm(formdata=None),
    )


@bp.route("/ads/<int:ad_id>/edit", methods=["GET", "POST"])
@require("marketplace.post")
def edit_ad(ad_id: int):
    ad = _editable_ad_or_404(ad_id)
    form = AdForm(obj=None)
    _prepare(form)
    if request.method == "GET":
        form.kind.data = ad.kind.value
        form.title.data = ad.title
        form.body.data = ad.body
        form.category.data = ad.category_id or 0
        form.tags.data = ", ".join(ad.tags or [])
        form.goods_or_service.data = ad.goods_or_service.value
        form.network_published.data = ad.network_published
        if ad.price_amount is not None:
            from timebank.i18n import current_locale
            from timebank.ledger.amounts import format_amount

            form.price_amount.data = format_amount(
                ad.price_amount, subunits_per_unit=ad.price_currency.subunits_per_unit,
                locale=current_locale(),
            )
            form.price_currency.data = ad.price_currency_id
            form.price_unit.data = ad.price_unit.value
    if form.validate_on_submit():
        try:
            photo = _uploaded_photo(form)
            ad, replaced = marketplace.update_ad(
                ad=ad, editor=current_membership(), photo=photo,
                remove_photo=form.remove_photo.data, **_submitted_fields(form),
            )
        except MarketplaceError as error:
            _show_error(form, error)
        else:
            if replaced:
                enqueue(photos.delete_photo, replaced)  # after the commit
            flash(_("Your changes are saved."), "success")
            return back(url_for("marketplace.ad", ad_id=ad.id))
    return render_template("marketplace/edit.html", form=form, ad=ad)


@bp.route("/ads/<int:ad_id>/pause", methods=["POST"])
@require("marketplace.post")
def pause_ad(ad_id: int):
    ad = _editable_ad_or_404(ad_id)
    marketplace.pause_ad(ad=ad, editor=current_membership())
    flash(_("The ad is paused: others no longer see it."), "info")
    return back(url_for("marketplace.ad", ad_id=ad.id))


@bp.route("/ads/<int:ad_id>/renew", methods=["POST"])
@require("marketplace.post")
def renew_ad(ad_id: int):
    ad = _editable_ad_or_404(ad_id)
    marketplace.renew_ad(ad=ad, editor=current_membership())
    flash(_("The ad is active again."), "success")
    return back(url_for("marketplace.ad", ad_id=ad.id))


@bp.route("/ads/<int:ad_id>/favourite", methods=["POST"])
@require("marketplace.view")
def favourite_ad(ad_id: int):
    ad = _ad_or_404(ad_id)
    starred = marketplace.toggle_favourite_ad(membership=current_membership(), ad=ad)
    flash(_("Added to your favourites.") if starred else _("Removed from your favourites."),
          "info")
    return back(url_for("marketplace.ad", ad_id=ad.id))


@bp.route("/photos/<int:ad_id>")
@require("marketplace.view")
def photo(ad_id: int):
    """Serve an ad's photo to members of the ad's group only (404 elsewhere)."""
    ad = _ad_or_404(ad_id)
    path = photos.photo_location(ad.photo_path) if ad.photo_path else None
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=3600)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.route("/mine")
@require("marketplace.post")
def my_ads():
    page = marketplace.my_ads(current_membership(), limit=current_app.config["ADS_PER_PAGE"],
                              **page_keys())
    return render_template("marketplace/mine.html", ads=page.rows, ads_page=page)


@bp.route("/matches")
@require("marketplace.view")
def matches():
    return render_template(
        "marketplace/matches.html",
        matches=matching.possible_trades(membership=current_membership(), limit=50),
    )


@bp.route("/favourites")
@require("marketplace.view")
def favourites():
    me = current_membership()
    ads = list(db.session.scalars(
        search.visible_ads()
        .join(FavouriteAd, FavouriteAd.ad_id == Ad.id)
        .where(FavouriteAd.membership_id == me.id)
        .order_by(FavouriteAd.created_at.desc())
    ))
    members = list(db.session.scalars(
        sa.select(Membership)
        .join(FavouriteMember, FavouriteMember.favourite_id == Membership.id)
        .where(FavouriteMember.membership_id == me.id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(FavouriteMember.created_at.desc())
    ))
    return render_template("marketplace/favourites.html", ads=ads, members=members)

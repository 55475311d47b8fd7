"""Coordinators manage categories and how long ads last; members choose their digest."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.blueprints.marketplace import bp
from timebank.blueprints.marketplace.forms import CategoryForm, DigestForm, LifetimeForm
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.marketplace import service as marketplace
from timebank.marketplace.errors import MarketplaceError
from timebank.models import Category
from timebank.policy import require


def _category_or_404(category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    return category


@bp.route("/categories", methods=["GET", "POST"])
@require("marketplace.categories")
def categories():
    form = CategoryForm(prefix="new")
    lifetime_form = LifetimeForm(prefix="lifetime")
    if request.method == "GET":
        lifetime_form.ad_lifetime_days.data = marketplace.ad_lifetime_days()
    if request.form.get("new-submit") and form.validate_on_submit():
        try:
            marketplace.create_category(name=form.name.data)
        except MarketplaceError as error:
            roll_back_at_end()
            form.name.errors = [*form.name.errors, str(error)]
        else:
            flash(_("Category added."), "success")
            return redirect(url_for("marketplace.categories"))
    if request.form.get("lifetime-submit") and lifetime_form.validate_on_submit():
        try:
            marketplace.set_ad_lifetime(days=lifetime_form.ad_lifetime_days.data)
        except MarketplaceError as error:
            roll_back_at_end()
            lifetime_form.ad_lifetime_days.errors = [
                *lifetime_form.ad_lifetime_days.errors, str(error)
            ]
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("marketplace.categories"))
    return render_template(
        "marketplace/categories.html",
        categories=marketplace.categories(),
        form=form,
        lifetime_form=lifetime_form,
    )


@bp.route("/categories/<int:category_id>", methods=["POST"])
@require("marketplace.categories")
def change_category(category_id: int):
    category = _category_or_404(category_id)
    if request.form.get("delete"):
        marketplace.delete_category(category=category)
        flash(_("Category deleted; its ads are kept without a category."), "info")
        return redirect(url_for("marketplace.categories"))
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            marketplace.rename_category(category=category, name=form.name.data)
        except MarketplaceError as error:
            roll_back_at_end()
            flash(str(error), "warning")
        else:
            flash(_("Category renamed."), "success")
    else:
        for errors in form.errors.values():
            flash(" ".join(map(str, errors)), "warning")
    return redirect(url_for("marketplace.categories"))


@bp.route("/settings", methods=["GET", "POST"])
@require("marketplace.view")
def settings():
    form = DigestForm()
    if request.method == "GET":
        form.digest_frequency.data = current_user.digest_frequency
        form.digest_includes_network.data = current_user.digest_includes_network
    if form.validate_on_submit():
        marketplace.set_digest_frequency(user=current_user, frequency=form.digest_frequency.data,
                                         includes_network=form.digest_includes_network.data)
        flash(_("Your email preferences are saved."), "success")
        return redirect(url_for("marketplace.settings"))
    return render_template("marketplace/settings.html", form=form)

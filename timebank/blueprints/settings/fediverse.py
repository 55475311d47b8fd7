"""The coordinator's fediverse page: publish the group's offers and wants over ActivityPub
(so a Mastodon account can follow them), or stop."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField

from timebank.blueprints.forms import Form
from timebank.blueprints.settings import bp
from timebank.federation import service as federation
from timebank.policy import current_membership, require


class FediverseForm(Form):
    publishes = BooleanField(
        _l("Publish our offers and wants to the fediverse"),
        description=_l("Anyone, on Mastodon for example, can then follow the group and see "
                       "each new offer or want: its title, text and tags, never who posted "
                       "it."))
    submit = SubmitField(_l("Save"))


@bp.route("/settings/fediverse", methods=["GET", "POST"])
@require("settings.federation")
def fediverse():
    """Turn the group's ActivityPub presence on or off; show its address and followers."""
    form = FediverseForm()
    if request.method == "GET":
        form.publishes.data = federation.publishes()
    if form.validate_on_submit():
        federation.set_publishing(form.publishes.data, by=current_membership())
        flash(_("The group now publishes its offers and wants to the fediverse.")
              if form.publishes.data else
              _("The group no longer publishes its offers and wants to the fediverse."),
              "success")
        return redirect(url_for("settings.fediverse"))
    domain = current_app.config["BASE_DOMAIN"].split(":")[0]
    return render_template("settings/fediverse.html", form=form,
                           address=f"@{federation.current_slug()}@{domain}",
                           followers=federation.follower_count(),
                           publishes=federation.publishes())

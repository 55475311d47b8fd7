"""The coordinator's language settings page."""

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from timebank.blueprints.settings import bp
from timebank.blueprints.settings.forms import LanguagesForm
from timebank.boundary import roll_back_at_end
from timebank.i18n import enabled_languages
from timebank.policy import require
from timebank.settings import service as settings
from timebank.settings.service import SettingsError


@bp.route("/settings/languages", methods=["GET", "POST"])
@require("settings.languages")
def languages():
    """Choose the languages the group offers and its default language."""
    group = g.group
    form = LanguagesForm(
        data={"languages": enabled_languages(group), "default_locale": group.default_locale}
    )
    if form.validate_on_submit():
        try:
            settings.set_languages(
                group=group,
                languages=form.languages.data or [],
                default_locale=form.default_locale.data,
            )
        except SettingsError as error:  # checked before anything changed: nothing to undo
            roll_back_at_end()
            getattr(form, error.field or "languages").errors.append(str(error))
        else:
            flash(_("The group's languages are saved."), "success")
            return redirect(url_for("settings.languages"))
    return render_template("settings/languages.html", form=form)

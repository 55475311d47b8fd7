"""The profile page's section for personal access tokens: make one (shown once), revoke.

Tokens belong to the membership of the group whose site the profile is opened on; on the
apex, to the person (apex tokens: their memberships, and the network's API for network
admins). The section lives in ``templates/api/_tokens.html``, included by the profile page.
"""

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import DataRequired, Length

from timebank.api import tokens
from timebank.blueprints.forms import Form
from timebank.boundary import roll_back_at_end
from timebank.policy import apex_only, can, current_membership, require

bp = Blueprint("api_tokens", __name__)


class TokenForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=tokens.NAME_MAX)],
                       description=_l("What it is for, e.g. 'my phone'."))
    scopes = SelectMultipleField(
        _l("Allows"),
        choices=[SelectChoice("read", _l("Reading")), SelectChoice("write", _l("Making changes"))],
        default=["read"], option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False))
    days = SelectField(_l("Expires after"), coerce=int, default=90, choices=[
        SelectChoice(30, _l("30 days")), SelectChoice(90, _l("90 days")),
        SelectChoice(366, _l("a year"))])
    submit = SubmitField(_l("Make a token"))


class RevokeForm(Form):
    submit = SubmitField(_l("Revoke"))


@bp.app_context_processor
def token_section():
    """``api_tokens()`` for the profile page: None where no token can be made."""

    def api_tokens():
        forms = {"form": TokenForm(formdata=None), "revoke_form": RevokeForm(formdata=None)}
        if getattr(g, "group", None) is None:
            if not current_user.is_authenticated:
                return None
            return {"apex": True, "tokens": tokens.apex_tokens_of(current_user), **forms}
        me = current_membership()
        if me is None or not me.is_active or not can(me, "api.tokens"):
            return None
        return {"apex": False, "tokens": tokens.tokens_of(me), **forms}

    return {"api_tokens": api_tokens}


@bp.route("/profile/tokens", methods=["POST"])
@require("api.tokens")
def create():
    """Make a token and show it, once."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, raw = tokens.create_token(membership=current_membership(),
                                             name=form.name.data, scopes=form.scopes.data,
                                             days=form.days.data)
        except tokens.TokenError as error:
            roll_back_at_end()
            flash(str(error), "danger")
        else:
            return render_template("api/token_created.html", token=token, raw=raw)
    else:
        flash(_("Give the token a name and choose what it allows."), "danger")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/tokens/<int(max=2147483647):token_id>/revoke", methods=["POST"])
@require("api.tokens")
def revoke(token_id: int):
    """Revoke one of one's own tokens: it stops working at once."""
    if RevokeForm().validate_on_submit() and tokens.revoke_token(
            membership=current_membership(), token_id=token_id) is not None:
        flash(_("The token is revoked."), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/apex-tokens", methods=["POST"])
@apex_only
@login_required
def create_apex():
    """Make an apex token (the apex's API) and show it, once."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, raw = tokens.create_apex_token(user=current_user, name=form.name.data,
                                                  scopes=form.scopes.data, days=form.days.data)
        except tokens.TokenError as error:
            roll_back_at_end()
            flash(str(error), "danger")
        else:
            return render_template("api/token_created.html", token=token, raw=raw)
    else:
        flash(_("Give the token a name and choose what it allows."), "danger")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/apex-tokens/<int(max=2147483647):token_id>/revoke", methods=["POST"])
@apex_only
@login_required
def revoke_apex(token_id: int):
    """Revoke one of one's own apex tokens: it stops working at once."""
    if RevokeForm().validate_on_submit() and tokens.revoke_apex_token(
            user=current_user, token_id=token_id) is not None:
        flash(_("The token is revoked."), "success")
    return redirect(url_for("auth.profile"))

"""Notices: each member chooses, per kind of notice, mail at once, the daily digest, or none."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import RadioField, SelectChoice, SubmitField

from timebank.blueprints.forms import Form
from timebank.blueprints.members import bp
from timebank.models.notices import Delivery, NoticeKind
from timebank.notices import service as notices
from timebank.policy import can, current_membership, require

DELIVERY_CHOICES = [
    SelectChoice(Delivery.IMMEDIATE.value, _l("Email at once")),
    SelectChoice(Delivery.DIGEST.value, _l("In the daily digest")),
    SelectChoice(Delivery.OFF.value, _l("Not at all")),
]
KINDS = [
    # kind, label, the action that makes the kind concern the reader (None: everyone)
    (NoticeKind.TRANSFERS, _l("Payments and requests that concern me"), None),
    (NoticeKind.JOIN_REQUESTS, _l("Requests to join (coordinators)"), "members.approve"),
    (NoticeKind.TREASURER, _l("Balances to settle (treasurers)"), "members.settle"),
]


class NoticesForm(Form):
    transfers = RadioField(_l("Payments and requests that concern me"), choices=DELIVERY_CHOICES)
    join_requests = RadioField(_l("Requests to join (coordinators)"), choices=DELIVERY_CHOICES)
    treasurer = RadioField(_l("Balances to settle (treasurers)"), choices=DELIVERY_CHOICES)
    submit = SubmitField(_l("Save"))


@bp.route("/notices", methods=["GET", "POST"])
@require("notices.choose")
def notices_page():
    """Choose how one hears of each kind of notice that concerns one's role."""
    me = current_membership()
    kinds = [kind for kind, _label, action in KINDS if action is None or can(me, action)]
    form = NoticesForm()
    for kind, _label, _action in KINDS:
        if kind not in kinds:
            delattr(form, kind.value)
    if form.validate_on_submit():
        notices.set_preferences(user_id=current_user.id, choices={
            kind: Delivery(getattr(form, kind.value).data) for kind in kinds})
        flash(_("Your notice choices are saved."), "success")
        return redirect(url_for("members.notices_page"))
    if not form.is_submitted():
        saved = notices.preferences_of(current_user.id)
        for kind in kinds:
            getattr(form, kind.value).data = saved[kind].value
    return render_template("members/notices.html", form=form)

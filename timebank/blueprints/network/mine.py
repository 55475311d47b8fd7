""""My timebanks" at the apex, and moving between them without logging in again."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from timebank.auth_loader import log_in
from timebank.blueprints.network import bp
from timebank.blueprints.network.forms import EmptyForm
from timebank.blueprints.network.signup import handoff_redirect
from timebank.extensions import db
from timebank.models import Group
from timebank.policy import apex_only, group_only
from timebank.provisioning import handoff
from timebank.provisioning.overview import my_groups


@bp.route("/my")
@apex_only
@login_required
def my_timebanks():
    """Each of the user's groups with their balance there, and a way in."""
    return render_template("network/my_timebanks.html", groups=my_groups(current_user),
                           go_form=EmptyForm())


@bp.route("/my/<slug>/go", methods=["POST"])
@apex_only
@login_required
def go_to_group(slug: str):
    """Carry the login to ``slug``'s site (a member's own group only)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is None:
        abort(404)
    return handoff_redirect(group)


@bp.route("/login/handoff/<token>")
@group_only
def redeem_handoff(token: str):
    """Log in on this group's site with a token from the apex, then go to the dashboard."""
    try:
        user = handoff.redeem_handoff(token=token, group=_current_group())
    except handoff.InvalidHandoff as error:
        flash(str(error), "warning")
        return redirect(url_for("auth.login", next="/dashboard"))
    log_in(user)
    flash(_("You are logged in as %(name)s.", name=user.name), "success")
    response = redirect(url_for("ledger.dashboard"))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _current_group() -> Group:
    from flask import g

    return g.group

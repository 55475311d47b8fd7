"""Members directory, a member's profile, approvals, and the old address of the limits page."""

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from timebank.blueprints.members import bp
from timebank.blueprints.members.forms import DecisionForm
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.models import Membership, MembershipStatus
from timebank.people import service as people
from timebank.people.directory import directory_page
from timebank.people.errors import PeopleError
from timebank.policy import can, current_membership, require


@bp.route("/members/")
@require("members.list")
def directory():
    """The group's active members by name, ``MEMBERS_PER_PAGE`` a page (``?page=``), or
    those whose name starts with ``?find=``."""
    find = request.args.get("find", "")[:60]
    page = directory_page(per_page=current_app.config["MEMBERS_PER_PAGE"],
                          number=request.args.get("page", 1, type=int), find=find)
    return render_template("members/directory.html", page=page, find=find)


def _member_or_404(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        abort(404)
    return membership


@bp.route("/members/<int:membership_id>")
@require("members.view")
def profile(membership_id: int):
    membership = _member_or_404(membership_id)
    if not membership.is_active and not can(current_membership(), "members.approve"):
        abort(404)
    currency = ledger.default_currency()
    account = ledger.account_for(membership, currency) if currency else None
    from timebank.blueprints.members.manage import profile_context

    return render_template(
        "members/profile.html",
        member=membership,
        account=account,
        rating=ledger.average_rating(membership),
        **profile_context(membership),
    )


@bp.route("/members/<int:membership_id>/limits", methods=["GET", "POST"])
@require("ledger.set_limits")
def limits(membership_id: int):
    """The old address of a member's limits: their account's limits page in the default currency.

    A form posted here saves nothing; the treasurer lands on the new page (303) to save again.
    """
    membership = _member_or_404(membership_id)
    currency = ledger.default_currency()
    account = ledger.account_for(membership, currency) if currency else None
    if account is None:
        abort(404)
    return redirect(url_for("ledger.account_limits", account_id=account.id),
                    code=301 if request.method == "GET" else 303)


@bp.route("/members/pending", methods=["GET"])
@require("members.approve")
def pending():
    memberships = db.session.scalars(
        sa.select(Membership)
        .where(Membership.status == MembershipStatus.PENDING)
        .order_by(Membership.created_at)
    ).all()
    return render_template("members/pending.html", memberships=memberships, form=DecisionForm())


@bp.route("/members/<int:membership_id>/decision", methods=["POST"])
@require("members.approve")
def decide(membership_id: int):
    membership = _member_or_404(membership_id)
    form = DecisionForm()
    if form.validate_on_submit():
        message = form.message.data or ""
        try:
            if form.approve.data:
                people.approve(membership=membership, by=current_membership(), message=message)
                flash(_("%(name)s is now a member.", name=membership.user.name), "success")
            else:
                people.decline(membership=membership, by=current_membership(), message=message)
                flash(_("Request from %(name)s declined.", name=membership.user.name), "info")
        except PeopleError as error:
            roll_back_at_end()
            flash(str(error), "warning")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
    return redirect(url_for("members.pending"))

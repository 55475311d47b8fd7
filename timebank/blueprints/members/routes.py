"""Members directory, a member's profile, approvals and limits."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from timebank.blueprints.members import bp
from timebank.blueprints.members.forms import DecisionForm, LimitsForm
from timebank.extensions import db
from timebank.i18n import current_locale
from timebank.ledger import service as ledger
from timebank.ledger.amounts import format_amount
from timebank.ledger.errors import LedgerError
from timebank.models import Membership, MembershipStatus, User
from timebank.people import service as people
from timebank.people.errors import PeopleError
from timebank.policy import can, current_membership, require


@bp.route("/members/")
@require("members.list")
def directory():
    memberships = db.session.scalars(
        sa.select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE)
        .order_by(User.name)
    ).all()
    return render_template("members/directory.html", memberships=memberships)


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
        limits_form=LimitsForm(formdata=None, obj=None),
        rating=ledger.average_rating(membership),
        **profile_context(membership),
    )


@bp.route("/members/<int:membership_id>/limits", methods=["GET", "POST"])
@require("members.set_limits")
def limits(membership_id: int):
    membership = _member_or_404(membership_id)
    currency = ledger.default_currency()
    account = ledger.account_for(membership, currency) if currency else None
    if account is None:
        abort(404)
    form = LimitsForm()
    form.min_balance.subunits_per_unit = currency.subunits_per_unit
    form.max_balance.subunits_per_unit = currency.subunits_per_unit
    if request.method == "GET":
        # Show the limits in force, so saving one field does not reset the other.
        floor = None if account.min_balance is None else -account.min_balance
        form.min_balance.data = _limit_text(floor, currency)
        form.max_balance.data = _limit_text(account.max_balance, currency)
    if form.validate_on_submit():
        minimum = None if form.min_balance.subunits is None else -form.min_balance.subunits
        try:
            ledger.set_limits(
                account=account, min_balance=minimum, max_balance=form.max_balance.subunits,
                changed_by=current_membership(),  # the audit trail names who changed them
            )
        except LedgerError as error:
            form.min_balance.errors.append(str(error))
        else:
            flash(_("Limits saved for %(name)s.", name=membership.user.name), "success")
            return redirect(url_for("members.profile", membership_id=membership.id))
    return render_template("members/limits.html", form=form, member=membership, account=account)


def _limit_text(subunits: int | None, currency) -> str:
    """Return a limit as the form shows it (``7:30``), or ``""`` for "currency default"."""
    if subunits is None:
        return ""
    return format_amount(
        subunits, subunits_per_unit=currency.subunits_per_unit, locale=current_locale()
    )


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
            flash(str(error), "warning")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
    return redirect(url_for("members.pending"))

"""Coordinators' member management: roles, suspension, members without email; a treasurer
moving a leaving member's balance; a member leaving the group."""

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from timebank.blueprints.members import bp
from timebank.blueprints.members.forms import (
    ROLE_CHOICES,
    LeaveForm,
    OfflineMemberForm,
    RoleForm,
    SettleForm,
    SuspendForm,
)
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.errors import LedgerError
from timebank.models import Membership, MembershipStatus
from timebank.people import management
from timebank.people.errors import PeopleError
from timebank.policy import can, current_membership, require


def _member_or_404(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)  # tenant-scoped: another group's is None
    if membership is None or membership.status == MembershipStatus.PENDING:
        abort(404)
    return membership


def profile_context(member: Membership) -> dict:
    """What the profile page shows beyond the basics: kudos, balances if allowed, and the
    management forms the viewer may use."""
    from timebank.volunteering import service as volunteering

    me = current_membership()
    context = {
        "kudos_total": volunteering.kudos_total(member),
        "kudos_history": volunteering.kudos_history(member, limit=20),
        "show_balance": can(me, "members.view_balances") or (me is not None and me.id == member.id),
        "accounts": ledger.accounts_of(member),
        "role_form": None,
        "suspend_form": None,
        "settle_form": None,
    }
    if can(me, "members.change_role") and member.is_active:
        context["role_form"] = RoleForm(formdata=None, data={"role": member.role})
    if can(me, "members.suspend", member) and member.status in (
        MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED
    ):
        context["suspend_form"] = SuspendForm(formdata=None)
    if can(me, "members.settle") and any(a.balance for a in context["accounts"]):
        context["settle_form"] = SettleForm(formdata=None)
    return context


@bp.route("/members/<int:membership_id>/role", methods=["POST"])
@require("members.change_role")
def change_role(membership_id: int):
    member = _member_or_404(membership_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            management.change_role(membership=member, role=form.role.data,
                                   by=current_membership())
        except PeopleError as error:
            roll_back_at_end()
            flash(str(error), "danger")
        else:
            flash(_("%(name)s is now %(role)s.", name=member.user.name,
                    role=dict(ROLE_CHOICES)[member.role]), "success")
    else:
        flash(_("Choose a role."), "danger")
    return redirect(url_for("members.profile", membership_id=member.id))


@bp.route("/members/<int:membership_id>/suspension", methods=["POST"])
@require("members.suspend")
def suspension(membership_id: int):
    member = _member_or_404(membership_id)
    if not can(current_membership(), "members.suspend", member):
        abort(403)
    form = SuspendForm()
    if form.validate_on_submit():
        try:
            if form.reactivate.data:
                management.reactivate(membership=member, by=current_membership())
                flash(_("%(name)s is active again.", name=member.user.name), "success")
            else:
                management.suspend(membership=member, by=current_membership(),
                                   reason=form.reason.data or "")
                flash(_("%(name)s is suspended.", name=member.user.name), "info")
        except PeopleError as error:
            roll_back_at_end()
            flash(str(error), "danger")
    return redirect(url_for("members.profile", membership_id=member.id))


@bp.route("/members/<int:membership_id>/settle", methods=["POST"])
@require("members.settle")
def settle(membership_id: int):
    member = _member_or_404(membership_id)
    form = SettleForm()
    if form.validate_on_submit():
        try:
            transfers = management.settle_to_group_account(
                membership=member, by=current_membership(), locale=g.group.default_locale)
        except (PeopleError, LedgerError) as error:
            roll_back_at_end()
            flash(str(error), "danger")
        else:
            flash(_("Moved %(count)s balance(s) of %(name)s to the group account.",
                    count=len(transfers), name=member.user.name), "success")
    return redirect(url_for("members.profile", membership_id=member.id))


@bp.route("/members/offline/new", methods=["GET", "POST"])
@require("members.add_offline")
def add_offline():
    """Add a member who has no email; a treasurer records their trades on their behalf."""
    form = OfflineMemberForm()
    if form.validate_on_submit():
        try:
            member = management.add_offline_member(
                group=g.group, name=form.name.data, note=form.note.data or "",
                by=current_membership())
        except PeopleError as error:
            roll_back_at_end()
            getattr(form, error.field or "name").errors.append(str(error))
        else:
            flash(_("%(name)s is a member. A treasurer records their trades on their behalf.",
                    name=member.user.name), "success")
            return redirect(url_for("members.profile", membership_id=member.id))
    return render_template("members/offline_new.html", form=form)


@bp.route("/members/leave", methods=["GET", "POST"])
@require("members.leave")
def leave():
    """A member leaves the group (only with every balance at zero)."""
    me = current_membership()
    if not can(me, "members.leave", me):
        abort(403)
    form = LeaveForm()
    blocking = management.nonzero_accounts(me)
    if form.validate_on_submit():
        try:
            management.leave_group(membership=me)
        except PeopleError as error:
            roll_back_at_end()
            form.confirm.errors = list(form.confirm.errors) + [str(error)]
        else:
            flash(_("You have left %(group)s.", group=g.group.name), "info")
            return redirect(url_for("network.index"))
    return render_template("members/leave.html", form=form, blocking=blocking)

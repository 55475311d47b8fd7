"""Invitations: coordinators invite by email; whoever holds a link joins through it."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.auth_loader import log_in
from timebank.blueprints.auth.forms import SignupForm
from timebank.blueprints.forms import Form
from timebank.blueprints.members import bp
from timebank.blueprints.members.forms import ROLE_CHOICES, InviteForm, RevokeForm
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.models import Invitation, Role
from timebank.people import invitations
from timebank.people import service as people
from timebank.people.errors import InvalidInvitation, PeopleError
from timebank.policy import current_membership, group_only, require


@bp.route("/members/invitations", methods=["GET", "POST"])
@require("members.invite")
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation, _token = invitations.invite(
                group=g.group, email=form.email.data, role=form.role.data,
                message=form.message.data or "", by=current_membership())
        except PeopleError as error:
            roll_back_at_end()
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
            return redirect(url_for("members.invite"))
    return render_template(
        "members/invitations.html", form=form, invitations=invitations.open_invitations(),
        revoke_form=RevokeForm(formdata=None), roles=dict(ROLE_CHOICES),
    )


@bp.route("/members/invitations/<int:invitation_id>/revoke", methods=["POST"])
@require("members.invite")
def revoke_invitation(invitation_id: int):
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        abort(404)
    if RevokeForm().validate_on_submit():
        try:
            invitations.revoke(invitation=invitation, by=current_membership())
        except PeopleError as error:
            roll_back_at_end()
            flash(str(error), "warning")
        else:
            flash(_("Invitation to %(email)s revoked.", email=invitation.email), "info")
    return redirect(url_for("members.invite"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@group_only
def invitation(token: str):
    """Public: accept an invitation (logged in), or sign up and accept it in one step."""
    try:
        found = invitations.usable_invitation(token)
    except InvalidInvitation as error:
        return render_template("members/invitation.html", error=str(error), invitation=None,
                               form=None), 404
    role = dict(ROLE_CHOICES)[Role(found.role)]
    if current_user.is_authenticated:
        me = current_membership()
        form = Form()
        if form.validate_on_submit():
            try:
                invitations.accept(token=token, user=current_user, group=g.group)
            except PeopleError as error:
                roll_back_at_end()
                flash(str(error), "warning")
                return redirect(url_for("network.index"))
            flash(_("Welcome to %(group)s!", group=g.group.name), "success")
            return redirect(url_for("ledger.dashboard"))
        return render_template("members/invitation.html", invitation=found, role=role,
                               form=form, membership=me, error=None)
    form = SignupForm()
    if request.method == "GET":
        form.email.data = found.email
    if form.validate_on_submit():
        try:
            user = people.register_user(email=form.email.data, name=form.name.data,
                                        password=form.password.data)
            invitations.accept(token=token, user=user, group=g.group)
        except PeopleError as error:
            roll_back_at_end()
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            log_in(user)
            flash(_("Welcome to %(group)s!", group=g.group.name), "success")
            return redirect(url_for("ledger.dashboard"))
    return render_template("members/invitation.html", invitation=found, role=role, form=form,
                           membership=None, error=None)

"""Apex routes: the landing page, and group provisioning for network admins."""

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from timebank.blueprints.network import bp
from timebank.blueprints.network.forms import CreateGroupForm
from timebank.extensions import db
from timebank.models import Group, GroupStatus, JoinPolicy
from timebank.people.errors import PeopleError
from timebank.policy import current_membership, network_admin_required
from timebank.provisioning.service import ProvisioningError, create_group


@bp.route("/")
def index():
    """Network landing page on the apex; the group's home page on a group's site."""
    if g.group is not None:
        membership = current_membership()
        if membership is not None and membership.is_active:
            return redirect(url_for("ledger.dashboard"))
        return render_template("network/group_home.html", group=g.group, membership=membership)
    groups = db.session.scalars(
        sa.select(Group).where(Group.status == GroupStatus.ACTIVE).order_by(Group.name)
    ).all()
    return render_template("network/index.html", groups=groups)


@bp.route("/network/")
@network_admin_required
def console():
    """Network admins' list of groups."""
    groups = db.session.scalars(sa.select(Group).order_by(Group.created_at.desc())).all()
    return render_template("network/console.html", groups=groups)


@bp.route("/network/groups/new", methods=["GET", "POST"])
@network_admin_required
def new_group():
    """Provision a group: name, slug, default language, first coordinator."""
    form = CreateGroupForm()
    if form.validate_on_submit():
        try:
            group = create_group(
                name=form.name.data,
                slug=form.slug.data,
                default_locale=form.default_locale.data,
                join_policy=JoinPolicy(form.join_policy.data),
                coordinator_email=form.coordinator_email.data,
                coordinator_name=form.coordinator_name.data,
                coordinator_password=form.coordinator_password.data or None,
            )
        except (ProvisioningError, PeopleError) as error:
            db.session.rollback()
            field = getattr(form, error.field or "", None)
            if error.field == "email":
                field = form.coordinator_email
            (field.errors if field is not None else form.form_errors).append(str(error))
        else:
            flash(_("Group %(name)s created.", name=group.name), "success")
            return redirect(url_for("network.console"))
    return render_template("network/new_group.html", form=form)

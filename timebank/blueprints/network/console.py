"""The network console at ``/network/`` (network admins only): groups, requests, settings,
network admins and the audit trail. Every action goes through a service that records it in the
network audit trail (:mod:`timebank.provisioning.audit`)."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.blueprints.navigation import page_keys
from timebank.blueprints.network import bp
from timebank.blueprints.network.forms import (
    AdminForm,
    CreateGroupForm,
    DecisionForm,
    DeleteGroupForm,
    EmptyForm,
    ReasonForm,
    SettingsForm,
)
from timebank.blueprints.network.routes import page_arg
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.i18n import N_
from timebank.models import ExportStatus, Group, GroupExport, GroupRequest, JoinPolicy, User
from timebank.people.errors import PeopleError
from timebank.policy import network_admin_required
from timebank.provisioning import audit, lifecycle, overview
from timebank.provisioning import requests as group_requests
from timebank.provisioning.service import ProvisioningError, create_group

PER_PAGE = 50


def _pages(total: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def _group_or_404(slug: str) -> Group:
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is None:
        abort(404)
    return group


@bp.route("/network/")
@network_admin_required
def console():
    """The groups table: search, filter by status, sort by any column, page through."""
    search = request.args.get("q", "").strip()[:100]
    status = request.args.get("status") or None
    sort = request.args.get("sort", "created")
    sort = sort if sort in overview.SORTS else "created"
    descending = request.args.get("dir", "desc") != "asc"
    page = page_arg()
    rows, total = overview.groups_page(search=search, status=status, sort=sort,
                                       descending=descending, page=page, per_page=PER_PAGE)
    settings = group_requests.network_settings()
    return render_template(
        "network/console.html", rows=rows, total=total, search=search, status=status,
        sort=sort, descending=descending, page=page, pages=_pages(total),
        pending=overview.pending_request_count(),
        settings_form=SettingsForm(groups_need_approval=settings.groups_need_approval),
        verify_form=EmptyForm(),
    )


@bp.route("/network/groups/new", methods=["GET", "POST"])
@network_admin_required
def new_group():
    """Provision a group directly: name, slug, default language, first coordinator."""
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
            audit.record(actor=current_user, action="group.create", target=group)
        except (ProvisioningError, PeopleError) as error:
            roll_back_at_end()
            field = getattr(form, error.field or "", None)
            if error.field == "email":
                field = form.coordinator_email
            (field.errors if field is not None else form.form_errors).append(str(error))
        else:
            flash(_("Group %(name)s created.", name=group.name), "success")
            return redirect(url_for("network.console"))
    return render_template("network/new_group.html", form=form)


@bp.route("/network/groups/<slug>")
@network_admin_required
def group_detail(slug: str):
    """One group: its figures, ledger health, exports, and the actions on it."""
    return group_page(_group_or_404(slug))


def group_page(group: Group, *, caps_form=None, status: int = 200):
    """The console's page of ``group``; ``caps_form``: a refused trading-caps form, shown
    with its input and its errors next to the fields (``status`` 422 then)."""
    exports = db.session.scalars(
        sa.select(GroupExport).where(GroupExport.group_id == group.id)
        .order_by(GroupExport.created_at.desc()).limit(10)
    ).all()
    events = audit.recent_events(group=group, limit=20).rows
    page = render_template(
        "network/group.html", group=group, row=overview.group_row(group.id), exports=exports,
        events=events, reason_form=ReasonForm(), delete_form=DeleteGroupForm(),
        action_form=EmptyForm(), has_export=lifecycle.latest_export(group) is not None,
        caps_form=caps_form,
    )
    building = any(e.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for e in exports)
    return page, status, {"Refresh": "3"} if building else {}


STATUS_ACTIONS = {
    "suspend": (lifecycle.suspend_group, N_("Group %(name)s is suspended.")),
    "reactivate": (lifecycle.reactivate_group, N_("Group %(name)s is active again.")),
    "archive": (lifecycle.archive_group, N_("Group %(name)s is archived.")),
}


@bp.route("/network/groups/<slug>/<any(suspend, reactivate, archive):action>",
          methods=["POST"])
@network_admin_required
def change_status(slug: str, action: str):
    """Suspend, reactivate or archive a group (with an optional reason for the trail)."""
    group = _group_or_404(slug)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    change, message = STATUS_ACTIONS[action]
    try:
        change(group=group, actor=current_user, reason=form.reason.data or "")
    except ProvisioningError as error:
        roll_back_at_end()
        flash(str(error), "danger")
    else:
        flash(_(message, name=group.name), "success")
    return redirect(url_for("network.group_detail", slug=slug))


@bp.route("/network/groups/<slug>/delete", methods=["GET", "POST"])
@network_admin_required
def delete_group(slug: str):
    """Delete an archived, exported group once the admin types its slug."""
    group = _group_or_404(slug)
    form = DeleteGroupForm()
    if form.validate_on_submit():
        name = group.name
        try:
            lifecycle.delete_group(group=group, actor=current_user,
                                   confirm_slug=form.confirm_slug.data)
        except ProvisioningError as error:
            roll_back_at_end()
            group = _group_or_404(slug)
            field = form.confirm_slug if error.field == "confirm_slug" else None
            (field.errors if field is not None else form.form_errors).append(str(error))
        else:
            flash(_("Group %(name)s is deleted.", name=name), "success")
            return redirect(url_for("network.console"))
    return render_template("network/delete_group.html", group=group, form=form,
                           has_export=lifecycle.latest_export(group) is not None)


@bp.route("/network/groups/<slug>/verify", methods=["POST"])
@network_admin_required
def verify_group(slug: str):
    """Run ``ledger verify`` on one group now and store the result."""
    group = _group_or_404(slug)
    if not EmptyForm().validate_on_submit():
        abort(400)
    count = lifecycle.record_ledger_checks(group_id=group.id, actor=current_user)[group.id]
    if count:
        flash(_("The ledger has %(count)s problems.", count=count), "danger")
    else:
        flash(_("The ledger is sound."), "success")
    return redirect(url_for("network.group_detail", slug=slug))


@bp.route("/network/verify", methods=["POST"])
@network_admin_required
def verify_all():
    """Queue a ``ledger verify`` of every group (its results fill the health column)."""
    from timebank.provisioning.jobs import check_all_ledgers
    from timebank.tasks import enqueue

    if not EmptyForm().validate_on_submit():
        abort(400)
    audit.record(actor=current_user, action="ledger.verify_all")
    enqueue(check_all_ledgers)
    flash(_("Every ledger is being checked; the health column fills in as it goes."), "info")
    return redirect(url_for("network.console"))


# --- requests ------------------------------------------------------------------------------------


@bp.route("/network/requests")
@network_admin_required
def request_list():
    """Requests to start a timebank, newest first (pending ones first to decide)."""
    status = request.args.get("status") or None
    page = page_arg()
    items, total = overview.requests_page(status=status, page=page, per_page=PER_PAGE)
    return render_template("network/requests.html", items=items, total=total, status=status,
                           page=page, pages=_pages(total), form=DecisionForm(),
                           retry_form=EmptyForm())


@bp.route("/network/requests/<int:request_id>/decide", methods=["POST"])
@network_admin_required
def decide_request(request_id: int):
    """Approve (the provisioning job is queued) or decline (with a message) a request."""
    group_request = db.session.get(GroupRequest, request_id) or abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.decline.data:
            group_requests.decline_request(group_request=group_request, actor=current_user,
                                           message=form.message.data or "")
            flash(_("Request for %(name)s declined.", name=group_request.name), "info")
        else:
            group_requests.approve_request(group_request=group_request, actor=current_user,
                                           message=form.message.data or "")
            flash(_("Request for %(name)s approved: the timebank is being created.",
                    name=group_request.name), "success")
    except ProvisioningError as error:
        roll_back_at_end()
        flash(str(error), "danger")
    return redirect(url_for("network.request_list"))


@bp.route("/network/requests/<int:request_id>/retry", methods=["POST"])
@network_admin_required
def admin_retry_request(request_id: int):
    """Queue a failed request's provisioning job again."""
    group_request = db.session.get(GroupRequest, request_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        group_requests.retry_request(group_request=group_request, actor=current_user)
    except ProvisioningError as error:
        roll_back_at_end()
        flash(str(error), "danger")
    else:
        flash(_("Trying again."), "info")
    return redirect(url_for("network.request_list"))


# --- settings, admins, audit ---------------------------------------------------------------------


@bp.route("/network/settings", methods=["POST"])
@network_admin_required
def save_settings():
    """Say whether new timebanks need approval."""
    form = SettingsForm()
    if not form.validate_on_submit():
        abort(400)
    group_requests.set_groups_need_approval(value=bool(form.groups_need_approval.data),
                                            actor=current_user)
    flash(_("Network settings saved."), "success")
    return redirect(url_for("network.console"))


@bp.route("/network/admins", methods=["GET", "POST"])
@network_admin_required
def admins():
    """List network admins; make another person one."""
    form = AdminForm()
    if form.validate_on_submit():
        try:
            user = lifecycle.grant_network_admin(email=form.email.data, actor=current_user)
        except ProvisioningError as error:
            roll_back_at_end()
            form.email.errors.append(str(error))
        else:
            flash(_("%(name)s is a network admin.", name=user.name), "success")
            return redirect(url_for("network.admins"))
    return render_template("network/admins.html", form=form, admins=lifecycle.network_admins(),
                           revoke_form=EmptyForm())


@bp.route("/network/admins/<int:user_id>/revoke", methods=["POST"])
@network_admin_required
def revoke_admin(user_id: int):
    """Take the network admin role from someone else."""
    user = db.session.get(User, user_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        lifecycle.revoke_network_admin(user=user, actor=current_user)
    except ProvisioningError as error:
        roll_back_at_end()
        flash(str(error), "danger")
    else:
        flash(_("%(name)s is no longer a network admin.", name=user.name), "success")
    return redirect(url_for("network.admins"))


@bp.route("/network/audit")
@network_admin_required
def audit_trail():
    """Every console action, newest first; searchable by action, target or admin."""
    search = request.args.get("q", "").strip()[:100]
    page = audit.recent_events(search=search, limit=PER_PAGE, **page_keys())
    return render_template("network/audit.html", events=page.rows, events_page=page,
                           search=search)

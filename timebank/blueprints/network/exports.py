"""Exports and imports: network admins export any group and import new ones from CSV; a
coordinator exports their own group at ``/export`` on the group's site."""

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from timebank.blueprints.network import bp, kept_uploads
from timebank.blueprints.network.console import _group_or_404
from timebank.blueprints.network.forms import EmptyForm, ImportForm
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.models import ExportStatus, GroupExport
from timebank.policy import network_admin_required, require
from timebank.portability import export as portability_export
from timebank.portability import importer
from timebank.provisioning.service import ProvisioningError

MAX_UPLOAD = 20 * 1024 * 1024  # bytes per uploaded file


def _download(export: GroupExport) -> Response:
    """Stream a finished export's ZIP, a stored piece at a time (after the view has returned,
    in an app context of its own): a worker never holds the whole file."""
    if export.status != ExportStatus.DONE or export.size is None:
        abort(404)
    app, export_id = current_app._get_current_object(), export.id

    def body():
        with app.app_context():
            yield from portability_export.stored_chunks(export_id)

    return Response(body(), mimetype="application/zip", headers={
        "Content-Length": str(export.size),
        "Content-Disposition": f'attachment; filename="{export.filename}"'})


def _status(export: GroupExport) -> dict:
    return {"id": export.id, "status": export.status.value, "progress": export.progress,
            "error": export.error if export.status == ExportStatus.FAILED else None}


# --- network admins ------------------------------------------------------------------------------


@bp.route("/network/groups/<slug>/export", methods=["POST"])
@network_admin_required
def export_group(slug: str):
    """Queue an export of the group; the group's page shows its progress."""
    group = _group_or_404(slug)
    if not EmptyForm().validate_on_submit():
        abort(400)
    from timebank.provisioning import audit

    export = portability_export.request_export(group=group, requested_by=current_user)
    audit.record(actor=current_user, action="group.export", target=group,
                 details={"export_id": export.id})
    flash(_("The export is being built."), "info")
    return redirect(url_for("network.group_detail", slug=slug))


@bp.route("/network/exports/<int:export_id>")
@network_admin_required
def export_status(export_id: int):
    """An export's status and progress, as JSON (the group page polls it)."""
    export = db.session.get(GroupExport, export_id) or abort(404)
    return jsonify(_status(export))


@bp.route("/network/exports/<int:export_id>/download")
@network_admin_required
def download_export(export_id: int):
    """Download a finished export."""
    return _download(db.session.get(GroupExport, export_id) or abort(404))


def _upload(field) -> bytes | None:
    storage = field.data
    if not storage or not getattr(storage, "filename", ""):
        return None
    data = storage.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        field.errors.append(_("This file is too large."))
        return None
    return data


@bp.route("/network/import", methods=["GET", "POST"])
@network_admin_required
def import_group():
    """Import a group from CSV: "Check" shows the dry-run report, "Import" does it."""
    form = ImportForm()
    plan = None
    kept_files = None
    if form.validate_on_submit():
        members = _upload(form.members_file)
        transfers = _upload(form.transfers_file)
        too_large = bool(form.members_file.errors or form.transfers_file.errors)
        if members is None and not too_large:  # the files chosen for the dry run
            kept_files = kept_uploads.load(current_user.id, form.kept.data or "")
            if kept_files is None:
                form.members_file.errors.append(_("Choose the members file."))
            else:
                members, transfers = kept_files["members"], kept_files["transfers"]
        elif members is not None and not too_large:
            form.kept.data = kept_uploads.keep(
                current_user.id, {"members": members, "transfers": transfers})
            kept_files = {"members": members, "transfers": transfers}
        if members is not None:
            try:
                members, from_zip = importer.read_upload(members)
                transfers = transfers if from_zip is None else from_zip
            except ProvisioningError as error:
                roll_back_at_end()
                form.members_file.errors.append(str(error))
                members = None
        if members is not None and not too_large:
            plan = importer.plan_import(
                members_data=members, transfers_data=transfers, name=form.name.data,
                slug=form.slug.data, default_locale=form.default_locale.data,
                coordinator_email=form.coordinator_email.data,
            )
            if form.submit.data and plan.is_valid:
                try:
                    group = importer.import_group(plan=plan, actor=current_user)
                except ProvisioningError as error:
                    roll_back_at_end()
                    flash(str(error), "danger")
                else:
                    kept_uploads.forget(current_user.id, form.kept.data or "")
                    flash(_("Group %(name)s imported: %(members)s members, %(transfers)s "
                            "transfers.", name=group.name, members=len(plan.members),
                            transfers=len(plan.transfers)), "success")
                    return redirect(url_for("network.group_detail", slug=group.slug))
    return render_template("network/import.html", form=form, plan=plan, kept_files=kept_files)


# --- a coordinator, on the group's site ----------------------------------------------------------


def _own_exports() -> list[GroupExport]:
    return list(db.session.scalars(
        sa.select(GroupExport).where(GroupExport.group_id == g.group.id)
        .order_by(GroupExport.created_at.desc()).limit(10)
    ))


@bp.route("/export", methods=["GET", "POST"])
@require("group.export")
def group_export():
    """The coordinator's export page: start an export, follow it, download it."""
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        portability_export.request_export(group=g.group, requested_by=current_user)
        flash(_("The export is being built."), "info")
        return redirect(url_for("network.group_export"))
    exports = _own_exports()
    in_progress = any(e.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for e in exports)
    page = render_template("network/group_export.html", exports=exports, form=form,
                           in_progress=in_progress)
    return page, 200, {"Refresh": "3"} if in_progress else {}


@bp.route("/export/<int:export_id>/download")
@require("group.export")
def group_export_download(export_id: int):
    """Download one of this group's finished exports."""
    export = db.session.get(GroupExport, export_id)
    if export is None or export.group_id != g.group.id:
        abort(404)
    return _download(export)

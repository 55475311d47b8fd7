"""Volunteer task pages and the kudos board."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from timebank.blueprints.volunteering import bp
from timebank.blueprints.volunteering.forms import (
    CancelTaskForm,
    DoneForm,
    PledgeForm,
    TaskForm,
    WithdrawForm,
)
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.models import Pledge, VolunteerTask
from timebank.policy import can, current_membership, require
from timebank.volunteering import service as volunteering
from timebank.volunteering.errors import VolunteeringError


def _task_or_404(task_id: int) -> VolunteerTask:
    task = db.session.get(VolunteerTask, task_id)  # tenant-scoped: another group's is None
    if task is None:
        abort(404)
    return task


def _pledge_or_404(pledge_id: int) -> Pledge:
    pledge = db.session.get(Pledge, pledge_id)
    if pledge is None:
        abort(404)
    return pledge


@bp.route("/volunteering/")
@require("volunteering.view")
def tasks():
    upcoming = volunteering.upcoming_tasks()
    recent = volunteering.recent_tasks()
    return render_template(
        "volunteering/tasks.html", upcoming=upcoming, recent=recent,
        places=volunteering.place_counts(upcoming + recent),
    )


@bp.route("/volunteering/new", methods=["GET", "POST"])
@require("volunteering.post")
def new_task():
    form = TaskForm()
    if form.validate_on_submit():
        zone = ZoneInfo(g.group.timezone or "UTC")
        starts_at = datetime.combine(form.date.data, form.time.data, tzinfo=zone)
        try:
            task = volunteering.post_task(
                title=form.title.data, description=form.description.data or "",
                starts_at=starts_at, volunteers_needed=form.volunteers_needed.data,
                by=current_membership())
        except VolunteeringError as error:
            roll_back_at_end()
            getattr(form, error.field or "title").errors.append(str(error))
        else:
            flash(_("Task posted."), "success")
            return redirect(url_for("volunteering.task", task_id=task.id))
    return render_template("volunteering/new.html", form=form)


@bp.route("/volunteering/<int:task_id>")
@require("volunteering.view")
def task(task_id: int):
    task = _task_or_404(task_id)
    me = current_membership()
    pledges = volunteering.active_pledges(task)
    mine = volunteering.pledge_of(task, me)
    return render_template(
        "volunteering/task.html", task=task, pledges=pledges, mine=mine,
        taken=sum(1 for _p in pledges), pledge_form=PledgeForm(), withdraw_form=WithdrawForm(),
        done_form=DoneForm(),
        cancel_form=CancelTaskForm() if can(me, "volunteering.cancel") else None,
    )


@bp.route("/volunteering/<int:task_id>/pledge", methods=["POST"])
@require("volunteering.pledge")
def pledge(task_id: int):
    task = _task_or_404(task_id)
    if PledgeForm().validate_on_submit():
        try:
            volunteering.pledge(task=task, membership=current_membership())
        except VolunteeringError as error:
            roll_back_at_end()
            flash(str(error), "warning")
        else:
            flash(_("Thank you! You pledged to help."), "success")
    return redirect(url_for("volunteering.task", task_id=task.id))


@bp.route("/volunteering/pledges/<int:pledge_id>/withdraw", methods=["POST"])
@require("volunteering.withdraw")
def withdraw(pledge_id: int):
    pledge = _pledge_or_404(pledge_id)
    me = current_membership()
    if not can(me, "volunteering.withdraw", pledge):
        abort(403)
    if WithdrawForm().validate_on_submit():
        try:
            volunteering.withdraw(pledge=pledge, membership=me)
        except VolunteeringError as error:
            roll_back_at_end()
            flash(str(error), "warning")
        else:
            flash(_("Your pledge is withdrawn."), "info")
    return redirect(url_for("volunteering.task", task_id=pledge.task_id))


@bp.route("/volunteering/pledges/<int:pledge_id>/done", methods=["POST"])
@require("volunteering.complete")
def done(pledge_id: int):
    pledge = _pledge_or_404(pledge_id)
    if DoneForm().validate_on_submit():
        try:
            result = volunteering.complete(pledge=pledge, by=current_membership())
        except VolunteeringError as error:
            roll_back_at_end()
            flash(str(error), "warning")
        else:
            name = pledge.membership.user.name
            flash(_("Kudos to %(name)s!", name=name), "success")
            if result.thanks_error is not None:
                flash(_("The thank-you hours could not be paid: %(reason)s",
                        reason=str(result.thanks_error)), "warning")
    return redirect(url_for("volunteering.task", task_id=pledge.task_id))


@bp.route("/volunteering/<int:task_id>/cancel", methods=["POST"])
@require("volunteering.cancel")
def cancel(task_id: int):
    task = _task_or_404(task_id)
    form = CancelTaskForm()
    if form.validate_on_submit():
        try:
            volunteering.cancel_task(task=task, by=current_membership(),
                                     reason=form.reason.data or "")
        except VolunteeringError as error:
            roll_back_at_end()
            flash(str(error), "warning")
        else:
            flash(_("The task is cancelled; the volunteers are told."), "info")
    return redirect(url_for("volunteering.task", task_id=task.id))


@bp.route("/kudos")
@require("kudos.view")
def board():
    since = volunteering.month_start(timezone=g.group.timezone or "UTC")
    return render_template(
        "volunteering/board.html", month=volunteering.kudos_board(since=since),
        all_time=volunteering.kudos_board(), month_start=since,
    )

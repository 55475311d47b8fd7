"""Starting a timebank on the apex: the request form, email confirmation, the status page.

The form asks for the group (name, address checked live by ``static/js/slug_check.js`` against
:mod:`.api`, language, time zone, place, welcome text) and, from a visitor, their account.
The services in :mod:`timebank.provisioning.requests` hold the rules.
"""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.auth_loader import log_in
from timebank.blueprints.network import bp
from timebank.blueprints.network.forms import EmptyForm, RetryForm, StartTimebankForm
from timebank.blueprints.settings.general import time_zone_choices
from timebank.boundary import roll_back_at_end
from timebank.extensions import db, limiter
from timebank.i18n import current_locale
from timebank.models import Group, GroupRequest, GroupRequestStatus
from timebank.people.errors import PeopleError
from timebank.policy import apex_only
from timebank.provisioning import handoff
from timebank.provisioning import requests as group_requests
from timebank.provisioning.service import ProvisioningError
from timebank.settings.general import countries, zones_of_country


def _field_error(form, error: Exception) -> None:
    """Put a service error next to its field (or on top of the form)."""
    name = getattr(error, "field", None)
    field = getattr(form, name, None) if name else None
    (field.errors if field is not None else form.form_errors).append(str(error))


def _country_of_browser() -> str | None:
    """The country of the first ``Accept-Language`` entry that names one (``en-GB``: GB),
    as a hint for the likely time zones; None when no entry names a known country."""
    known = countries()
    for value, _quality in request.accept_languages:
        parts = value.replace("_", "-").split("-")
        region = next((part.upper() for part in parts[1:] if len(part) == 2), None)
        if region in known:
            return region
    return None


@bp.route("/start", methods=["GET", "POST"])
@apex_only
@limiter.limit("10 per minute", methods=["POST"])
def start():
    """The "Start a timebank" form."""
    form = StartTimebankForm()
    logged_in = current_user.is_authenticated
    if logged_in:
        form.drop_account_fields()
    likely_country = _country_of_browser()
    form.timezone.choices = time_zone_choices(likely_country)
    if request.method == "GET":
        form.default_locale.data = current_locale()
        likely_zones = zones_of_country(likely_country)
        form.timezone.data = likely_zones[0] if likely_zones else "UTC"
        # Not after a refused POST: the zone chosen then stays chosen.
        form.timezone.render_kw = {**form.timezone.render_kw, "data-prefer-browser": "1"}
    suggestions: list[str] = []
    if form.validate_on_submit():
        try:
            group_request = group_requests.start_request(
                name=form.name.data,
                slug=form.slug.data,
                default_locale=form.default_locale.data,
                timezone=form.timezone.data,
                place=form.place.data or "",
                description=form.description.data or "",
                requester=current_user if logged_in else None,
                requester_name="" if logged_in else form.your_name.data,
                requester_email="" if logged_in else form.email.data,
                password=None if logged_in else form.password.data,
                locale=current_locale(),
            )
        except (ProvisioningError, PeopleError) as error:
            roll_back_at_end()
            _field_error(form, error)
            if getattr(error, "field", None) == "slug":
                suggestions = group_requests.suggest_slugs(
                    form.slug.data or form.name.data, place=form.place.data or "")
        else:
            if group_request.status == GroupRequestStatus.UNCONFIRMED:
                flash(_("Almost there: we sent a link to %(email)s. Open it to confirm your "
                        "email.", email=group_request.requester_email), "info")
            return redirect(url_for("network.request_status", token=group_request.token))
    return render_template("network/start.html", form=form, logged_in=logged_in,
                           suggestions=suggestions)


@bp.route("/start/confirm/<token>")
@apex_only
def confirm_request(token: str):
    """The link in the confirmation email: create the account, log in, go on."""
    try:
        group_request, user = group_requests.confirm_request(token=token)
    except ProvisioningError as error:
        roll_back_at_end()
        flash(str(error), "danger")
        return redirect(url_for("network.start"))
    log_in(user)
    flash(_("Thank you, your email is confirmed."), "success")
    return redirect(url_for("network.request_status", token=group_request.token))


def _request_by_token(token: str) -> GroupRequest:
    group_request = db.session.scalar(sa.select(GroupRequest).where(GroupRequest.token == token))
    if group_request is None:
        abort(404)
    return group_request


def _is_requester(group_request: GroupRequest) -> bool:
    return current_user.is_authenticated and current_user.id == group_request.requester_id


@bp.route("/start/requests/<token>")
@apex_only
def request_status(token: str):
    """The requester's page: where the request is, the job's progress, what went wrong."""
    group_request = _request_by_token(token)
    group = db.session.get(Group, group_request.group_id) if group_request.group_id else None
    retry_form = RetryForm(slug=group_request.slug)
    page = render_template(
        "network/request_status.html", group_request=group_request, group=group,
        is_requester=_is_requester(group_request), retry_form=retry_form,
        go_form=EmptyForm(),
        failure=(group_requests.failure_message(group_request)
                 if group_request.status == GroupRequestStatus.FAILED else ""),
    )
    # While the job runs the page reloads itself to show its progress (no script needed).
    return page, 200, {"Refresh": "2"} if group_request.is_in_progress else {}


@bp.route("/start/requests/<token>/retry", methods=["POST"])
@apex_only
def retry_request(token: str):
    """Queue a failed request again (the requester, or a network admin)."""
    group_request = _request_by_token(token)
    if not (_is_requester(group_request)
            or (current_user.is_authenticated and current_user.is_network_admin)):
        abort(403)
    form = RetryForm()
    if form.validate_on_submit():
        try:
            group_requests.retry_request(group_request=group_request, slug=form.slug.data,
                                         actor=current_user)
        except ProvisioningError as error:
            roll_back_at_end()
            flash(str(error), "danger")
        else:
            flash(_("Trying again."), "info")
    return redirect(url_for("network.request_status", token=token))


@bp.route("/start/requests/<token>/go", methods=["POST"])
@apex_only
def go_to_new_group(token: str):
    """Carry the requester's login to their new group's site."""
    group_request = _request_by_token(token)
    group = db.session.get(Group, group_request.group_id) if group_request.group_id else None
    if group is None or not _is_requester(group_request) or not EmptyForm().validate_on_submit():
        abort(404 if group is None else 403)
    return handoff_redirect(group)


def handoff_redirect(group: Group):
    """Redirect to ``group``'s site with a single-use login token (see
    :mod:`timebank.provisioning.handoff`), or to its login page if that is not possible."""
    from timebank.tenants.urls import group_url

    try:
        token = handoff.handoff_token(user=current_user, group=group)
    except ProvisioningError:
        roll_back_at_end()
        return redirect(group_url(group.slug, "/login?next=/dashboard"))
    response = redirect(group_url(group.slug, url_for("network.redeem_handoff", token=token)))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

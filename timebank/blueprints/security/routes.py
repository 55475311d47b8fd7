"""Two-factor sign-in: the code step after the password, setup and turning off, the rule."""

import time

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from timebank.auth_loader import log_in
from timebank.blueprints.navigation import local_path
from timebank.blueprints.security import bp
from timebank.blueprints.security.forms import CodeForm, StaffRuleForm, TurnOffForm
from timebank.extensions import db
from timebank.models import User
from timebank.models.console import NetworkSettings
from timebank.people.passwords import check_password
from timebank.policy import network_admin_required
from timebank.security import throttle
from timebank.security import two_factor as factors

PENDING = "pending_login"
MUST_SET_UP = "must_set_up_two_factor"
PENDING_MAX_AGE = 5 * 60  # seconds between the password and the code
# While a required second factor is missing, only these pages open.
OPEN_WHILE_SETTING_UP = {"security.two_factor", "security.login_code", "auth.logout",
                         "static", "bootstrap.static", "auth.set_language"}


def finish_password_step(user: User, *, remember: bool, next_url: str):
    """After a right password: ask for the code, or log in (and demand a factor if required)."""
    if factors.enabled_factor(user) is not None:
        session.clear()
        session[PENDING] = {"user": user.id, "host": request.host.lower(),
                            "remember": bool(remember), "at": int(time.time()),
                            "next": next_url}
        return redirect(url_for("security.login_code"))
    log_in(user, remember=remember)
    if factors.required_for(user):
        session[MUST_SET_UP] = True
        flash(_("This network asks you to turn on two-factor sign-in first."), "info")
        return redirect(url_for("security.two_factor"))
    return redirect(next_url)


@bp.before_app_request
def demand_required_factor():
    if session.get(MUST_SET_UP) and request.endpoint not in OPEN_WHILE_SETTING_UP:
        if current_user.is_authenticated:
            return redirect(url_for("security.two_factor"))
        session.pop(MUST_SET_UP, None)


@bp.route("/login/two-factor", methods=["GET", "POST"])
def login_code():
    """The second step of login: a code from the app or a recovery code."""
    pending = session.get(PENDING)
    if (not pending or pending.get("host") != request.host.lower()
            or time.time() - pending.get("at", 0) > PENDING_MAX_AGE):
        session.pop(PENDING, None)
        return redirect(url_for("auth.login"))
    user = db.session.get(User, pending["user"])
    if user is None:
        abort(400)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            throttle.check_login_allowed(user)
        except throttle.AccountLocked:
            form.code.errors.append(_("This account is locked after too many wrong passwords. "
                                      "We emailed its owner a link that unlocks it."))
        except throttle.TryLater as wait:
            form.code.errors.append(_("Too many wrong passwords: try again in %(seconds)d "
                                      "seconds.", seconds=wait.seconds))
        else:
            if factors.check_code(user, form.code.data.strip()):
                throttle.clear_failed_logins(user)
                next_url = local_path(pending.get("next")) or url_for("network.index")
                log_in(user, remember=pending.get("remember", False))
                return redirect(next_url)
            if throttle.record_failed_login(user):
                throttle.send_unlock_link(user)
            form.code.errors.append(_("This code is not right."))
    return render_template("security/login_code.html", form=form)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """Turn two-factor sign-in on (scan, type a code, keep the recovery codes) or manage it."""
    factor = factors.enabled_factor(current_user)
    form = CodeForm()
    off_form = TurnOffForm(prefix="off")
    recovery_codes = None
    if factor is None and form.validate_on_submit():
        recovery_codes = factors.finish_setup(current_user, form.code.data.strip())
        if recovery_codes is None:
            form.code.errors.append(_("This code is not right."))
        else:
            session.pop(MUST_SET_UP, None)
            flash(_("Two-factor sign-in is on."), "success")
            factor = factors.enabled_factor(current_user)
    setup = uri = None
    if factor is None:
        setup = factors.start_setup(current_user)
        uri = factors.provisioning_uri(current_user, setup)
    return render_template(
        "security/two_factor.html", factor=factor, setup=setup, form=form, off_form=off_form,
        qr=factors.qr_data_uri(uri) if uri else None, recovery_codes=recovery_codes,
        required=factors.required_for(current_user))


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@login_required
def new_recovery_codes():
    """Replace the recovery codes (the old ones stop working)."""
    if factors.enabled_factor(current_user) is None:
        abort(404)
    codes = factors.new_recovery_codes(current_user)
    return render_template("security/two_factor.html", factor=True, setup=None,
                           form=CodeForm(), off_form=TurnOffForm(prefix="off"), qr=None,
                           recovery_codes=codes, required=factors.required_for(current_user))


@bp.route("/account/two-factor/off", methods=["POST"])
@login_required
def two_factor_off():
    """Turn the second factor off: needs the password and a code (not when required)."""
    form = TurnOffForm(prefix="off")
    if factors.required_for(current_user):
        flash(_("This network requires two-factor sign-in for your role."), "warning")
    elif (form.validate_on_submit()
          and check_password(current_user.password_hash, form.password.data)
          and factors.check_code(current_user, form.code.data.strip())):
        factors.turn_off(current_user)
        flash(_("Two-factor sign-in is off."), "info")
    else:
        flash(_("The password or the code is not right."), "danger")
    return redirect(url_for("security.two_factor"))


@bp.route("/network/settings/two-factor", methods=["POST"])
@network_admin_required
def staff_rule():
    """Say whether network admins, coordinators and treasurers need a second factor."""
    from timebank.provisioning import audit
    from timebank.provisioning.requests import network_settings

    form = StaffRuleForm()
    if not form.validate_on_submit():
        abort(400)
    settings: NetworkSettings = network_settings()
    settings.staff_need_two_factor = bool(form.staff_need_two_factor.data)
    audit.record(actor=current_user, action="network.two_factor_setting",
                 details={"staff_need_two_factor": settings.staff_need_two_factor})
    flash(_("Network settings saved."), "success")
    return redirect(url_for("network.console"))

"""Log in/out, sign up and join, password reset and change, profile."""


from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from timebank.auth_loader import log_in
from timebank.blueprints.auth import bp
from timebank.blueprints.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    JoinForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    SignupForm,
)
from timebank.blueprints.navigation import local_path
from timebank.blueprints.security.routes import finish_password_step
from timebank.boundary import roll_back_at_end
from timebank.i18n import N_
from timebank.mail import send_templated_mail
from timebank.people import login as login_service
from timebank.people import service as people
from timebank.people import signup as signup_flow
from timebank.people.errors import AlreadyMember, PeopleError
from timebank.policy import current_membership, group_only
from timebank.security import sessions, throttle
from timebank.tasks import enqueue


def _safe_next() -> str:
    """Return the ``next`` argument if it is a path on this host, else the home page."""
    return local_path(request.args.get("next")) or url_for("network.index")


@bp.route("/login", methods=["GET", "POST"])  # limits: timebank.security.throttle
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next())
    form = LoginForm()
    if request.method == "GET" and request.args.get("email"):  # from "Log in and join"
        form.email.data = request.args["email"][:254]
    if form.validate_on_submit():
        try:
            user = login_service.authenticate(email=form.email.data, password=form.password.data)
        except throttle.AccountLocked:
            user = None
            form.password.errors.append(_(
                "This account is locked after too many wrong passwords. We emailed its owner "
                "a link that unlocks it."))
        except throttle.TryLater as wait:
            user = None
            form.password.errors.append(_(
                "Too many wrong passwords: try again in %(seconds)d seconds.",
                seconds=wait.seconds))
        else:
            if user is None:
                form.password.errors.append(_("Email or password is not right."))
        if user is not None:  # then the code, when the person uses two-factor sign-in
            return finish_password_step(user, remember=form.remember.data,
                                        next_url=_safe_next())
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """End this login for good: its session and remember-me cookies stop working."""
    sessions.end_current_session()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("network.index"))


@bp.route("/signup", methods=["GET", "POST"])
@group_only
def signup():
    """Ask to join this group with a new account: the emailed link creates it (signup.py)."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.join"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            signup_flow.start_signup(email=form.email.data, name=form.name.data,
                                     password=form.password.data, group=g.group,
                                     locale=str(get_locale() or "en"))
        except PeopleError as error:
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            # The same answer whether or not the address has an account.
            flash(_("Check your email: we sent %(email)s a link to finish signing up.",
                    email=form.email.data), "info")
            return redirect(url_for("network.index"))
    return render_template("auth/signup.html", form=form)


@bp.route("/signup/confirm/<token>")
@group_only
def confirm_signup(token: str):
    """The emailed sign-up link: create the account and the request to join, log in."""
    try:
        user, membership = signup_flow.confirm_signup(token=token, group=g.group)
    except PeopleError as error:
        roll_back_at_end()
        flash(str(error), "warning")
        return redirect(url_for("auth.signup"))
    log_in(user)
    if membership is not None:
        _announce(membership)
    return redirect(url_for("network.index"))


@bp.route("/join", methods=["GET", "POST"])
@group_only
@login_required
def join():
    """A logged-in user asks to join this group (or sees their request is pending)."""
    membership = current_membership()
    form = JoinForm()
    if form.validate_on_submit():
        try:
            membership = people.request_membership(user=current_user, group=g.group)
        except AlreadyMember:
            pass
        except PeopleError as error:  # invitation only
            roll_back_at_end()
            flash(str(error), "warning")
        else:
            _announce(membership)
        return redirect(url_for("network.index"))
    return render_template("auth/join.html", form=form, membership=membership)


def _announce(membership) -> None:
    if membership.is_active:
        flash(_("Welcome to %(group)s!", group=g.group.name), "success")
    else:
        flash(_("Thanks! A coordinator will look at your request soon."), "info")


@bp.route("/password/forgot", methods=["GET", "POST"])  # limits: timebank.security.throttle
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = people.find_user_by_email(form.email.data)
        if user is not None:
            token = people.password_reset_token(user)
            link = url_for("auth.reset_password", token=token, _external=True)
            enqueue(
                send_templated_mail,
                user.id,
                "password_reset",
                N_("Reset your password"),
                {"link": link, "minutes": current_app.config["PASSWORD_RESET_MAX_AGE"] // 60},
                group_id=g.group.id if g.group is not None else None,
            )
        # Same answer either way: the page must not reveal who has an account.
        flash(_("If that email has an account, a link to reset the password is on its way."),
              "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = people.reset_password(token=token, new_password=form.password.data)
            sessions.end_all_sessions(user)
            throttle.clear_failed_logins(user)  # the reset proves the mailbox: no lock left
        except PeopleError as error:
            roll_back_at_end()
            flash(str(error), "danger")
            return redirect(url_for("auth.forgot_password"))
        flash(_("Your password is changed. Log in with the new one."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            people.change_password(
                user=current_user,
                current_password=form.current_password.data,
                new_password=form.password.data,
            )
        except PeopleError as error:
            roll_back_at_end()
            form.current_password.errors.append(str(error))
        else:
            sessions.end_other_sessions(current_user)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        people.update_profile(
            user=current_user, name=form.name.data, bio=form.bio.data or "",
            locale=form.locale.data or None,
        )
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.route("/login/unlock/<token>")
def unlock_account(token: str):
    """The emailed link that lifts the lock after too many wrong passwords."""
    if throttle.unlock(token) is None:
        flash(_("This link is not valid any more."), "warning")
    else:
        flash(_("Your account is unlocked: log in with your password."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """End every login of this account, on every device and host, this one included."""
    sessions.end_all_sessions(current_user)
    logout_user()
    flash(_("You are logged out everywhere."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str | None = None):
    """Switch to ``code`` (in the path, or the ``code`` field of the menu's one form), one of
    the languages this site offers (else 404).

    Logged in: saved as the member's preference (it follows them to every group that offers
    it). Always: remembered in a host-only cookie, so a visitor keeps the choice on this site
    and it outlives a logout. :mod:`timebank.i18n` says how the two rank.
    """
    from timebank.i18n import LOCALE_COOKIE, LOCALE_COOKIE_MAX_AGE, enabled_languages

    code = code or request.form.get("code", "")
    if code not in enabled_languages(g.group):
        abort(404)
    if current_user.is_authenticated:
        people.update_profile(
            user=current_user, name=current_user.name, bio=current_user.bio, locale=code
        )
    response = redirect(_safe_next())
    response.set_cookie(
        LOCALE_COOKIE, code, max_age=LOCALE_COOKIE_MAX_AGE, samesite="Lax", httponly=True,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return response

"""Flask-Login wiring: a login is valid only on the host where it happened, until it ends.

Cookies are host-only already (no ``Domain``). On top of that the id Flask-Login keeps for the
user, in the session and in the "keep me logged in" cookie, is ``"<user id>@<host>"``: both
cookies are signed, so a cookie copied from ``a.example.org`` is anonymous on ``b``, while the
remember cookie still logs the user back in on its own host. The id also carries the token of
the login's row (:mod:`timebank.security.sessions`): logout and password changes delete rows,
which ends the cookies that name them.
"""

from flask import g, session
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from timebank.models import User


def install_user_loader(login_manager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # Re-issue the session on each login; refuse it if the remote address changes mid-session.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(login_id: str) -> User | None:
        """Load the user and, in the same statement, their membership in the request's group
        (kept on ``g`` for :func:`timebank.policy.current_membership`)."""
        from timebank.security.sessions import user_for_login_id

        if "group" not in g:  # the tenant is not resolved yet: the membership comes later
            return user_for_login_id(login_id)[0]
        group_id = g.group.id if g.group is not None else None
        user, membership = user_for_login_id(login_id, group_id=group_id)
        g.setdefault("membership", membership)  # an API token's membership stays first
        return user


def log_in(user: User, *, remember: bool = False) -> None:
    """Log ``user`` in on this host only, in a new session (the cookies name host and login)."""
    session.clear()  # renewed at login: nothing from before (fixation) carries over
    login_user(user, remember=remember)
    remember_login_host(user, remember=remember)


def remember_login_host(user: User, *, remember: bool = False) -> None:
    """Bind the current login to this host and a new login row; call right after ``login_user``.

    Flask-Login writes the remember cookie from ``session["_user_id"]`` when the response goes
    out, so the host bound here travels in that cookie too.
    """
    from timebank.security.sessions import start_login_session

    session["_user_id"] = start_login_session(user, remember=remember)

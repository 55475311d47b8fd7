"""Flask-Login wiring: a login is valid only on the host where it happened.

Cookies are host-only already (no ``Domain``). On top of that the id Flask-Login keeps for the
user, in the session and in the "keep me logged in" cookie, is ``"<user id>@<host>"``: both
cookies are signed, so a cookie copied from ``a.example.org`` is anonymous on ``b``, while the
remember cookie still logs the user back in on its own host.
"""

from flask import request, session
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from timebank.extensions import db
from timebank.models import User


def install_user_loader(login_manager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # Re-issue the session on each login; refuse it if the remote address changes mid-session.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(login_id: str) -> User | None:
        user_id, _, host = login_id.partition("@")
        if host != request.host.lower():
            return None
        try:
            return db.session.get(User, int(user_id))
        except ValueError:
            return None


def log_in(user: User, *, remember: bool = False) -> None:
    """Log ``user`` in on this host only (the session and remember cookie name the host)."""
    login_user(user, remember=remember)
    remember_login_host()


def remember_login_host() -> None:
    """Bind the current login to this host; call right after ``login_user``.

    Flask-Login writes the remember cookie from ``session["_user_id"]`` when the response goes
    out, so the host bound here travels in that cookie too.
    """
    user_id = str(session["_user_id"]).partition("@")[0]
    session["_user_id"] = f"{user_id}@{request.host.lower()}"

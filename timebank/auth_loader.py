"""Flask-Login wiring: a login is valid only on the host where it happened.

Cookies are host-only already (no ``Domain``); on top of that the session remembers the host
it was made on, so a session cookie copied from ``a.example.org`` is anonymous on ``b``.
"""

from flask import request, session
from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.models import User

SESSION_HOST_KEY = "login_host"


def install_user_loader(login_manager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # Re-issue the session on each login; refuse it if the remote address changes mid-session.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if session.get(SESSION_HOST_KEY) != request.host.lower():
            return None
        try:
            return db.session.get(User, int(user_id))
        except ValueError:
            return None


def remember_login_host() -> None:
    """Bind the current session to this host; call right after ``login_user``."""
    session[SESSION_HOST_KEY] = request.host.lower()

"""The app's defences (issue 15): secrets, security headers, sessions that end, abuse limits,
two-factor sign-in, bad input answered with 400, the outage page.

:func:`install_security` wires the request-time parts into the app; ``create_app`` calls it.
"""

from flask import Flask


def install_security(app: Flask) -> None:
    """Wire the request-time defences into ``app``."""
    from timebank.security.bad_input import install_bad_input_guards
    from timebank.security.headers import install_security_headers
    from timebank.security.outage import install_outage_page
    from timebank.security.sessions import configure_cookies

    configure_cookies(app)  # before the headers: talisman reads the cookie settings
    install_security_headers(app)
    install_bad_input_guards(app)
    install_outage_page(app)
    app.add_template_global(_staff_need_two_factor, "staff_need_two_factor")


def _staff_need_two_factor() -> bool:
    """Whether the network requires a second factor of its staff (for the console's form)."""
    from timebank.extensions import db
    from timebank.models.console import NetworkSettings

    settings = db.session.get(NetworkSettings, 1)
    return bool(settings and settings.staff_need_two_factor)

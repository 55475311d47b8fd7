"""Security headers on every response (flask-talisman) and ``no-store`` on private pages.

* CSP: scripts and styles only from this host, no inline script (templates load ``static/``
  files; data for scripts travels in ``<script type="application/json">`` blocks, which never
  run); ``style-src-attr 'unsafe-inline'`` keeps the few ``style=""`` attributes working;
  ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY``) so no page can be framed.
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``,
  a Permissions-Policy that turns off what the app never uses, HSTS (one year) on https only.
* ``Cache-Control: no-store`` on every response to a logged-in person and on every download
  (``Content-Disposition: attachment``), so a shared computer's cache keeps no statement.
"""

from flask import Flask, request
from flask_login import current_user
from flask_talisman import Talisman

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = {
    "camera": "()", "microphone": "()", "geolocation": "()", "payment": "()", "usb": "()",
    "interest-cohort": "()",
}
HSTS_MAX_AGE = 365 * 24 * 60 * 60
# Public files keep their normal caching even for logged-in people.
CACHEABLE_ENDPOINTS = frozenset({"static", "bootstrap.static"})


class SecurityHeaders(Talisman):
    """Talisman, except that a view's own stricter ``Referrer-Policy`` stays (the login
    hand-off sends ``no-referrer`` so its one-time link never leaks)."""

    def _set_referrer_policy_headers(self, headers):
        headers.setdefault("Referrer-Policy", self.referrer_policy)


talisman = SecurityHeaders()  # unbound, like the extensions in timebank/extensions.py


def install_security_headers(app: Flask) -> None:
    """Bind flask-talisman with the policy above and add ``no-store`` where it belongs."""
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at nginx, which redirects http
        strict_transport_security=True,  # sent on https requests only
        strict_transport_security_max_age=HSTS_MAX_AGE,
        strict_transport_security_include_subdomains=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy=PERMISSIONS_POLICY,
        # The cookie settings stay ours (timebank.config / timebank.security.sessions).
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )

    @app.after_request
    def no_store_private(response):
        if request.endpoint in CACHEABLE_ENDPOINTS:
            return response
        is_download = "attachment" in response.headers.get("Content-Disposition", "")
        if is_download or _is_logged_in():
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
            response.vary.add("Cookie")
        return response


def _is_logged_in() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # e.g. the database is down while answering with an error page
        return False

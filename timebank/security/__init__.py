"""The app's defences (issue 15): secrets, security headers, sessions that end, abuse limits,
two-factor sign-in, bad input answered with 400, the outage page.

:func:`install_security` wires the request-time parts into the app; ``create_app`` calls it.
"""

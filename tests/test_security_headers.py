"""Issue 15, item 5: security headers on every response; no-store on private pages."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "timebank" / "templates"


def test_every_response_carries_the_security_headers(client_for):
    response = client_for(None).get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src-attr")[0]
    assert "object-src 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain http: never HSTS
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_hsts_under_https(client_for):
    response = client_for(None).get("/", base_url="https://localhost:5000")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_error_pages_carry_them_too(client_for, make_group):
    make_group("greenvale")
    response = client_for("greenvale").get("/no-such-page")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_logged_in_pages_and_exports_are_not_stored(client_for, make_group, make_member,
                                                    login):
    group = make_group("greenvale")
    ann = make_member(group, name="Ann")
    client = login(client_for("greenvale"), ann.user.email)
    for path in ("/", "/statement", "/statement.csv", "/profile"):
        response = client.get(path)
        assert response.status_code < 400, path
        assert response.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/timebank.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_templates_have_no_inline_script_or_event_handlers():
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text):
            attributes = match.group(1)
            if "src=" not in attributes and "application/json" not in attributes:
                problems.append(f"{path.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            problems.append(f"{path.name}: inline event handler")
        if "javascript:" in text:
            problems.append(f"{path.name}: javascript: URL")
    assert not problems, problems

"""Issue 15, item 7: no 500 on bad input.

Every route of ``app.url_map`` gets NUL bytes, numbers past any integer type, impossible dates
and invalid UTF-8 in each path parameter, in every query parameter the code reads and in every
form field the forms declare, as a coordinator (group routes) and a network admin (apex); any
5xx fails. Truncated images go to every upload field.
"""

import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from timebank.extensions import db
from timebank.models import Membership, Transfer, User
from timebank.tenants import all_groups

SOURCE = Path(__file__).resolve().parent.parent / "timebank"
# Raw (already percent-encoded) values, so invalid UTF-8 can be sent as it is.
HOSTILE = {
    "nul": "a%00b",
    "huge": "99999999999999999999999",
    "negative": "-99999999999999999999999",
    "past": "0001-01-01",
    "future": "9999-12-31",
    "impossible": "2024-02-30",
    "utf8": "%FF%FEab",
}
SKIPPED_ENDPOINTS = {"static", "bootstrap.static", "auth.logout", "auth.logout_everywhere"}


def _names(pattern: str) -> set[str]:
    names = set()
    for path in SOURCE.rglob("*.py"):
        names.update(re.findall(pattern, path.read_text(), flags=re.MULTILINE))
    return names


# "before" and "after" are read in a loop (navigation.page_keys: every list paged by key, the
# network report's page of groups among them), so the patterns do not find them.
QUERY_NAMES = _names(r"request\.args\.get(?:list)?\(\s*[\"'](\w+)[\"']") | _names(
    r"request\.args\[\s*[\"'](\w+)[\"']\]") | {"page", "q", "start", "end", "next"} | {
    "before", "after"}
FORM_NAMES = _names(r"^\s+(\w+)\s*=\s*\w*Field\(") | _names(r"request\.form\.get\(\s*[\"'](\w+)")
FILE_NAMES = {"photo", "logo", "file", "image"}


def _path(rule, raw_value: str) -> str | None:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind == "IntegerConverter" or "Integer" in kind:
            if not raw_value.lstrip("-").isdigit():
                return None
            values[name] = raw_value.lstrip("-")
        else:
            values[name] = raw_value
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + name + ">", value, path)
    return path


def _query(raw_value: str) -> str:
    return "&".join(f"{name}={raw_value}" for name in sorted(QUERY_NAMES))


def _sweep(app, client, host_is_group: bool) -> list[str]:
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS or rule.rule.startswith("/api/"):
            continue
        for label, raw in HOSTILE.items():
            path = _path(rule, raw) if rule.arguments else rule.rule
            if path is None:
                continue
            url = f"{path}?{_query(raw)}"
            for method in sorted(rule.methods & {"GET", "POST"}):
                if method == "GET":
                    response = client.get(url)
                else:
                    body = "&".join(f"{name}={raw}" for name in sorted(FORM_NAMES))
                    response = client.post(
                        url, data=body.encode("latin-1"),
                        content_type="application/x-www-form-urlencoded")
                if response.status_code >= 500:
                    failures.append(f"{method} {url[:80]} ({label}) -> {response.status_code}")
    return failures


def _truncated_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG")
    return buffer.getvalue()[:120]


@pytest.fixture
def greenvale_coordinator(app, client_for, make_group, make_member, login):
    group = make_group("greenvale", join_policy="open")
    make_member(group, name="Ann")
    coordinator = make_member(group, name="Cora", role="coordinator")
    return login(client_for("greenvale"), coordinator.user.email)


def test_no_route_answers_5xx_to_hostile_values_in_a_group(app, greenvale_coordinator):
    failures = _sweep(app, greenvale_coordinator, host_is_group=True)
    assert not failures, "\n".join(failures)


def test_no_route_answers_5xx_to_hostile_values_on_the_apex(app, client_for, make_network_admin,
                                                            login):
    admin = make_network_admin()
    client = login(client_for(None), admin.email)
    failures = _sweep(app, client, host_is_group=False)
    assert not failures, "\n".join(failures)


def test_truncated_images_are_a_form_error(app, greenvale_coordinator):
    failures = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.arguments or rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        data = {name: "x" for name in FORM_NAMES - FILE_NAMES}
        for name in FILE_NAMES:
            data[name] = (io.BytesIO(_truncated_png()), "photo.png", "image/png")
        response = greenvale_coordinator.post(rule.rule, data=data,
                                              content_type="multipart/form-data")
        if response.status_code >= 500:
            failures.append(f"POST {rule.rule} -> {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("url", [
    "/?q=a%00b", "/marketplace/?page=999999999999999999999",
    "/marketplace/ads/99999999999999999999",
    "/statement.csv?start=0001-01-01&end=9999-12-31", "/audit?object_type=%00",
    "/statement?page=%FF",
    # Standing orders and scheduled charges (issue 20).
    "/standing-orders/99999999999999999999", "/standing-orders/new?currency=%00&to=%FF",
    "/currencies/%00/charges", "/currencies/HOUR/charges?x=%FF",
])
def test_known_cases_are_400_or_404(greenvale_coordinator, url):
    assert greenvale_coordinator.get(url).status_code in {200, 302, 400, 404}


def test_nul_in_a_form_field_is_400(greenvale_coordinator):
    response = greenvale_coordinator.post("/profile", data={"name": "a\x00b", "bio": ""})
    assert response.status_code == 400
    assert quote("\x00") not in response.get_data(as_text=True)


def _pay_form(client, payee_id: int, description: str) -> dict:
    page = client.get("/pay").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return {"csrf_token": token[1] if token else "", "payee": payee_id, "amount": "0:10",
            "description": description}


def test_nul_is_refused_before_the_csrf_check_parses_the_form(app, greenvale_coordinator,
                                                               monkeypatch):
    """With CSRF on, as in production: Flask-WTF's check parses the form before the views, and
    the NUL guard must still read the raw body first (it went on to the ledger: a 500)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    ann = _member_named(app, "Ann")
    response = greenvale_coordinator.post(
        "/pay", data=_pay_form(greenvale_coordinator, ann, "a\x00b"))
    assert response.status_code == 400
    response = greenvale_coordinator.post("/pay", data=_pay_form(greenvale_coordinator, ann, "ok"))
    assert response.status_code == 302  # the same form without the NUL is a payment


def test_a_data_error_from_the_driver_is_400_and_writes_nothing(app, greenvale_coordinator,
                                                                 monkeypatch):
    """The ledger's functions run on psycopg's cursor, so the database's refusal arrives as
    psycopg's DataError, not SQLAlchemy's: still 400, nothing written."""
    monkeypatch.setattr("timebank.security.bad_input.is_readable_request", lambda: True)
    ann = _member_named(app, "Ann")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
    response = greenvale_coordinator.post(
        "/pay", data=_pay_form(greenvale_coordinator, ann, "a\x00b"))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == before


def _member_named(app, name: str) -> int:
    with app.app_context(), all_groups():
        return db.session.scalar(sa.select(Membership.id).join(User).where(User.name == name))


def test_hostile_bodies_to_a_publishing_groups_inbox_are_4xx(app, client_for, make_group):
    """The ActivityPub inbox (issue 19) reads raw JSON from anyone: every hostile body and
    signature is a 4xx, never a 500 and never a follower."""
    from tests.group_admin_support import in_request
    from timebank.extensions import db
    from timebank.federation.service import follower_count, set_publishing

    group = make_group("fedibad")
    with in_request(app, group):
        set_publishing(True)
        db.session.commit()
    client = client_for(group.slug)
    actor = '"actor": "https://elsewhere.example/users/x"'
    bodies = [
        b"", b"\x00", b"\xff\xfe{}", b"null", b"42", b'"text"', b"[" * 5000 + b"]" * 5000,
        b'{"type": "Follow"}', b'{"type": "Follow", "actor": 5}',
        b'{"type": "Follow", "actor": "a\\u0000b"}', b'{"type": "Follow", "actor": "http://[::1"}',
        b'{"type": "Follow", "actor": "http://h:99999/x"}',
        b'{"type": 7, ' + actor.encode() + b"}",
        b'{"type": "Follow", ' + actor.encode() + b', "object": {"\\ud800": 1}}',
        b'{"type": "Follow", "actor": "' + b"x" * 5000 + b'"}',
        b" " * (65 * 1024),
    ]
    signatures = [None, "", "garbage", 'keyId="http://[::1",signature="AA=="',
                  'keyId="file:///etc/passwd",signature="AA=="',
                  'keyId="http://h:99999/k",signature="AA=="', "a" * 5000]
    failures = []
    for body in bodies:
        for signature in signatures:
            headers = {"Content-Type": "application/activity+json",
                       "Date": "not a date", "Digest": "SHA-256=AA=="}
            if signature is not None:
                headers["Signature"] = signature
            response = client.post("/ap/inbox", data=body, headers=headers)
            if not 400 <= response.status_code < 500:
                failures.append(f"{body[:40]!r} / {signature!r:.40}: {response.status_code}")
    assert not failures, "\n".join(failures)
    with in_request(app, group):
        assert follower_count() == 0

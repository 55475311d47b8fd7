"""Issue 15, item 2: sessions that end."""

import os

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from timebank.extensions import db
from timebank.models import LoginSession

NEW_PASSWORD = "a much better passphrase"
HOST = "greenvale.localhost:5000"


def _cookies(client) -> dict:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def _copy_cookies(source, target, app) -> None:
    for name, value in _cookies(source).items():
        target.set_cookie(name, value, domain=source.base_url.split("//")[1])


def _is_logged_in(client) -> bool:
    return client.get("/profile").status_code == 200


def _setup(make_group, make_member):
    group = make_group("greenvale")
    return make_member(group, name="Ann")


def _log_in(client, email, *, remember=False, password=PASSWORD):
    response = client.post("/login", data={"email": email, "password": password,
                                           "remember": "y" if remember else ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def test_session_cookie_copied_before_logout_is_refused_after(app, client_for, make_group,
                                                              make_member):
    ann = _setup(make_group, make_member)
    browser, thief = client_for("greenvale"), client_for("greenvale")
    _log_in(browser, ann.user.email)
    _copy_cookies(browser, thief, app)
    assert _is_logged_in(thief)
    browser.post("/logout")
    assert not _is_logged_in(browser)
    assert not _is_logged_in(thief)


def test_remember_cookie_copied_before_logout_is_refused_after(app, client_for, make_group,
                                                               make_member):
    ann = _setup(make_group, make_member)
    browser = client_for("greenvale")
    _log_in(browser, ann.user.email, remember=True)
    remember = _cookies(browser)[app.config["REMEMBER_COOKIE_NAME"]]
    later = client_for("greenvale")  # the browser restarted: only the remember cookie is left
    later.set_cookie(app.config["REMEMBER_COOKIE_NAME"], remember, domain=HOST)
    assert _is_logged_in(later)
    browser.post("/logout")
    again = client_for("greenvale")
    again.set_cookie(app.config["REMEMBER_COOKIE_NAME"], remember, domain=HOST)
    assert not _is_logged_in(again)


def test_password_change_ends_every_other_session_and_remember_cookie(app, client_for,
                                                                      make_group, make_member):
    ann = _setup(make_group, make_member)
    laptop, phone = client_for("greenvale"), client_for("greenvale")
    _log_in(laptop, ann.user.email)
    _log_in(phone, ann.user.email, remember=True)
    remember = _cookies(phone)[app.config["REMEMBER_COOKIE_NAME"]]
    response = laptop.post("/password/change", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _is_logged_in(laptop)  # the session that changed it goes on
    assert not _is_logged_in(phone)
    replay = client_for("greenvale")
    replay.set_cookie(app.config["REMEMBER_COOKIE_NAME"], remember,
                      domain=HOST)
    assert not _is_logged_in(replay)


def test_password_reset_ends_every_session(app, client_for, make_group, make_member):
    from timebank.people import service as people
    from timebank.tenants import group_context

    ann = _setup(make_group, make_member)
    phone = client_for("greenvale")
    _log_in(phone, ann.user.email, remember=True)
    with app.app_context(), group_context(ann.group_id):
        token = people.password_reset_token(db.session.get(type(ann.user), ann.user.id))
    response = client_for("greenvale").post(f"/password/reset/{token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert not _is_logged_in(phone)


def test_log_out_everywhere(app, client_for, make_group, make_member):
    ann = _setup(make_group, make_member)
    laptop, phone = client_for("greenvale"), client_for("greenvale")
    _log_in(laptop, ann.user.email)
    _log_in(phone, ann.user.email, remember=True)
    assert "Log out everywhere" in laptop.get("/profile").get_data(as_text=True)
    assert laptop.post("/logout/everywhere").status_code == 302
    assert not _is_logged_in(laptop) and not _is_logged_in(phone)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
            LoginSession.user_id == ann.user_id)) == 0


def test_session_is_renewed_at_login(app, client_for, make_group, make_member):
    ann = _setup(make_group, make_member)
    browser = client_for("greenvale")
    with browser.session_transaction(base_url=browser.base_url) as session:
        session["planted"] = "by an attacker"
    _log_in(browser, ann.user.email)
    with browser.session_transaction(base_url=browser.base_url) as session:
        assert "planted" not in session
        assert "#" in session["_user_id"]  # names a login row, not just the user


def test_remember_cookie_attributes(app, client_for, make_group, make_member):
    ann = _setup(make_group, make_member)
    response = _log_in(client_for("greenvale"), ann.user.email, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith(app.config["REMEMBER_COOKIE_NAME"]))
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    assert "Domain" not in remember
    from datetime import UTC, datetime, timedelta
    from email.utils import parsedate_to_datetime

    expires = parsedate_to_datetime(remember.split("Expires=")[1].split(";")[0])
    assert expires <= datetime.now(UTC) + timedelta(days=30, minutes=1)


def test_cookies_under_https_are_secure_and_host_prefixed():
    from timebank.security.sessions import configure_cookies

    class App:
        config = {"PREFERRED_URL_SCHEME": "https", "SESSION_COOKIE_SECURE": False}

    configure_cookies(App)
    assert App.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert App.config["REMEMBER_COOKIE_NAME"] == "__Host-remember_token"
    assert App.config["SESSION_COOKIE_SECURE"] and App.config["REMEMBER_COOKIE_SECURE"]


def test_expired_logins_end_and_are_swept_at_the_next_login(app, client_for, make_group,
                                                            make_member):
    ann = _setup(make_group, make_member)
    browser = client_for("greenvale")
    _log_in(browser, ann.user.email)
    with app.app_context():
        db.session.execute(sa.update(LoginSession).values(
            expires_at=sa.func.now() - sa.text("interval '1 second'")))
        db.session.commit()
    assert not _is_logged_in(browser)
    _log_in(client_for("greenvale"), ann.user.email)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
            LoginSession.user_id == ann.user_id)) == 1


# The process keeps a login it has served (timebank.tenants.cache, issue 14): it must still end
# at once, whatever ends it and in whichever process. Only with Redis does a process keep one.
_KEEPS_LOGINS = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")

def _logged_in_twice(app, client_for, make_group, make_member, count_queries):
    """Ann's browser, logged in, her login kept by this process (the second request reads no
    login row)."""
    ann = _setup(make_group, make_member)
    browser = client_for("greenvale")
    _log_in(browser, ann.user.email)
    assert _is_logged_in(browser)
    with count_queries() as counter:
        assert _is_logged_in(browser)
    assert not any("login_sessions" in s for s in counter.statements), counter.statements
    return ann, browser


@_KEEPS_LOGINS
def test_a_kept_login_ends_when_another_process_logs_it_out(app, client_for, make_group,
                                                           make_member, count_queries):
    from timebank.extensions import redis_client
    from timebank.tenants.cache import VERSION_KEY

    ann, browser = _logged_in_twice(app, client_for, make_group, make_member, count_queries)
    with app.app_context():  # another process's logout: no hook of this one sees it
        db.session.execute(sa.text("DELETE FROM login_sessions WHERE user_id = :id"),
                           {"id": ann.user_id})
        db.session.commit()
    assert _is_logged_in(browser)  # kept: this process did not see the delete
    redis_client(app).incr(VERSION_KEY)  # what the other process's commit does
    assert not _is_logged_in(browser)


@_KEEPS_LOGINS
def test_a_kept_login_still_expires(app, client_for, make_group, make_member, count_queries,
                                    monkeypatch):
    from datetime import timedelta

    from timebank.security import sessions

    ann, browser = _logged_in_twice(app, client_for, make_group, make_member, count_queries)
    later = sessions.utcnow() + timedelta(hours=sessions.SESSION_HOURS, minutes=1)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    assert not _is_logged_in(browser)


def test_without_redis_no_login_is_kept(app, client_for, make_group, make_member,
                                        count_queries, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    ann = _setup(make_group, make_member)
    browser = client_for("greenvale")
    _log_in(browser, ann.user.email)
    for _ in range(2):
        with count_queries() as counter:
            assert _is_logged_in(browser)
        assert any("login_sessions" in s for s in counter.statements)


@_KEEPS_LOGINS
def test_suspending_a_kept_member_takes_effect_on_their_next_request(
        app, client_for, make_group, make_member, count_queries):
    from timebank.models import Membership, MembershipStatus
    from timebank.tenants import group_context

    ann, browser = _logged_in_twice(app, client_for, make_group, make_member, count_queries)
    assert browser.get("/dashboard").status_code == 200
    with app.app_context(), group_context(ann.group_id):
        db.session.get(Membership, ann.id).status = MembershipStatus.SUSPENDED
        db.session.commit()
    response = browser.get("/dashboard")
    assert response.status_code == 302, response.status_code  # a suspended member is sent away

"""Issue 15, item 3: abuse limits that don't hurt members."""

import re

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from timebank.extensions import db, limiter
from timebank.models import LoginFailures
from timebank.security import throttle
from timebank.security.passwords import password_problem


@pytest.fixture
def limited(app):
    """``limited(slug)``: a client of a second app with Flask-Limiter on (the suite runs with
    it off), in-memory counters, the same database session."""
    from tests.conftest import HostClient, host_for
    from timebank import create_app

    settings = {key: value for key, value in app.config.items() if key.isupper()}
    limited_app = create_app({**settings, "RATELIMIT_ENABLED": True,
                              "RATELIMIT_STORAGE_URI": "memory://"})
    limiter.reset()

    def client(slug=None):
        made = HostClient(limited_app, limited_app.response_class, use_cookies=True)
        made.base_url = f"http://{host_for(slug)}"
        return made

    yield client
    limiter.reset()
    limiter.enabled = False  # the extension object is shared with the suite's app


def _post_login(client, email, password, ip):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_eleven_members_on_one_wifi_all_get_in(app, limited, make_group, make_member):
    group = make_group("greenvale")
    members = [make_member(group) for _ in range(11)]
    for member in members:
        response = _post_login(limited("greenvale"), member.user.email, PASSWORD, "10.0.0.1")
        assert response.status_code == 302, member.user.email


def test_failed_logins_from_one_ip_are_limited(app, limited, make_group, make_member):
    group = make_group("greenvale")
    members = [make_member(group) for _ in range(11)]
    client = limited("greenvale")
    codes = [_post_login(client, m.user.email, "wrong guess", "10.0.0.2").status_code
             for m in members]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    # Another address is not affected.
    assert _post_login(client, members[0].user.email, PASSWORD, "10.0.0.3").status_code == 302


def test_wrong_passwords_from_many_ips_lock_the_account(app, client_for, make_group, make_member,
                                                        outbox):
    app.config["LOGIN_FAILURE_DELAY_SCALE"] = 0  # the growing delay has its own test
    try:
        group = make_group("greenvale")
        ann = make_member(group, name="Ann")
        client = client_for("greenvale")
        for attempt in range(throttle.LOCK_AFTER):
            response = _post_login(client, ann.user.email, "wrong guess", f"10.1.0.{attempt}")
            assert response.status_code == 200
        page = _post_login(client, ann.user.email, PASSWORD, "10.2.0.1")
        assert page.status_code == 200 and "locked" in page.get_data(as_text=True)
        mail = [m for m in outbox if m.recipients == [ann.user.email]][-1]
        link = re.search(r"http://\S+/login/unlock/\S+", mail.body).group(0)
        client.get(link.replace("http://greenvale.localhost:5000", ""))
        assert _post_login(client, ann.user.email, PASSWORD, "10.2.0.1").status_code == 302
        with app.app_context():
            assert db.session.get(LoginFailures, ann.user_id) is None
    finally:
        app.config.pop("LOGIN_FAILURE_DELAY_SCALE")


def test_delay_grows_after_a_few_failures(app, client_for, make_group, make_member):
    group = make_group("greenvale")
    ann = make_member(group, name="Ann")
    client = client_for("greenvale")
    for attempt in range(throttle.FREE_FAILURES):
        _post_login(client, ann.user.email, "wrong guess", f"10.3.0.{attempt}")
    # The next try, even with the right password, comes too soon.
    page = _post_login(client, ann.user.email, PASSWORD, "10.3.1.1")
    assert page.status_code == 200 and "try again in" in page.get_data(as_text=True)
    with app.app_context():
        assert [throttle.failure_delay(n) for n in (4, 5, 6, 7)] == [0, 1, 2, 4]
    with app.app_context():
        assert db.session.scalar(sa.select(LoginFailures.count).where(
            LoginFailures.user_id == ann.user_id)) == throttle.FREE_FAILURES


def test_signup_is_rate_limited_per_ip(app, limited, make_group):
    make_group("greenvale", join_policy="open")
    client = limited("greenvale")
    codes = [client.post("/signup", data={"name": "", "email": f"x{n}@example.org"},
                         environ_base={"REMOTE_ADDR": "10.4.0.1"}).status_code for n in range(6)]
    assert codes[-1] == 429 and 429 not in codes[:5]


@pytest.mark.parametrize("password", ["12345678", "password1", "qwertyuiop", "iloveyou2",
                                      "short", "x" * 129])
def test_common_short_or_huge_passwords_are_refused(app, password):
    with app.test_request_context():
        assert password_problem(password) is not None


def test_a_passphrase_is_fine_and_the_email_is_not_a_password(app):
    with app.test_request_context():
        assert password_problem("correct horse battery") is None
        assert password_problem("annbaker@example.org",
                                known_words=["annbaker@example.org"]) is not None


def test_signup_form_refuses_a_common_password(client_for, make_group):
    make_group("greenvale", join_policy="open")
    page = client_for("greenvale").post("/signup", data={
        "name": "Zoe", "email": "zoe@example.org", "password": "12345678",
        "confirm": "12345678"}).get_data(as_text=True)
    assert "too common" in page


def test_signup_confirms_the_email_before_any_account_or_membership(app, client_for, make_group,
                                                                     outbox):
    from tests.conftest import row_counts
    from tests.security_support import sign_up

    make_group("greenvale", join_policy="open")
    before = row_counts(app)
    client = client_for("greenvale")
    response = client.post("/signup", data={"name": "Zoe", "email": "zoe@example.org",
                                            "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302 and row_counts(app) == before  # nothing yet
    assert "/signup/confirm/" in outbox[-1].body
    assert sign_up(client_for("greenvale"), {"name": "Zoe", "email": "zoe@example.org",
                                             "password": PASSWORD,
                                             "confirm": PASSWORD}).status_code == 302
    assert row_counts(app)["memberships"] == before["memberships"] + 1


def test_signup_with_a_known_address_answers_the_same_and_emails_its_owner(
        app, client_for, make_group, make_member, outbox):
    group = make_group("greenvale", join_policy="open")
    ann = make_member(group, name="Ann")
    fresh = client_for("greenvale").post("/signup", data={
        "name": "Someone", "email": "new@example.org", "password": PASSWORD,
        "confirm": PASSWORD})
    known = client_for("greenvale").post("/signup", data={
        "name": "Someone", "email": ann.user.email, "password": PASSWORD, "confirm": PASSWORD})
    assert (fresh.status_code, fresh.headers["Location"]) == (
        known.status_code, known.headers["Location"])
    assert outbox[-1].recipients == [ann.user.email]
    assert "already has an account" in outbox[-1].body


def test_a_confirmation_link_for_another_group_is_refused(app, client_for, make_group, outbox):
    make_group("greenvale", join_policy="open")
    make_group("barrio", join_policy="open")
    client_for("greenvale").post("/signup", data={
        "name": "Zoe", "email": "zoe@example.org", "password": PASSWORD, "confirm": PASSWORD})
    path = re.search(r"/signup/confirm/\S+", outbox[-1].body).group(0)
    client_for("barrio").get(path)
    with app.app_context():
        from timebank.models import User

        assert db.session.scalar(sa.select(User).where(User.email == "zoe@example.org")) is None

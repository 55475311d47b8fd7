"""Issue 15, item 4: two-factor sign-in (TOTP and recovery codes), required for staff."""

import re
import time

import pyotp
import pytest

from tests.conftest import PASSWORD
from timebank.extensions import db
from timebank.models import TwoFactor
from timebank.models.console import NetworkSettings


def _login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def _turn_on(client) -> tuple[str, list[str]]:
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([A-Z2-7]+)<', page).group(1)
    assert 'src="data:image/svg+xml;base64,' in page  # the QR code
    page = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    html = page.get_data(as_text=True)
    assert "Two-factor sign-in is on" in html
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", html)
    assert len(codes) == 10
    return secret, codes


@pytest.fixture
def ann(make_group, make_member):
    return make_member(make_group("greenvale"), name="Ann")


def test_login_asks_for_the_code_and_a_code_works_once(app, client_for, ann):
    client = client_for("greenvale")
    assert _login(client, ann.user.email).status_code == 302
    secret, _ = _turn_on(client)
    client.post("/logout")

    browser = client_for("greenvale")
    response = _login(browser, ann.user.email)
    assert response.headers["Location"].endswith("/login/two-factor")
    assert browser.get("/profile").status_code == 302  # not logged in before the code
    wrong = browser.post("/login/two-factor", data={"code": "000000"})
    assert "not right" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).at(time.time() + 30)  # setup used the current step's code
    assert browser.post("/login/two-factor", data={"code": code}).status_code == 302
    assert browser.get("/profile").status_code == 200
    # The same code again (a replay) is refused.
    again = client_for("greenvale")
    _login(again, ann.user.email)
    assert "not right" in again.post("/login/two-factor", data={"code": code}).get_data(
        as_text=True)


def test_a_recovery_code_works_once(app, client_for, ann):
    client = client_for("greenvale")
    _login(client, ann.user.email)
    _, codes = _turn_on(client)
    for expected in (302, 200):
        browser = client_for("greenvale")
        _login(browser, ann.user.email)
        response = browser.post("/login/two-factor", data={"code": codes[0]})
        assert response.status_code == expected


def test_the_code_step_expires_with_its_host(app, client_for, ann):
    client = client_for("greenvale")
    _login(client, ann.user.email)
    _turn_on(client)
    browser = client_for("greenvale")
    _login(browser, ann.user.email)
    with browser.session_transaction(base_url=browser.base_url) as session:
        session["pending_login"] = {**session["pending_login"], "at": 0}
    assert browser.get("/login/two-factor").headers["Location"].endswith("/login")


def test_the_network_can_require_it_for_staff(app, client_for, make_group, make_member,
                                              make_network_admin, login):
    group = make_group("greenvale")
    treasurer = make_member(group, name="Tess", role="treasurer")
    member = make_member(group, name="Mo")
    admin = make_network_admin()
    console = login(client_for(None), admin.email)
    response = console.post("/network/settings/two-factor", data={"staff_need_two_factor": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(NetworkSettings, 1).staff_need_two_factor

    staff = client_for("greenvale")
    assert _login(staff, treasurer.user.email).headers["Location"].endswith("/account/two-factor")
    assert staff.get("/statement").headers["Location"].endswith("/account/two-factor")
    _turn_on(staff)
    assert staff.get("/statement").status_code == 200
    # A member without a staff role is not asked.
    plain = client_for("greenvale")
    assert not _login(plain, member.user.email).headers["Location"].endswith("/two-factor")


def test_turning_it_off_needs_password_and_code(app, client_for, ann):
    client = client_for("greenvale")
    _login(client, ann.user.email)
    secret, _ = _turn_on(client)
    client.post("/account/two-factor/off", data={"off-password": "wrong guess",
                                                 "off-code": pyotp.TOTP(secret).now()})
    with app.app_context():
        assert db.session.get(TwoFactor, ann.user_id) is not None
    client.post("/account/two-factor/off", data={"off-password": PASSWORD,
                                                 "off-code": "aaaaaa-bbbbbb"})
    with app.app_context():
        assert db.session.get(TwoFactor, ann.user_id) is not None

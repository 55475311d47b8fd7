"""The coordinator's group settings page and dashboard (issue 6)."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.marketplace_support import image_bytes, make_ad
from timebank.extensions import db
from timebank.models import Currency, Group, JoinPolicy, MarketplaceSettings
from timebank.tenants import group_context

SETTINGS = {
    "name": "Quince Circle", "description": "Neighbours helping neighbours.",
    "timezone": "America/Bogota", "join_policy": "invitation",
    "payments_need_confirmation": "y", "members_see_all_transfers": "all",
    "balances_public": "y", "default_min_balance": "10", "default_max_balance": "50",
    "ad_lifetime_days": "45", "rating_scale": "10", "volunteer_thanks": "0:30",
}


def _body(response) -> str:
    return response.get_data(as_text=True)


def _group(app, group) -> Group:
    with app.app_context():
        row = db.session.get(Group, group.id)
        db.session.expunge(row)
        return row


def test_a_coordinator_changes_every_setting(app, make_group, client_for, login):
    group = make_group("quince2")
    client = login(client_for("quince2"), coordinator_of(app, group).user.email)
    page = _body(client.get("/settings"))
    assert 'value="Quince2 Timebank"' in page and "Europe/Madrid" in page
    response = client.post("/settings", data=SETTINGS, follow_redirects=True)
    assert "The group&#39;s settings are saved." in _body(response)
    saved = _group(app, group)
    assert (saved.name, saved.description, saved.timezone) == (
        "Quince Circle", "Neighbours helping neighbours.", "America/Bogota")
    assert saved.join_policy == JoinPolicy.INVITATION
    assert saved.payments_need_confirmation and saved.members_see_all_transfers
    assert saved.balances_public and saved.rating_scale == 10
    assert saved.volunteer_thanks_minutes == 30
    with app.app_context(), group_context(group.id):
        currency = db.session.scalar(sa.select(Currency))
        assert (currency.default_min_balance, currency.default_max_balance) == (-600, 3000)
        assert db.session.scalar(sa.select(MarketplaceSettings.ad_lifetime_days)) == 45
    # The form shows what is saved.
    page = _body(client.get("/settings"))
    assert 'value="Quince Circle"' in page and 'value="10:00"' in page


@pytest.mark.parametrize("field,value,message", [
    ("name", "", "This field is required."),
    ("timezone", "Mars/Olympus", "Not a valid choice"),
    ("rating_scale", "11", "Number must be between 2 and 10."),
    ("ad_lifetime_days", "0", "Number must be between 1 and 730."),
    ("default_min_balance", "lots", "Enter a number of hours"),
    ("default_max_balance", "-5", "Enter a number of hours"),
    ("join_policy", "anyone", "Not a valid choice"),
])
def test_bad_settings_are_refused_next_to_the_field(app, make_group, client_for, login, field,
                                                    value, message):
    group = make_group("redbud")
    client = login(client_for("redbud"), coordinator_of(app, group).user.email)
    data = SETTINGS | {field: value}
    response = client.post("/settings", data=data)
    assert response.status_code == 200 and message in _body(response)
    assert _group(app, group).name == "Redbud Timebank"


def test_logo_upload_is_checked_and_served(app, make_group, client_for, login):
    group = make_group("sassafras")
    client = login(client_for("sassafras"), coordinator_of(app, group).user.email)
    assert client_for("sassafras").get("/logo").status_code == 404
    data = SETTINGS | {"logo": (io.BytesIO(image_bytes("JPEG", size=(1600, 800))), "logo.jpg")}
    response = client.post("/settings", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, _body(response)[:1000]
    logo = client_for("sassafras").get("/logo")  # public, like the group's name
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    from PIL import Image

    image = Image.open(io.BytesIO(logo.data))
    assert image.format == "PNG" and max(image.size) == 512
    # Not an image: refused next to the field, the old logo kept.
    data = SETTINGS | {"logo": (io.BytesIO(b"<?php echo 1; ?>"), "logo.png")}
    response = client.post("/settings", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and "must be a PNG, JPEG" in _body(response)
    assert client_for("sassafras").get("/logo").data == logo.data
    # Removing it.
    client.post("/settings", data=SETTINGS | {"remove_logo": "y"})
    assert client_for("sassafras").get("/logo").status_code == 404


def test_another_groups_logo_is_not_served_here(app, make_group, client_for, login):
    make_group("sumac")
    away = make_group("sycamore")
    client = login(client_for("sycamore"), coordinator_of(app, away).user.email)
    client.post("/settings", content_type="multipart/form-data",
                data=SETTINGS | {"logo": (io.BytesIO(image_bytes()), "x.png")})
    assert client_for("sycamore").get("/logo").status_code == 200
    assert client_for("sumac").get("/logo").status_code == 404


def test_public_balances_setting_shows_balances_to_members(app, make_group, make_member,
                                                          make_transfer, client_for, login):
    group = make_group("tamarack")
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    make_transfer(ann, bob, 90)
    client = login(client_for("tamarack"), ann.user.email)
    assert "1:30" not in _body(client.get(f"/members/{bob.id}"))
    with app.app_context():
        db.session.get(Group, group.id).balances_public = True
        db.session.commit()
    assert "1:30" in _body(client.get(f"/members/{bob.id}"))


# --- dashboard ---------------------------------------------------------------------------


def test_the_coordinator_dashboard(app, make_group, make_member, make_transfer, client_for,
                                   login):
    group = make_group("tupelo")
    coordinator = coordinator_of(app, group)
    make_member(group, name="Paula Pending", status="pending")
    ann = make_member(group, name="Ann Active")
    bob = make_member(group, name="Bob Broke", min_balance=-600)
    quiet = make_member(group, name="Quentin Quiet")
    make_ad(app, ann, "Gardening")
    make_transfer(bob, ann, 540)  # Bob is at -9 of -10 hours: near his limit
    with app.app_context(), group_context(group.id):
        # Quentin joined long ago and never traded; one transfer is from last month.
        db.session.execute(sa.text(
            "UPDATE memberships SET approved_at = now() - interval '200 days' WHERE id = :id"),
            {"id": quiet.id})
        from timebank.ledger import service as ledger
        from timebank.models import Membership
        from timebank.people.overview import month_bounds

        last, _this, _next = month_bounds(timezone="UTC")
        with app.test_request_context():
            payer, payee = db.session.get(Membership, ann.id), db.session.get(Membership, bob.id)
            ledger.pay(payer=payer, payee=payee, currency=ledger.default_currency(), amount=60,
                       description="Old", starter=payer, occurred_at=last + timedelta(days=2))
        db.session.commit()
    with app.app_context(), group_context(group.id):
        # Pending: a payment waiting for its payee.
        payer, payee = db.session.get(Membership, ann.id), db.session.get(Membership, quiet.id)
        with app.test_request_context():
            ledger.pay(payer=payer, payee=payee, currency=ledger.default_currency(), amount=15,
                       description="Tea", starter=payer, require_confirmation=True)
        db.session.commit()

    page = _body(login(client_for("tupelo"), coordinator.user.email).get("/coordinator"))
    requests = page.split('id="pending-requests"', 1)[1].split("</ul>", 1)[0]
    assert "Paula Pending" in requests
    transfers = page.split('id="pending-transfers"', 1)[1].split("</ul>", 1)[0]
    assert "Ann Active" in transfers and "Quentin Quiet" in transfers
    without_ads = page.split('id="without-ads"', 1)[1].split("</ul>", 1)[0]
    assert "Bob Broke" in without_ads and "Ann Active" not in without_ads
    inactive = page.split('id="inactive"', 1)[1].split("</ul>", 1)[0]
    assert "Quentin Quiet" in inactive and "Bob Broke" not in inactive
    near = page.split('id="near-limits"', 1)[1].split("</ul>", 1)[0]
    assert "Bob Broke" in near and "Ann Active" not in near
    assert "9:00" in page.split('id="exchanged-this-month"', 1)[1].split("</dd>", 1)[0]
    assert "1:00" in page.split('id="exchanged-last-month"', 1)[1].split("</dd>", 1)[0]


def test_dashboard_and_settings_are_for_coordinators(app, make_group, make_member, client_for,
                                                     login):
    group = make_group("walnut")
    treasurer = make_member(group, role="treasurer")
    client = login(client_for("walnut"), treasurer.user.email)
    assert client.get("/coordinator").status_code == 403
    assert client.get("/settings").status_code == 403
    assert client.post("/settings", data=SETTINGS).status_code == 403
    assert _group(app, group).name == "Walnut Timebank"
    assert client_for("walnut").get("/coordinator").status_code == 302

"""Provisioning on the apex: a network admin creates a group with its currency and coordinator."""

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, row_counts
from timebank.extensions import db
from timebank.models import Account, Currency, Group, Membership, Role, User
from timebank.tenants import all_groups, group_context


@pytest.fixture
def admin(make_network_admin, client_for, login):
    make_network_admin("admin@example.org")
    return login(client_for(None), "admin@example.org")


def group_form(**overrides) -> dict:
    return {
        "name": "Riverside Timebank", "slug": "riverside", "default_locale": "en",
        "join_policy": "approval", "coordinator_name": "Rita River",
        "coordinator_email": "rita@example.org", "coordinator_password": PASSWORD,
    } | overrides


def provisioned(app, slug: str) -> dict | None:
    """Return what provisioning made for ``slug``, as plain values (None if no group)."""
    with app.app_context():
        group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
        if group is None:
            return None
        with group_context(group.id):
            currencies = db.session.scalars(sa.select(Currency)).all()
            memberships = db.session.scalars(sa.select(Membership)).all()
            accounts = db.session.scalars(sa.select(Account)).all()
            return {
                "name": group.name, "locale": group.default_locale,
                "join_policy": group.join_policy.value,
                "currencies": [(c.code, c.name, c.subunits_per_unit, c.default_min_balance)
                               for c in currencies],
                "memberships": [(m.user.email, m.role, m.status.value) for m in memberships],
                "accounts": [(a.membership_id, a.currency_id, a.balance) for a in accounts],
                "membership_ids": [m.id for m in memberships],
                "currency_ids": [c.id for c in currencies],
            }


def test_network_admin_creates_a_group(app, admin, client_for, login):
    console = admin.get("/network/")
    assert console.status_code == 200
    assert admin.get("/network/groups/new").status_code == 200
    response = admin.post("/network/groups/new", data=group_form(join_policy="open"),
                          follow_redirects=True)
    assert response.status_code == 200
    assert "Group Riverside Timebank created." in response.get_data(as_text=True)
    assert "riverside" in response.get_data(as_text=True)  # listed in the console

    made = provisioned(app, "riverside")
    assert made["name"] == "Riverside Timebank" and made["join_policy"] == "open"
    assert made["currencies"] == [("HOUR", "Hours", 60, -1200)]
    assert made["memberships"] == [("rita@example.org", Role.COORDINATOR, "active")]
    assert made["accounts"] == [(made["membership_ids"][0], made["currency_ids"][0], 0)]

    # The coordinator can log in on the new subdomain and run the group.
    coordinator = login(client_for("riverside"), "rita@example.org")
    assert coordinator.get("/dashboard").status_code == 200
    assert coordinator.get("/members/pending").status_code == 200
    assert client_for("riverside").get("/").status_code == 200


def test_existing_user_becomes_coordinator_without_a_new_password(app, admin, make_group,
                                                                  make_member, login,
                                                                  client_for):
    member = make_member(make_group("elsewhere"), email="kim@example.org")
    form = group_form(coordinator_email="KIM@example.org", coordinator_password="")
    assert admin.post("/network/groups/new", data=form).status_code == 302
    made = provisioned(app, "riverside")
    assert made["memberships"] == [("kim@example.org", Role.COORDINATOR, "active")]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
            sa.func.lower(User.email) == "kim@example.org")) == 1
    login(client_for("riverside"), member.user.email)  # same password as before


def test_new_coordinator_needs_a_password(app, admin):
    before = row_counts(app)
    response = admin.post("/network/groups/new", data=group_form(coordinator_password=""))
    assert response.status_code == 200
    assert "choose a first password" in response.get_data(as_text=True)
    assert row_counts(app) == before


BAD_SLUGS = {
    "www": "reserved", "api": "reserved", "admin": "reserved", "static": "reserved",
    "-river": "Use 1 to 63", "river-": "Use 1 to 63", "river_side": "Use 1 to 63",
    "river.side": "Use 1 to 63", "river side": "Use 1 to 63", "rivér": "Use 1 to 63",
    "a" * 64: "Field cannot be longer than 63 characters.", "": "This field is required.",
    "taken": "already taken", "TAKEN": "already taken",
}


@pytest.mark.parametrize("slug", list(BAD_SLUGS))
def test_bad_slug_shows_a_form_error_and_creates_nothing(app, admin, make_group, slug):
    make_group("taken")
    before = row_counts(app)
    response = admin.post("/network/groups/new", data=group_form(slug=slug))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert BAD_SLUGS[slug] in body
    assert "is-invalid" in body
    assert row_counts(app) == before


@pytest.mark.parametrize("slug,stored", [("a" * 63, "a" * 63), ("r2-d2", "r2-d2"),
                                         ("7", "7"), ("River", "river")])
def test_valid_slugs_are_accepted(app, admin, slug, stored):
    assert admin.post("/network/groups/new", data=group_form(slug=slug)).status_code == 302
    assert provisioned(app, stored) is not None


def test_non_admin_gets_403_and_creates_nothing(app, make_group, make_member, client_for,
                                                login):
    member = make_member(make_group("oak"))
    client = login(client_for(None), member.user.email)
    before = row_counts(app)
    assert client.get("/network/").status_code == 403
    assert client.get("/network/groups/new").status_code == 403
    assert client.post("/network/groups/new", data=group_form()).status_code == 403
    assert row_counts(app) == before


def test_logged_out_visitor_goes_to_log_in(app, client_for):
    before = row_counts(app)
    for path in ("/network/", "/network/groups/new"):
        response = client_for(None).get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    assert client_for(None).post("/network/groups/new", data=group_form()).status_code == 302
    assert row_counts(app) == before


def test_provisioning_pages_do_not_exist_on_a_groups_site(make_group, make_network_admin,
                                                          make_member, client_for, login):
    group = make_group("pine")
    admin = make_network_admin("root@example.org")
    make_member(group, email=admin.email)
    client = login(client_for("pine"), admin.email)
    assert client.get("/network/groups/new").status_code == 404


def test_admin_login_on_apex_is_not_valid_on_a_group(app, admin, make_group, client_for):
    make_group("cedar")
    cookie = admin.get_cookie(app.config["SESSION_COOKIE_NAME"], domain="localhost")
    group_client = client_for("cedar")
    group_client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie.value,
                            domain="cedar.localhost")
    assert group_client.get("/profile").status_code == 302


def test_apex_lists_active_groups(app, make_group, client_for):
    make_group("maple")
    make_group("hidden")
    with app.app_context(), all_groups():
        db.session.execute(sa.update(Group).where(Group.slug == "hidden")
                           .values(status="suspended"))
        db.session.commit()
    body = client_for(None).get("/").get_data(as_text=True)
    assert "Maple Timebank" in body and "Hidden Timebank" not in body

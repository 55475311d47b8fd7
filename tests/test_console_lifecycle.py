"""Suspend, reactivate, archive and delete a group from the console, and what its site does."""

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of, row_counts
from tests.signup_support import audit_actions
from timebank.extensions import db
from timebank.models import Account, Group, GroupExport, Membership, Transfer, User
from timebank.tenants import all_groups


@pytest.fixture
def admin(make_network_admin, client_for, login):
    make_network_admin("admin@example.org")
    return login(client_for(None), "admin@example.org")


@pytest.fixture
def oak(make_group, make_member, make_transfer):
    group = make_group("oak")
    ann = make_member(group, name="Ann Oak", email="ann@oak.example.org")
    ben = make_member(group, name="Ben Oak")
    make_transfer(ann, ben, 45)
    return group


def status_of(app, slug: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Group.status).where(Group.slug == slug)).value


def test_suspended_group_is_readable_with_a_notice_and_refuses_writes(
        app, admin, oak, client_for, login):
    member = login(client_for("oak"), "ann@oak.example.org")
    response = admin.post("/network/groups/oak/suspend", data={"reason": "unpaid hosting"},
                          follow_redirects=True)
    assert "Group Oak Timebank is suspended." in response.get_data(as_text=True)
    assert status_of(app, "oak") == "suspended"
    page = member.get("/dashboard")
    assert page.status_code == 200 and 'id="suspended-notice"' in page.get_data(as_text=True)
    home = client_for("oak").get("/").get_data(as_text=True)
    assert 'id="suspended-banner"' in home
    before = row_counts(app)
    refused = member.post("/pay", data={"payee": "1", "amount": "1:00", "description": "x"})
    assert refused.status_code == 423
    assert "nothing can be changed" in refused.get_data(as_text=True)
    problem = member.post("/pay", headers={"Accept": "application/json"})
    assert problem.status_code == 423
    assert problem.headers["Content-Type"] == "application/problem+json"
    assert row_counts(app) == before
    # Logging in and out still works: they write nothing of the group's.
    other = client_for("oak")
    assert login(other, "ann@oak.example.org").get("/statement").status_code == 200
    assert other.post("/logout").status_code == 302

    admin.post("/network/groups/oak/reactivate", data={})
    assert status_of(app, "oak") == "active"
    assert 'id="suspended-notice"' not in member.get("/dashboard").get_data(as_text=True)
    assert audit_actions(app) == ["group.suspend", "group.reactivate"]


def test_suspend_twice_is_refused_politely(app, admin, oak):
    admin.post("/network/groups/oak/suspend", data={})
    again = admin.post("/network/groups/oak/suspend", data={}, follow_redirects=True)
    assert "does not allow this" in again.get_data(as_text=True)
    assert audit_actions(app) == ["group.suspend"]


def test_archived_group_answers_410(app, admin, oak, client_for):
    admin.post("/network/groups/oak/archive", data={"reason": "closed"})
    assert status_of(app, "oak") == "archived"
    response = client_for("oak").get("/")
    assert response.status_code == 410
    assert "This timebank is closed" in response.get_data(as_text=True)
    assert "Oak Timebank" not in client_for(None).get("/").get_data(as_text=True)


def test_delete_needs_archive_export_and_the_typed_slug(app, admin, oak, make_group):
    make_group("elm")
    # Not archived yet.
    page = admin.post("/network/groups/oak/delete", data={"confirm_slug": "oak"})
    assert "does not allow this" in page.get_data(as_text=True)
    admin.post("/network/groups/oak/archive", data={})
    # Archived, but never exported.
    page = admin.post("/network/groups/oak/delete", data={"confirm_slug": "oak"})
    assert "Export the group first" in page.get_data(as_text=True)
    admin.post("/network/groups/oak/export")  # the job runs in-process here
    with app.app_context():
        export = db.session.scalar(sa.select(GroupExport))
        assert export.status.value == "done" and export.size > 0
    # The wrong slug.
    page = admin.post("/network/groups/oak/delete", data={"confirm_slug": "OAK "})
    assert "address exactly to confirm" in page.get_data(as_text=True)
    assert status_of(app, "oak") == "archived"

    with app.app_context():
        oak_id = db.session.scalar(sa.select(Group.id).where(Group.slug == "oak"))
        users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = admin.post("/network/groups/oak/delete", data={"confirm_slug": "oak"})
    assert response.status_code == 302
    with app.app_context(), all_groups():
        assert db.session.get(Group, oak_id) is None
        for model in (Membership, Account, Transfer):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                     .where(model.group_id == oak_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users
        # The export outlives the group (found by its slug).
        export = db.session.scalar(sa.select(GroupExport))
        assert export.group_id is None and export.group_slug == "oak"
    assert status_of(app, "elm") == "active"
    assert audit_actions(app) == ["group.archive", "group.export", "group.delete"]


def test_a_coordinator_cannot_use_the_console_on_their_group(app, oak, client_for, login):
    coordinator = coordinator_of(app, oak)
    client = login(client_for(None), coordinator.user.email)
    assert client.post("/network/groups/oak/suspend", data={}).status_code == 403
    assert status_of(app, "oak") == "active"

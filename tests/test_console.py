"""The network console: who may see it, the groups table (figures, sorting, search, paging, a
constant number of queries), ledger health, network settings, network admins, the audit trail."""

import pytest
import sqlalchemy as sa

from tests.conftest import row_counts, walk_pager
from tests.signup_support import audit_actions
from timebank.extensions import db
from timebank.models import Group, NetworkAuditEvent, NetworkSettings, User
from timebank.provisioning import overview
from timebank.tenants import all_groups


@pytest.fixture
def admin(make_network_admin, client_for, login):
    make_network_admin("admin@example.org")
    return login(client_for(None), "admin@example.org")


CONSOLE_PAGES = ("/network/", "/network/requests", "/network/admins", "/network/audit",
                 "/network/import")


def test_console_is_for_network_admins_only(app, make_group, make_member, client_for, login):
    make_group("oak")
    member = make_member(make_group("elm"))
    for path in CONSOLE_PAGES + ("/network/groups/oak",):
        assert client_for(None).get(path).headers["Location"].startswith("/login?next=")
    client = login(client_for(None), member.user.email)
    before = row_counts(app)
    for path in CONSOLE_PAGES + ("/network/groups/oak",):
        assert client.get(path).status_code == 403, path
    for path in ("/network/groups/oak/suspend", "/network/groups/oak/archive",
                 "/network/settings", "/network/verify"):
        assert client.post(path, data={}).status_code == 403, path
    assert row_counts(app) == before


def test_console_pages_do_not_exist_on_a_groups_site(make_group, make_network_admin,
                                                     make_member, client_for, login):
    group = make_group("pine")
    admin = make_network_admin("root@example.org")
    make_member(group, email=admin.email)
    client = login(client_for("pine"), admin.email)
    for path in CONSOLE_PAGES:
        assert client.get(path).status_code == 404, path


def test_every_console_page_renders(admin, make_group):
    make_group("oak")
    for path in CONSOLE_PAGES + ("/network/groups/oak", "/network/groups/oak/delete",
                                 "/network/groups/new"):
        assert admin.get(path).status_code == 200, path


def table(app, **options):
    with app.app_context():
        return overview.groups_page(**options)


def refresh_figures(app):
    """Run the console's figures job (rq cron) and commit, as the worker would."""
    with app.app_context():
        overview.refresh_figures()
        db.session.commit()


def _busy_group(make_group, make_member, make_transfer, slug: str, trades: int = 1):
    group = make_group(slug)
    ann = make_member(group, name=f"Ann {slug}")
    ben = make_member(group, name=f"Ben {slug}")
    for _ in range(trades):
        make_transfer(ann, ben, 30)
    return group


def test_groups_table_shows_the_figures(app, admin, make_group, make_member, make_transfer):
    _busy_group(make_group, make_member, make_transfer, "alder", trades=3)
    make_group("quiet")
    refresh_figures(app)
    rows, total = table(app, search="", sort="name", descending=False)
    assert total == 2
    by_slug = {row.slug: row for row in rows}
    alder = by_slug["alder"]
    assert (alder.members, alder.active_members, alder.transfers) == (3, 2, 3)
    assert alder.hours == 1.5  # 3 × 30 minutes
    assert by_slug["quiet"].members == 1 and by_slug["quiet"].transfers == 0
    page = admin.get("/network/?sort=transfers").get_data(as_text=True)
    assert page.index("alder") < page.index("quiet")
    assert "not checked" in page


def test_console_queries_do_not_grow_with_the_number_of_groups(
        app, admin, make_group, make_member, make_transfer, count_queries):
    _busy_group(make_group, make_member, make_transfer, "g1")
    admin.get("/network/")  # warm up (session, settings row)
    with count_queries() as few:
        assert admin.get("/network/?sort=hours").status_code == 200
    for number in range(2, 7):
        _busy_group(make_group, make_member, make_transfer, f"g{number}", trades=2)
    admin.get("/network/")  # new members: the process reads the login again, once
    with count_queries() as many:
        body = admin.get("/network/?sort=hours").get_data(as_text=True)
    assert all(f"g{n}" in body for n in range(1, 7))
    assert many.count == few.count, many.statements
    for path in ("/network/requests", "/network/audit", "/network/?sort=members&dir=asc"):
        with count_queries() as counter:
            admin.get(path)
        assert counter.count <= few.count + 2, (path, counter.statements)


@pytest.mark.parametrize("sort", overview.SORTS)
def test_every_column_sorts_both_ways(admin, make_group, sort):
    make_group("oak")
    for direction in ("asc", "desc"):
        assert admin.get(f"/network/?sort={sort}&dir={direction}").status_code == 200


def test_search_status_filter_and_paging(app, make_group):
    for slug in ("alpha", "beta", "gamma"):
        make_group(slug)
    with app.app_context(), all_groups():
        db.session.execute(sa.update(Group).where(Group.slug == "gamma")
                           .values(status="suspended", place="Gammaville"))
        db.session.commit()
    with app.app_context():
        rows, total = overview.groups_page(search="ALPH")
        assert total == 1 and rows[0].slug == "alpha"
        rows, total = overview.groups_page(search="gammaville")
        assert [r.slug for r in rows] == ["gamma"]
        rows, total = overview.groups_page(status="suspended")
        assert [r.slug for r in rows] == ["gamma"]
        first, total = overview.groups_page(sort="slug", descending=False, per_page=2, page=1)
        second, _ = overview.groups_page(sort="slug", descending=False, per_page=2, page=2)
        assert total == 3
        assert [r.slug for r in first + second] == ["alpha", "beta", "gamma"]


def test_ledger_health_is_stored_and_shown(app, admin, make_group, make_member,
                                           make_transfer):
    group = _busy_group(make_group, make_member, make_transfer, "alder")
    response = admin.post("/network/groups/alder/verify", follow_redirects=True)
    assert "The ledger is sound." in response.get_data(as_text=True)
    rows, _ = table(app)
    assert rows[0].problem_count == 0 and rows[0].checked_at is not None
    assert "sound" in admin.get("/network/").get_data(as_text=True)
    # A broken ledger is counted (cached balance off by one), then repaired for the suite.
    with app.app_context(), all_groups():
        db.session.execute(sa.text("UPDATE accounts SET balance = balance + 1 WHERE id = ("
                                   "SELECT min(id) FROM accounts WHERE group_id = :g)"),
                           {"g": group.id})
        from timebank.provisioning.lifecycle import record_ledger_checks

        assert record_ledger_checks()[group.id] >= 1
        db.session.execute(sa.text("UPDATE accounts SET balance = balance - 1 WHERE id = ("
                                   "SELECT min(id) FROM accounts WHERE group_id = :g)"),
                           {"g": group.id})
        db.session.commit()
    assert "problem" in admin.get("/network/").get_data(as_text=True)


def test_check_every_ledger_runs_as_a_job(app, admin, make_group):
    make_group("oak")
    make_group("elm")
    admin.post("/network/verify")
    rows, _ = table(app)
    assert [r.problem_count for r in rows] == [0, 0]
    assert "ledger.verify_all" in audit_actions(app)


def test_approval_setting_is_toggled_and_audited(app, admin):
    admin.post("/network/settings", data={})  # unchecked box: no approval
    with app.app_context():
        assert db.session.get(NetworkSettings, 1).groups_need_approval is False
    admin.post("/network/settings", data={"groups_need_approval": "y"})
    with app.app_context():
        assert db.session.get(NetworkSettings, 1).groups_need_approval is True
    assert audit_actions(app).count("network.approval_setting") == 2


def test_network_admins_are_managed(app, admin, make_group, make_member):
    member = make_member(make_group("oak"), email="kim@example.org")
    page = admin.post("/network/admins", data={"email": "nobody@example.org"})
    assert "No account has this email." in page.get_data(as_text=True)
    admin.post("/network/admins", data={"email": "KIM@example.org"})
    with app.app_context():
        assert db.session.get(User, member.user_id).is_network_admin
        me = db.session.scalar(sa.select(User).where(User.email == "admin@example.org"))
    refused = admin.post(f"/network/admins/{me.id}/revoke", follow_redirects=True)
    assert "cannot remove your own" in refused.get_data(as_text=True)
    admin.post(f"/network/admins/{member.user_id}/revoke")
    with app.app_context():
        assert not db.session.get(User, member.user_id).is_network_admin
        assert db.session.get(User, me.id).is_network_admin
    assert audit_actions(app) == ["admin.grant", "admin.revoke"]


def test_audit_trail_is_append_only(app, admin, make_group):
    make_group("oak")
    admin.post("/network/groups/oak/suspend", data={"reason": "spam"})
    page = admin.get("/network/audit?q=suspend").get_data(as_text=True)
    assert "group.suspend" in page and "admin@example.org" in page and "spam" in page
    with app.app_context():
        for statement in ("UPDATE network_audit_events SET action = 'x'",
                          "DELETE FROM network_audit_events"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with db.session.begin_nested():
                    db.session.execute(sa.text(statement))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NetworkAuditEvent)) == 1


def test_the_audit_trail_is_paged_by_key_and_keeps_its_search(app, admin, monkeypatch):
    """Newest first, "Older" / "Newer" by event id (no OFFSET, no count: a deep page costs
    what the first does), the search carried along; odd keys are not a 500 (issue 14)."""
    import re

    from timebank.blueprints.network import console
    from timebank.provisioning import audit

    monkeypatch.setattr(console, "PER_PAGE", 2)
    with app.app_context():
        for n in range(1, 6):
            audit.record(actor=None, action=f"test.step{n}")
        audit.record(actor=None, action="other.thing")
        db.session.commit()

    first = admin.get("/network/audit?q=test.step").get_data(as_text=True)
    assert re.search(r'rel="next" href="[^"]*q=test.step', first)  # the search goes along
    assert walk_pager(admin, "/network/audit?q=test.step", r"test\.step(\d)") == [
        ["5", "4"], ["3", "2"], ["1"]]
    for odd in ("before=x", "after=-1", "before=99999999999999999999", "q=%00"):
        assert admin.get(f"/network/audit?{odd}").status_code in (200, 400), odd


def test_admin_created_group_is_audited(app, admin):
    from tests.conftest import PASSWORD

    admin.post("/network/groups/new", data={
        "name": "Riverside", "slug": "riverside", "default_locale": "en",
        "join_policy": "open", "coordinator_name": "Rita", "coordinator_email": "r@example.org",
        "coordinator_password": PASSWORD})
    assert audit_actions(app) == ["group.create"]

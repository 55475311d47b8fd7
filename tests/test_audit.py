"""The audit trail (issue 6): an entry for each administrative act, append-only, readable and
filterable by coordinators only, never across groups."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tests.conftest import coordinator_of
from tests.group_admin_support import account_id, audit_actions, audit_events, in_request
from timebank.audit import service as audit
from timebank.extensions import db
from timebank.models import AuditEvent, Membership
from timebank.tenants import all_groups, group_context


def _body(response) -> str:
    return response.get_data(as_text=True)


def test_limit_changes_are_recorded(app, make_group, make_member, client_for, login):
    group = make_group("aspen")
    treasurer = make_member(group, name="Tess Treasurer", role="treasurer")
    bob = make_member(group, name="Bob")
    client = login(client_for("aspen"), treasurer.user.email)
    client.post(f"/accounts/{account_id(app, bob)}/limits",
                data={"min_balance": "5", "max_balance": "40"})
    client.post(f"/accounts/{account_id(app, bob)}/limits",
                data={"min_balance": "8", "max_balance": "", "reason": "Trusted"})
    first, second = audit_events(app, group, "ledger.limits")
    assert first.actor_id == treasurer.id and first.actor_name == "Tess Treasurer"
    assert first.object_type == "account" and first.object_id == account_id(app, bob)
    assert first.before == {"min_balance": None, "max_balance": None}
    assert first.after == {"min_balance": -300, "max_balance": 2400, "reason": ""}
    assert second.before == {"min_balance": -300, "max_balance": 2400}
    assert second.after == {"min_balance": -480, "max_balance": None, "reason": "Trusted"}


def test_a_reversal_is_recorded(app, make_group, make_member, make_transfer, client_for, login):
    group = make_group("basswood")
    treasurer = make_member(group, name="Tess Treasurer", role="treasurer")
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    transfer_id = make_transfer(ann, bob, 60)
    client = login(client_for("basswood"), treasurer.user.email)
    response = client.post(f"/transfers/{transfer_id}/reverse", data={"reason": "Typo"})
    assert response.status_code == 302
    (event,) = audit_events(app, group, "ledger.reversal")
    assert event.actor_id == treasurer.id
    assert event.after["reverses_id"] == transfer_id and event.after["description"] == "Typo"
    # A member's own payment is not an administrative act.
    assert audit_events(app, group, "ledger.on_behalf") == []


def test_every_kind_of_act_lands_on_the_trail(app, make_group, make_member, make_transfer,
                                              client_for, login):
    """One walk through the acts issue 6 names, each leaving its entry."""
    group = make_group("catalpa")
    coordinator = coordinator_of(app, group)
    treasurer = make_member(group, name="Tess", role="treasurer")
    paul = make_member(group, name="Paul", status="pending")
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    boss = login(client_for("catalpa"), coordinator.user.email)
    money = login(client_for("catalpa"), treasurer.user.email)

    boss.post(f"/members/{paul.id}/decision", data={"approve": "1"})          # approval
    boss.post(f"/members/{ann.id}/role", data={"role": 20})                   # role change
    money.post(f"/accounts/{account_id(app, bob)}/limits",                 # limit change
               data={"min_balance": "3"})
    money.post("/on-behalf", data={"currency": "HOUR", "payer": ann.id,      # on behalf
                                   "payee": bob.id, "amount": "1", "description": "Soup"})
    transfer_id = make_transfer(bob, ann, 30)
    money.post(f"/transfers/{transfer_id}/reverse", data={"reason": "Twice"})  # reversal
    boss.post("/settings", data={                                            # settings
        "name": "Catalpa Circle", "description": "", "timezone": "Europe/Madrid",
        "join_policy": "open", "members_see_all_transfers": "own", "default_min_balance": "20",
        "default_max_balance": "", "ad_lifetime_days": "60", "rating_scale": "5",
        "volunteer_thanks": ""})
    boss.post(f"/members/{bob.id}/suspension", data={"suspend": "1"})         # suspension

    actions = audit_actions(app, group)
    for action in ("members.approve", "members.role", "ledger.limits", "ledger.on_behalf",
                   "ledger.reversal", "settings.change", "members.suspend"):
        assert action in actions, f"{action} missing from {actions}"
    (settings,) = audit_events(app, group, "settings.change")
    assert settings.before["name"] == "Catalpa Timebank"
    assert settings.after["name"] == "Catalpa Circle"
    assert settings.after["timezone"] == "Europe/Madrid"
    assert settings.after["ad_lifetime_days"] == 60


def test_the_trail_is_append_only(app, make_group):
    group = make_group("dogwood3")
    with in_request(app, group):
        event = audit.record(action="settings.change", object_type="group", object_id=group.id,
                             actor=None, after={"name": "x"})
        db.session.commit()
        event_id = event.id
    with app.app_context(), group_context(group.id):
        for statement in (
            "UPDATE audit_events SET action = 'members.role' WHERE id = :id",
            "DELETE FROM audit_events WHERE id = :id",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                with db.session.begin_nested():
                    db.session.execute(sa.text(statement), {"id": event_id})
        # The ORM cannot do it either.
        row = db.session.get(AuditEvent, event_id)
        row.action = "members.role"
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session.begin_nested():
                db.session.flush()
        db.session.rollback()
        assert db.session.get(AuditEvent, event_id).action == "settings.change"


def test_deleting_a_whole_group_still_removes_its_trail(app, make_group):
    group = make_group("elder3")
    with in_request(app, group):
        audit.record(action="settings.change", object_type="group", object_id=group.id,
                     actor=None)
        db.session.commit()
    with app.app_context():
        with db.session.begin_nested():
            db.session.execute(sa.text("DELETE FROM groups WHERE id = :id"), {"id": group.id})
        with all_groups():
            assert db.session.scalar(sa.text(
                "SELECT count(*) FROM audit_events WHERE group_id = :id"), {"id": group.id}) == 0
        db.session.rollback()


def test_an_unknown_action_is_a_programming_error(app, make_group):
    group = make_group("fig")
    with in_request(app, group), pytest.raises(audit.UnknownAuditAction):
        audit.record(action="members.aprove", object_type="membership", object_id=1, actor=None)


def test_coordinators_read_and_filter_the_trail(app, make_group, make_member, client_for, login):
    group = make_group("gum2")
    coordinator = coordinator_of(app, group)
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    client = login(client_for("gum2"), coordinator.user.email)
    client.post(f"/members/{ann.id}/role", data={"role": 20})
    client.post(f"/members/{bob.id}/suspension", data={"suspend": "1", "reason": "Away"})
    page = _body(client.get("/audit"))
    assert 'data-action="members.role"' in page and 'data-action="members.suspend"' in page
    assert "Role changed" in page and "Member suspended" in page
    assert "Coordinator Gum2" in page
    only_roles = _body(client.get("/audit?action=members.role"))
    assert 'data-action="members.role"' in only_roles
    assert 'data-action="members.suspend"' not in only_roles
    area = _body(client.get("/audit?action=members"))
    assert 'data-action="members.role"' in area and 'data-action="members.suspend"' in area
    by_actor = _body(client.get(f"/audit?actor={ann.id}"))
    assert "Nothing recorded" in by_actor
    assert 'data-action="members.role"' in _body(
        client.get(f"/audit?actor={coordinator.id}&start=2000-01-01&end=2999-12-31"))
    assert "Nothing recorded" in _body(client.get("/audit?end=2000-01-01"))
    # Junk filters are ignored, not a 500.
    assert client.get("/audit?start=yesterday&actor=x&page=-3").status_code == 200


def test_the_who_menu_lists_the_members_who_acted_here(app, make_group, make_member,
                                                        client_for, login):
    """The "Who" choices: members with an event in this group's trail, and no one else (not
    a member who never acted, not another group's actor)."""
    group, other = make_group("gum3"), make_group("gum4")
    coordinator = coordinator_of(app, group)
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    login(client_for("gum3"), coordinator.user.email).post(
        f"/members/{ann.id}/role", data={"role": 20})
    far = make_member(other, name="Far")
    login(client_for("gum4"), coordinator_of(app, other).user.email).post(
        f"/members/{far.id}/role", data={"role": 20})
    with app.app_context(), group_context(group.id):
        assert audit.actor_choices() == [(coordinator.id, coordinator.user.name)]
    page = _body(login(client_for("gum3"), coordinator.user.email).get("/audit"))
    assert f'value="{coordinator.id}"' in page
    assert f'value="{bob.id}"' not in page and "Far" not in page


@pytest.mark.parametrize("role", ["member", "organizer", "treasurer"])
def test_only_coordinators_read_the_trail(app, make_group, make_member, client_for, login, role):
    group = make_group("hawthorn")
    actor = make_member(group, role=role)
    assert login(client_for("hawthorn"), actor.user.email).get("/audit").status_code == 403


def test_another_groups_trail_is_invisible(app, make_group, make_member, client_for, login):
    home, away = make_group("ironwood"), make_group("jacaranda")
    away_member = make_member(away, name="Far Away")
    away_client = login(client_for("jacaranda"), coordinator_of(app, away).user.email)
    away_client.post(f"/members/{away_member.id}/role", data={"role": 30})
    home_page = _body(login(client_for("ironwood"), coordinator_of(app, home).user.email)
                      .get("/audit"))
    assert 'data-action="members.role"' not in home_page and "Far Away" not in home_page
    with app.app_context(), group_context(home.id):
        assert db.session.scalars(sa.select(AuditEvent)).all() == []
        assert db.session.get(Membership, away_member.id) is None


def test_the_trail_is_paged_by_key_and_a_deep_page_costs_what_the_first_does(
        app, make_group, client_for, login, count_queries):
    import re

    group = make_group("kapok")
    coordinator = coordinator_of(app, group)
    with app.app_context(), group_context(group.id):
        for number in range(1, 131):  # three pages of 50: 50, 50, 30
            audit.record(action="settings.change", object_type="group", object_id=number,
                         actor=None)
        db.session.commit()
    client = login(client_for("kapok"), coordinator.user.email)
    client.get("/audit")
    seen, costs, path = [], [], "/audit"
    while path:
        with count_queries() as counter:
            page = _body(client.get(path))
        costs.append(counter.count)
        seen += [int(n) for n in re.findall(r"group #(\d+)", page)]
        older = re.search(r'rel="next" href="([^"]+)"', page)
        path = older.group(1).replace("&amp;", "&") if older else None
    assert seen == list(range(130, 0, -1))  # newest first, each event once
    assert len(costs) == 3 and costs[0] == costs[1] == costs[2]
    newer = re.search(r'rel="prev" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "after=" in newer
    back = _body(client.get(newer))
    assert [int(n) for n in re.findall(r"group #(\d+)", back)] == list(range(80, 30, -1))

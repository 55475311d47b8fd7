"""Volunteer tasks and kudos (issue 6): post, pledge, withdraw, mark done, thank, cancel, board."""

from datetime import timedelta

import sqlalchemy as sa

from tests.conftest import coordinator_of, ledger_state
from tests.group_admin_support import audit_events, pledge, post_task
from timebank.extensions import db
from timebank.models import (
    Group,
    KudosAward,
    Pledge,
    PledgeStatus,
    Transfer,
    VolunteerTask,
    utcnow,
)
from timebank.tenants import group_context


def _body(response) -> str:
    return response.get_data(as_text=True)


def _kudos_on_profile(client, membership_id: int) -> str:
    page = _body(client.get(f"/members/{membership_id}"))
    return page.split('id="kudos-total">', 1)[1].split("<", 1)[0]


def _pledge_row(app, group, pledge_id: int) -> Pledge:
    with app.app_context(), group_context(group.id):
        row = db.session.get(Pledge, pledge_id)
        db.session.expunge(row)
        return row


def test_the_whole_round(app, make_group, make_member, client_for, login, outbox):
    group = make_group("acorn")
    with app.app_context():
        db.session.get(Group, group.id).timezone = "Europe/Madrid"
        db.session.commit()
    olive = make_member(group, name="Olive Organizer", role="organizer")
    mia = make_member(group, name="Mia Member")
    organizer = login(client_for("acorn"), olive.user.email)
    member = login(client_for("acorn"), mia.user.email)

    response = organizer.post("/volunteering/new", data={
        "title": "Litter pick", "description": "Meet at the bridge", "date": "2999-05-01",
        "time": "10:00", "volunteers_needed": "2"})
    assert response.status_code == 302, _body(response)[:800]
    with app.app_context(), group_context(group.id):
        task = db.session.scalar(sa.select(VolunteerTask))
        task_id = task.id
        # 10:00 in the group's time zone (Europe/Madrid is +2 in May).
        assert task.starts_at.isoformat().startswith("2999-05-01T08:00")
    assert "Litter pick" in _body(member.get("/volunteering/"))

    assert _kudos_on_profile(member, mia.id) == "0"
    response = member.post(f"/volunteering/{task_id}/pledge", follow_redirects=True)
    assert "You pledged to help." in _body(response)
    assert "1 of 2 volunteers" in _body(response)

    with app.app_context(), group_context(group.id):
        pledge_id = db.session.scalar(sa.select(Pledge.id))
    # Not before the task has begun (issue 17): kudos are for work done.
    response = organizer.post(f"/volunteering/pledges/{pledge_id}/done", follow_redirects=True)
    assert "has not started yet" in _body(response)
    assert "Mark done</button>" not in _body(organizer.get(f"/volunteering/{task_id}"))
    assert _pledge_row(app, group, pledge_id).status == PledgeStatus.PLEDGED
    with app.app_context(), group_context(group.id):
        db.session.get(VolunteerTask, task_id).starts_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    response = organizer.post(f"/volunteering/pledges/{pledge_id}/done", follow_redirects=True)
    assert "Kudos to Mia Member!" in _body(response)
    assert _pledge_row(app, group, pledge_id).status == PledgeStatus.DONE
    assert _kudos_on_profile(member, mia.id) == "1"
    profile = _body(organizer.get(f"/members/{mia.id}"))
    assert "Litter pick" in profile.split('id="kudos-history"', 1)[1]
    (event,) = audit_events(app, group, "volunteering.complete")
    assert event.actor_id == olive.id and event.after["kudos"] == 1
    # Marking done twice changes nothing.
    organizer.post(f"/volunteering/pledges/{pledge_id}/done")
    assert _kudos_on_profile(member, mia.id) == "1"
    # No thank-you hours unless the group asks for them.
    with app.app_context(), group_context(group.id):
        assert db.session.scalar(sa.select(sa.func.count(Transfer.id))) == 0


def test_pledge_withdraw_and_pledge_again(app, make_group, make_member, client_for, login):
    group = make_group("birchbark")
    task_id = post_task(app, coordinator_of(app, group), volunteers=1)
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    ann_client = login(client_for("birchbark"), ann.user.email)
    bob_client = login(client_for("birchbark"), bob.user.email)
    ann_client.post(f"/volunteering/{task_id}/pledge")
    response = bob_client.post(f"/volunteering/{task_id}/pledge", follow_redirects=True)
    assert "all the volunteers it needs" in _body(response)
    with app.app_context(), group_context(group.id):
        ann_pledge = db.session.scalar(sa.select(Pledge.id).where(Pledge.membership_id == ann.id))
    # Bob cannot withdraw Ann's pledge.
    assert bob_client.post(f"/volunteering/pledges/{ann_pledge}/withdraw").status_code == 403
    ann_client.post(f"/volunteering/pledges/{ann_pledge}/withdraw")
    assert _pledge_row(app, group, ann_pledge).status == PledgeStatus.WITHDRAWN
    bob_client.post(f"/volunteering/{task_id}/pledge")
    response = ann_client.post(f"/volunteering/{task_id}/pledge", follow_redirects=True)
    assert "all the volunteers it needs" in _body(response)
    assert _pledge_row(app, group, ann_pledge).status == PledgeStatus.WITHDRAWN


def test_members_cannot_post_or_mark_done(app, make_group, make_member, client_for, login):
    group = make_group("chestnut")
    task_id = post_task(app, coordinator_of(app, group))
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    pledge_id = pledge(app, ann, task_id)
    bob_client = login(client_for("chestnut"), bob.user.email)
    assert bob_client.get("/volunteering/new").status_code == 403
    assert bob_client.post(f"/volunteering/pledges/{pledge_id}/done").status_code == 403
    assert bob_client.post(f"/volunteering/{task_id}/cancel").status_code == 403
    assert _pledge_row(app, group, pledge_id).status == PledgeStatus.PLEDGED


def test_an_organizer_cannot_give_themself_kudos(app, make_group, make_member, client_for,
                                                 login):
    group = make_group("dogrose")
    olive = make_member(group, name="Olive", role="organizer")
    task_id = post_task(app, olive, days_ahead=-1)
    own = pledge(app, olive, task_id)
    response = login(client_for("dogrose"), olive.user.email).post(
        f"/volunteering/pledges/{own}/done", follow_redirects=True)
    assert "Another organizer marks your own part done." in _body(response)
    assert _pledge_row(app, group, own).status == PledgeStatus.PLEDGED


def test_thank_you_hours_from_the_group_account(app, make_group, make_member, client_for,
                                                login, outbox):
    group = make_group("eucalyptus")
    with app.app_context():
        db.session.get(Group, group.id).volunteer_thanks_minutes = 90
        db.session.commit()
    olive = make_member(group, name="Olive", role="organizer")
    mia = make_member(group, name="Mia")
    task_id = post_task(app, olive, days_ahead=-1)
    pledge_id = pledge(app, mia, task_id)
    login(client_for("eucalyptus"), olive.user.email).post(
        f"/volunteering/pledges/{pledge_id}/done")
    assert ledger_state(app, group)["Mia"] == 90
    with app.app_context(), group_context(group.id):
        award = db.session.scalar(sa.select(KudosAward))
        transfer = db.session.get(Transfer, award.thanks_transfer_id)
        assert transfer.amount == 90 and transfer.payer_account.kind == "group"
        assert transfer.starter_id == olive.id
    assert any(m.recipients == [mia.user.email] for m in outbox)


def test_thanks_refused_by_the_pots_limit_still_gives_kudos(app, make_group, make_member,
                                                             client_for, login):
    group = make_group("fig2")
    with app.app_context():
        db.session.get(Group, group.id).volunteer_thanks_minutes = 6000  # 100 hours
        db.session.commit()
    olive = make_member(group, name="Olive", role="organizer")
    mia = make_member(group, name="Mia")
    pledge_id = pledge(app, mia, post_task(app, olive, days_ahead=-1))
    response = login(client_for("fig2"), olive.user.email).post(
        f"/volunteering/pledges/{pledge_id}/done", follow_redirects=True)
    assert "Kudos to Mia!" in _body(response)
    assert "The thank-you hours could not be paid" in _body(response)
    assert ledger_state(app, group)["Mia"] == 0
    assert _pledge_row(app, group, pledge_id).status == PledgeStatus.DONE


def test_cancelling_a_task_tells_the_pledgers(app, make_group, make_member, client_for, login,
                                             outbox):
    group = make_group("ginkgo2")
    olive = make_member(group, name="Olive", role="organizer")
    ann, bob, cy = (make_member(group, name=n) for n in ("Ann", "Bob", "Cy"))
    task_id = post_task(app, olive, "Soup kitchen")
    pledge(app, ann, task_id)
    withdrawn = pledge(app, bob, task_id)
    login(client_for("ginkgo2"), bob.user.email).post(
        f"/volunteering/pledges/{withdrawn}/withdraw")
    outbox.clear()
    response = login(client_for("ginkgo2"), olive.user.email).post(
        f"/volunteering/{task_id}/cancel", data={"reason": "Kitchen flooded"},
        follow_redirects=True)
    assert "cancelled" in _body(response)
    told = {m.recipients[0] for m in outbox}
    assert told == {ann.user.email}
    (mail,) = outbox
    assert "Soup kitchen" in mail.subject and "Kitchen flooded" in mail.body
    (event,) = audit_events(app, group, "volunteering.cancel")
    assert event.after["pledgers_told"] == 1
    # Nobody can pledge to a cancelled task.
    response = login(client_for("ginkgo2"), cy.user.email).post(
        f"/volunteering/{task_id}/pledge", follow_redirects=True)
    assert "This task was cancelled." in _body(response)


def test_the_kudos_board_ranks_the_month_and_all_time(app, make_group, make_member,
                                                      client_for, login):
    group = make_group("hemlock")
    olive = make_member(group, name="Olive", role="organizer")
    ann, bob = make_member(group, name="Ann"), make_member(group, name="Bob")
    organizer = login(client_for("hemlock"), olive.user.email)
    for title in ("One", "Two"):
        task_id = post_task(app, olive, title, days_ahead=-1)
        organizer.post(f"/volunteering/pledges/{pledge(app, ann, task_id)}/done")
    old_task = post_task(app, olive, "Long ago", days_ahead=-1)
    organizer.post(f"/volunteering/pledges/{pledge(app, bob, old_task)}/done")
    for title in ("x", "y"):
        task_id = post_task(app, olive, title, days_ahead=-1)
        organizer.post(f"/volunteering/pledges/{pledge(app, bob, task_id)}/done")
    with app.app_context(), group_context(group.id):
        # Two of Bob's awards are from last year: they count all-time only.
        db.session.execute(
            sa.update(KudosAward).where(KudosAward.membership_id == bob.id,
                                        KudosAward.task_id != old_task)
            .values(created_at=sa.func.now() - sa.text("interval '400 days'")))
        db.session.commit()
    page = _body(login(client_for("hemlock"), ann.user.email).get("/kudos"))
    month = page.split('id="board-month"', 1)[1].split("</ol>", 1)[0]
    all_time = page.split('id="board-all-time"', 1)[1].split("</ol>", 1)[0]
    assert month.index("Ann") < month.index("Bob")
    assert all_time.index("Bob") < all_time.index("Ann")


def test_another_group_cannot_see_or_touch_tasks(app, make_group, make_member, client_for,
                                                 login):
    home, away = make_group("juniper2"), make_group("kapok")
    task_id = post_task(app, coordinator_of(app, home), "Home task")
    mia = make_member(home, name="Mia")
    pledge_id = pledge(app, mia, task_id)
    stranger = make_member(away, name="Stranger", role="coordinator")
    # Logged in on the other group's site: nothing of home's is there.
    away_client = login(client_for("kapok"), stranger.user.email)
    assert away_client.get(f"/volunteering/{task_id}").status_code == 404
    assert away_client.post(f"/volunteering/{task_id}/pledge").status_code == 404
    assert away_client.post(f"/volunteering/pledges/{pledge_id}/done").status_code == 404
    assert away_client.post(f"/volunteering/{task_id}/cancel").status_code == 404
    assert "Home task" not in _body(away_client.get("/volunteering/"))
    # On home's site they are not a member: sent to the join page. Logged out: to log in.
    on_home = login(client_for("juniper2"), stranger.user.email)
    assert on_home.get(f"/volunteering/{task_id}").headers["Location"].endswith("/join")
    assert client_for("juniper2").get("/kudos").headers["Location"].startswith("/login")
    assert _pledge_row(app, home, pledge_id).status == PledgeStatus.PLEDGED

"""Starting a timebank on the apex: landing page, live address check, the request form,
email confirmation, approval and the provisioning job (in-process here; on a real rq worker in
tests/test_signup_worker.py), the status page, and carrying the login to the new group."""

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, row_counts
from tests.signup_support import (
    group_count,
    link_in,
    path_of,
    request_count,
    request_row,
    set_approval,
    start_form,
)
from timebank.extensions import db
from timebank.models import Category, Currency, Group, GroupRequest, Membership, Role, User
from timebank.tenants import all_groups, group_context

# --- landing page -------------------------------------------------------------------------------


def test_landing_lists_public_groups_and_searches_name_and_place(app, make_group, client_for):
    make_group("maple")
    make_group("oakley")
    make_group("shut")
    with app.app_context(), all_groups():
        db.session.execute(sa.update(Group).where(Group.slug == "oakley")
                           .values(place="Riverside"))
        db.session.execute(sa.update(Group).where(Group.slug == "shut").values(status="archived"))
        db.session.commit()
    apex = client_for(None)
    body = apex.get("/").get_data(as_text=True)
    assert "Maple Timebank" in body and "Oakley Timebank" in body
    assert "Shut Timebank" not in body
    assert "Start a timebank" in body
    by_place = apex.get("/?q=riverside").get_data(as_text=True)
    assert "Oakley Timebank" in by_place and "Maple Timebank" not in by_place
    by_name = apex.get("/?q=MAPLE").get_data(as_text=True)
    assert "Maple Timebank" in by_name and "Oakley Timebank" not in by_name
    assert "No timebank matches" in apex.get("/?q=nowhere").get_data(as_text=True)


# --- the live address check ---------------------------------------------------------------------


def test_slug_check_says_free(client_for):
    response = client_for(None).get("/api/slugs/check?slug=Willow")
    assert response.status_code == 200
    assert response.json == {"slug": "willow", "valid": True, "available": True,
                             "reason": None, "message": "This address is free.",
                             "suggestions": []}


def test_slug_check_taken_offers_free_suggestions(make_group, client_for):
    make_group("willow")
    make_group("willow-timebank")
    body = client_for(None).get("/api/slugs/check?slug=willow&place=Creek").json
    assert body["valid"] and not body["available"] and body["reason"] == "taken"
    assert body["suggestions"] and "willow" not in body["suggestions"]
    assert "willow-timebank" not in body["suggestions"]
    assert body["suggestions"][0] == "willow-creek"


@pytest.mark.parametrize("slug,reason", [("admin", "reserved"), ("www", "reserved"),
                                         ("-bad", "invalid"), ("bad_slug", "invalid"),
                                         ("a" * 64, "invalid"), ("vallée", "invalid")])
def test_slug_check_problem_body_for_unusable_addresses(client_for, slug, reason):
    response = client_for(None).get("/api/slugs/check", query_string={"slug": slug,
                                                                     "name": "Vallée Verte"})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json
    assert body["status"] == 422 and body["type"] == f"urn:timebank:problem:slug-{reason}"
    assert body["invalid-params"][0]["name"] == "slug"
    assert body["valid"] is False and body["available"] is False
    assert all(s != slug for s in body["suggestions"])


def test_slug_check_without_slug_is_400_problem(client_for):
    response = client_for(None).get("/api/slugs/check")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["invalid-params"][0]["name"] == "slug"


def test_slug_check_only_on_the_apex(make_group, client_for):
    make_group("elm")
    response = client_for("elm").get("/api/slugs/check?slug=x")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_slug_wished_by_an_open_request_is_not_free(app, client_for):
    assert client_for(None).post("/start", data=start_form()).status_code == 302
    # Unconfirmed: it does not hold the address yet.
    assert client_for(None).get("/api/slugs/check?slug=willow").json["available"]
    with app.app_context():
        db.session.execute(sa.update(GroupRequest).values(status="pending"))
        db.session.commit()
    body = client_for(None).get("/api/slugs/check?slug=willow").json
    assert body["reason"] == "requested" and not body["available"]


# --- a visitor asks -------------------------------------------------------------------------------


def test_visitor_request_waits_for_email_confirmation(app, client_for, outbox):
    before = row_counts(app)
    apex = client_for(None)
    response = apex.post("/start", data=start_form(), follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "we sent a link to wanda@example.org" in body
    assert "Open the link we sent" in body
    row = request_row(app, "willow")
    assert row["status"].value == "unconfirmed" and row["requester_id"] is None
    assert row["password_hash"] and PASSWORD not in row["password_hash"]
    assert row_counts(app) == before  # no user, no group yet
    (mail,) = outbox
    assert mail.recipients == ["wanda@example.org"]
    assert "Confirm your email" in mail.subject


def test_confirming_creates_the_account_logs_in_and_waits_for_approval(
        app, client_for, outbox, make_network_admin):
    make_network_admin("admin@example.org")
    apex = client_for(None)
    apex.post("/start", data=start_form())
    link = link_in(outbox[0])
    outbox.clear()
    response = apex.get(path_of(link), follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "your email is confirmed" in body
    assert "waiting for a network admin" in body
    row = request_row(app, "willow")
    assert row["status"].value == "pending" and row["password_hash"] is None
    with app.app_context():
        user = db.session.get(User, row["requester_id"])
        assert user.email == "wanda@example.org" and user.name == "Wanda Willow"
    assert apex.get("/my").status_code == 200  # logged in at the apex
    assert [m.recipients for m in outbox] == [["admin@example.org"]]
    assert "New timebank request" in outbox[0].subject
    # The link works once.
    again = apex.get(path_of(link), follow_redirects=True).get_data(as_text=True)
    assert "invalid or has expired" in again


def test_a_forged_confirmation_link_does_nothing(app, client_for):
    client_for(None).post("/start", data=start_form())
    body = client_for(None).get("/start/confirm/not-a-token",
                                follow_redirects=True).get_data(as_text=True)
    assert "invalid or has expired" in body
    assert request_row(app, "willow")["status"].value == "unconfirmed"


@pytest.mark.parametrize("slug,message", [
    ("admin", "This address is reserved"), ("api", "This address is reserved"),
    ("-x", "Use 1 to 63"), ("bad slug", "Use 1 to 63"), ("a" * 64, "cannot be longer than 63"),
    ("", "This field is required."),
])
def test_bad_address_is_a_form_error_and_creates_nothing(app, client_for, slug, message):
    before = (row_counts(app), request_count(app))
    response = client_for(None).post("/start", data=start_form(slug=slug))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body and "is-invalid" in body
    assert (row_counts(app), request_count(app)) == before


def test_address_taken_between_check_and_submit(app, client_for, make_group):
    apex = client_for(None)
    assert apex.get("/api/slugs/check?slug=willow").json["available"]
    make_group("willow")  # someone else got it meanwhile
    before = request_count(app)
    response = apex.post("/start", data=start_form())
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "already taken" in body
    assert "Free addresses:" in body and 'data-slug="willow-willow-creek"' in body
    assert request_count(app) == before


def test_an_email_with_an_account_must_log_in_first(app, client_for, make_group, make_member):
    make_member(make_group("elm"), email="wanda@example.org")
    before = request_count(app)
    body = client_for(None).post("/start", data=start_form()).get_data(as_text=True)
    assert "Log in first" in body and "already exists" in body
    assert request_count(app) == before


def test_unknown_time_zone_is_refused(app, client_for):
    body = client_for(None).post("/start", data=start_form(timezone="Mars/Olympus"))
    assert body.status_code == 200 and request_count(app) == 0


# --- approval, the job, the status page, arriving -----------------------------------------------


@pytest.fixture
def requester(make_group, make_member, client_for, login):
    """A logged-in apex user (a member elsewhere) who asks for "willow"."""
    member = make_member(make_group("elm"), name="Wanda Willow", email="wanda@example.org")
    return login(client_for(None), member.user.email)


def test_logged_in_user_needs_no_account_fields(app, requester):
    page = requester.get("/start").get_data(as_text=True)
    assert 'id="password"' not in page and "You will be the coordinator" in page
    form = {k: v for k, v in start_form().items()
            if k not in ("your_name", "email", "password", "confirm")}
    assert requester.post("/start", data=form).status_code == 302
    row = request_row(app, "willow")
    assert row["status"].value == "pending" and row["requester_email"] == "wanda@example.org"


def _ask(requester, **overrides):
    form = {k: v for k, v in start_form(**overrides).items()
            if k not in ("your_name", "email", "password", "confirm")}
    response = requester.post("/start", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_without_approval_the_group_is_provisioned_at_once(
        app, requester, client_for, outbox):
    set_approval(app, False)
    status_path = _ask(requester, default_locale="es", place="Sauce", description="")
    row = request_row(app, "willow")
    assert row["status"].value == "done" and row["progress"] == 100 and row["attempts"] == 1
    with app.app_context():
        group = db.session.get(Group, row["group_id"])
        assert (group.slug, group.default_locale, group.timezone, group.place) == (
            "willow", "es", "Europe/Paris", "Sauce")
        # The welcome text (a new message: translated once the catalogs catch up).
        assert "Willow Timebank" in group.description and "Sauce" in group.description
        with group_context(group.id):
            (currency,) = db.session.scalars(sa.select(Currency)).all()
            assert currency.code == "HOUR" and currency.default_min_balance == -1200
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)) > 0
            (membership,) = db.session.scalars(sa.select(Membership)).all()
            assert membership.user.email == "wanda@example.org"
            assert membership.role == Role.COORDINATOR and membership.is_active
    ready = [m for m in outbox if "willow" in m.body and m.recipients == ["wanda@example.org"]]
    assert ready and "willow.localhost:5000/login" in ready[-1].body
    page = requester.get(status_path).get_data(as_text=True)
    assert "is ready" in page and 'id="go-to-timebank"' in page


def test_go_carries_the_login_to_the_new_group_once(app, requester, client_for):
    set_approval(app, False)
    status_path = _ask(requester)
    go = requester.post(status_path + "/go")
    assert go.status_code == 302 and go.headers["Referrer-Policy"] == "no-referrer"
    target = go.headers["Location"]
    assert target.startswith("http://willow.localhost:5000/login/handoff/")
    browser = client_for("willow")
    arrived = browser.get(path_of(target))
    assert arrived.status_code == 302 and arrived.headers["Location"] == "/dashboard"
    dashboard = browser.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert "Wanda Willow" in dashboard
    # The token is spent: another browser cannot reuse it.
    thief = client_for("willow")
    refused = thief.get(path_of(target))
    assert refused.headers["Location"].startswith("/login")
    assert thief.get("/dashboard").status_code == 302


def test_a_token_for_one_group_is_refused_by_another(app, requester, client_for, make_group):
    set_approval(app, False)
    status_path = _ask(requester)
    target = requester.post(status_path + "/go").headers["Location"]
    make_group("other")
    refused = client_for("other").get(path_of(target))
    assert refused.headers["Location"].startswith("/login")


def test_admin_approves_and_the_requester_is_told(app, requester, make_network_admin,
                                                  client_for, login, outbox):
    _ask(requester)
    row = request_row(app, "willow")
    make_network_admin("admin@example.org")
    admin = login(client_for(None), "admin@example.org")
    page = admin.get("/network/requests").get_data(as_text=True)
    assert "Willow Timebank" in page and "Wanda Willow" in page
    response = admin.post(f"/network/requests/{row['id']}/decide",
                          data={"message": "Welcome!", "approve": "Approve"})
    assert response.status_code == 302
    done = request_row(app, "willow")
    assert done["status"].value == "done" and done["decision_message"] == "Welcome!"
    assert group_count(app, "willow") == 1
    assert any("is ready" in m.subject for m in outbox)


def test_admin_declines_with_a_message(app, requester, make_network_admin, client_for, login,
                                       outbox):
    status_path = _ask(requester)
    row = request_row(app, "willow")
    make_network_admin("admin@example.org")
    admin = login(client_for(None), "admin@example.org")
    outbox.clear()
    admin.post(f"/network/requests/{row['id']}/decide",
               data={"message": "Please join Elm instead.", "decline": "Decline"})
    assert request_row(app, "willow")["status"].value == "declined"
    assert group_count(app, "willow") == 0
    (mail,) = outbox
    assert "declined" in mail.subject and "Please join Elm instead." in mail.body
    assert "Please join Elm instead." in requester.get(status_path).get_data(as_text=True)
    # Deciding twice is refused.
    again = admin.post(f"/network/requests/{row['id']}/decide",
                       data={"approve": "Approve"}, follow_redirects=True)
    assert "not waiting for a decision" in again.get_data(as_text=True)


def test_failed_job_is_reported_and_retried_with_another_address(
        app, requester, make_network_admin, make_group, client_for, login, outbox):
    status_path = _ask(requester)
    row = request_row(app, "willow")
    make_group("willow")  # an admin made a group with that address by hand meanwhile
    make_network_admin("admin@example.org")
    admin = login(client_for(None), "admin@example.org")
    outbox.clear()
    admin.post(f"/network/requests/{row['id']}/decide", data={"approve": "Approve"})
    failed = request_row(app, "willow")
    assert failed["status"].value == "failed" and failed["error"] == "SlugTaken"
    assert any("could not create" in m.subject for m in outbox)
    page = requester.get(status_path).get_data(as_text=True)
    assert "already taken" in page and "Try again" in page
    # A stranger may not retry it.
    assert client_for(None).post(status_path + "/retry", data={"slug": "x"}).status_code == 403
    response = requester.post(status_path + "/retry", data={"slug": "willow-two"})
    assert response.status_code == 302
    retried = request_row(app, request_id=row["id"])
    assert retried["status"].value == "done" and retried["slug"] == "willow-two"
    assert retried["attempts"] == 2
    assert group_count(app, "willow-two") == 1


def test_running_the_job_twice_creates_one_group(app, requester):
    from timebank.provisioning.jobs import provision_group

    set_approval(app, False)
    _ask(requester)
    row = request_row(app, "willow")
    with app.app_context():
        provision_group(row["id"])  # a duplicate delivery of the same job
        provision_group(row["id"])
    assert group_count(app, "willow") == 1
    assert request_row(app, "willow")["attempts"] == 1


# --- my timebanks -------------------------------------------------------------------------------


def test_my_timebanks_lists_each_group_with_its_balance(app, make_group, make_member,
                                                        make_transfer, client_for, login):
    alder, birch = make_group("alder"), make_group("birch")
    ann_alder = make_member(alder, name="Ann", email="ann@example.org")
    ben = make_member(alder, name="Ben")
    make_member(birch, name="Ann", email="ann@example.org")
    make_transfer(ann_alder, ben, 90)
    apex = login(client_for(None), "ann@example.org")
    page = apex.get("/my").get_data(as_text=True)
    assert "Alder Timebank" in page and "Birch Timebank" in page
    assert "-1:30 h" in page.replace("\u2212", "-") and "0:00 h" in page
    go = apex.post("/my/birch/go")
    assert go.headers["Location"].startswith("http://birch.localhost:5000/login/handoff/")
    # Not a member: no token, just the group's login page.
    make_group("cedar")
    assert apex.post("/my/cedar/go").headers["Location"] == (
        "http://cedar.localhost:5000/login?next=/dashboard")


def test_my_timebanks_needs_a_login(client_for):
    assert client_for(None).get("/my").headers["Location"].startswith("/login")

"""Export a group as a ZIP of CSV and JSON; import a group from CSV (dry run, then atomic);
the round trip; bad input reported with nothing half-created; the CLI equivalents."""

import csv
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, coordinator_of, row_counts
from tests.signup_support import audit_actions
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.verify import verify_ledger
from timebank.models import (
    Account,
    Group,
    GroupExport,
    GroupExportChunk,
    Membership,
    Transfer,
    TransferState,
    User,
)
from timebank.portability import export as export_module
from timebank.portability import importer
from timebank.tenants import group_context


@pytest.fixture
def admin(make_network_admin, client_for, login):
    make_network_admin("admin@example.org")
    return login(client_for(None), "admin@example.org")


@pytest.fixture
def source(app, make_group, make_member, make_transfer):
    """Group "source": three members, four completed transfers, one reversal, one pending."""
    group = make_group("source")
    ann = make_member(group, name="Ann Source", email="ann@example.org", min_balance=-3000)
    ben = make_member(group, name="=Ben Formula", email="ben@example.org")
    cat = make_member(group, name="Cat Source", email="cat@example.org")
    make_transfer(ann, ben, 90, "Garden, gate")
    make_transfer(ben, cat, 31, "Bread\nand jam")
    make_transfer(cat, ann, 15, "Lift")
    reversed_id = make_transfer(ann, cat, 61, "Oops")
    with app.app_context(), group_context(group.id):
        treasurer = db.session.get(Membership, coordinator_of(app, group).id)
        ledger.reverse_transfer(transfer=db.session.get(Transfer, reversed_id), by=treasurer,
                                reason="Typo")
        ledger.pay(payer=db.session.get(Membership, cat.id),
                   payee=db.session.get(Membership, ben.id),
                   currency=ledger.default_currency(), amount=20, description="Later",
                   starter=db.session.get(Membership, cat.id), require_confirmation=True)
        db.session.commit()
    return group


def balances(app, slug: str) -> dict[str, int]:
    """Return ``{member email: balance}`` of a group's first currency."""
    with app.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == slug))
        with group_context(group_id):
            return dict(db.session.execute(
                sa.select(User.email, Account.balance)
                .join(Membership, Membership.id == Account.membership_id)
                .join(User, User.id == Membership.user_id)
            ).all())


def completed_amounts(app, slug: str) -> list[int]:
    with app.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == slug))
        with group_context(group_id):
            return sorted(db.session.scalars(
                sa.select(Transfer.amount).where(Transfer.state == TransferState.COMPLETED)))


def read_zip(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def export_zip(app, admin, slug: str) -> bytes:
    admin.post(f"/network/groups/{slug}/export")
    with app.app_context():
        export = db.session.scalar(sa.select(GroupExport).order_by(GroupExport.id.desc()))
    response = admin.get(f"/network/exports/{export.id}/download")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    return response.data


# --- export --------------------------------------------------------------------------------------


def test_export_zip_holds_csv_and_json(app, admin, source):
    files = read_zip(export_zip(app, admin, "source"))
    for name in ("manifest.json", "group.json", "members.csv", "currencies.csv",
                 "accounts.csv", "transfers.csv", "entries.csv", "ads.csv", "categories.csv"):
        assert name in files, sorted(files)
    assert not {"messages.csv", "conversations.csv"} & set(files)  # private
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "timebank-export" and manifest["balance_sums"] == {"HOUR": 0}
    assert manifest["files"]["transfers.csv"] == 6
    assert json.loads(files["group.json"])["slug"] == "source"
    members = {row["email"]: row for row in rows(files["members.csv"])}
    assert members["ann@example.org"]["balance"] == "-1:15"
    assert members["ben@example.org"]["name"] == "'=Ben Formula"  # defused for spreadsheets
    assert "password" not in files["members.csv"] and "argon2" not in "".join(files.values())
    transfers = rows(files["transfers.csv"])
    assert {t["state"] for t in transfers} == {"completed", "pending"}
    assert any(t["description"] == "Bread\nand jam" for t in transfers)
    entries = rows(files["entries.csv"])
    assert sum(int(e["amount"]) for e in entries) == 0 and len(entries) == 10


def test_an_export_is_stored_and_downloaded_in_pieces(app, admin, source, monkeypatch):
    """The ZIP is written to the database a piece at a time and streamed back the same way,
    so neither the job nor a download holds the whole file (issue 14)."""
    monkeypatch.setattr(export_module, "CHUNK_BYTES", 1000)
    admin.post("/network/groups/source/export")
    with app.app_context():
        export = db.session.scalar(sa.select(GroupExport))
        pieces = db.session.execute(
            sa.select(GroupExportChunk.seq, sa.func.length(GroupExportChunk.data))
            .where(GroupExportChunk.export_id == export.id).order_by(GroupExportChunk.seq)).all()
    assert len(pieces) > 2 and [seq for seq, _ in pieces] == list(range(len(pieces)))
    assert all(size == 1000 for _, size in pieces[:-1]) and 0 < pieces[-1][1] <= 1000
    assert export.size == sum(size for _, size in pieces)
    response = admin.get(f"/network/exports/{export.id}/download")
    assert response.is_streamed and response.content_length == export.size
    assert response.headers["Content-Disposition"] == f'attachment; filename="{export.filename}"'
    files = read_zip(response.data)
    assert json.loads(files["manifest.json"])["files"]["transfers.csv"] == 6
    # Deleting the export deletes its pieces.
    with app.app_context():
        db.session.delete(db.session.get(GroupExport, export.id))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GroupExportChunk)) == 0


def test_an_export_the_previous_release_built_still_downloads(app, admin, source):
    """The release running during a deploy (or rolled back to) stores the ZIP whole in
    ``group_exports.content``, with no pieces: it downloads as it is."""
    with app.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == "source"))
        export = GroupExport(group_id=group_id, group_slug="source", status="done",
                             progress=100, content=b"PK old zip", size=10)
        db.session.add(export)
        db.session.commit()
        export_id = export.id
    response = admin.get(f"/network/exports/{export_id}/download")
    assert response.status_code == 200 and response.data == b"PK old zip"


def test_an_unfinished_export_has_nothing_to_download(app, admin, source):
    with app.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == "source"))
        export = GroupExport(group_id=group_id, group_slug="source")
        db.session.add(export)
        db.session.commit()
        export_id = export.id
    assert admin.get(f"/network/exports/{export_id}/download").status_code == 404
    assert admin.get("/network/exports/99999999/download").status_code == 404


def test_export_progress_is_visible(app, admin, source):
    admin.post("/network/groups/source/export")
    with app.app_context():
        export = db.session.scalar(sa.select(GroupExport))
    status = admin.get(f"/network/exports/{export.id}").json
    assert status == {"id": export.id, "status": "done", "progress": 100, "error": None}
    assert "ready" in admin.get("/network/groups/source").get_data(as_text=True)


def test_coordinator_exports_their_own_group(app, source, client_for, login, make_group,
                                             make_member):
    coordinator = coordinator_of(app, source)
    client = login(client_for("source"), coordinator.user.email)
    assert client.get("/export").status_code == 200
    client.post("/export")
    page = client.get("/export").get_data(as_text=True)
    assert "Download" in page
    with app.app_context():
        export = db.session.scalar(sa.select(GroupExport))
    download = client.get(f"/export/{export.id}/download")
    assert download.status_code == 200 and "members.csv" in read_zip(download.data)
    # A member may not; another group's coordinator cannot reach this export.
    member = login(client_for("source"), "cat@example.org")
    assert member.get("/export").status_code == 403
    other = make_group("other")
    other_coordinator = login(client_for("other"), coordinator_of(app, other).user.email)
    assert other_coordinator.get(f"/export/{export.id}/download").status_code == 404


# --- round trip ---------------------------------------------------------------------------------


def test_round_trip_export_then_import_as_a_new_group(app, admin, source):
    content = export_zip(app, admin, "source")
    form = {"name": "Source Copy", "slug": "copy", "default_locale": "en",
            "coordinator_email": "coordinator@source.example.org"}
    dry = admin.post("/network/import", data={
        **form, "members_file": (io.BytesIO(content), "source.zip"), "dry_run": "Check"})
    body = dry.get_data(as_text=True)
    assert 'id="import-ready"' in body, body[body.find("import-problems"):][:3000]
    assert "Transfers to replay: 5" in body and "skipped (not completed): 1" in body
    assert not db_has_group(app, "copy")
    done = admin.post("/network/import", data={
        **form, "members_file": (io.BytesIO(content), "source.zip"), "submit": "Import"})
    assert done.status_code == 302, done.get_data(as_text=True)
    assert balances(app, "copy") == balances(app, "source")
    assert completed_amounts(app, "copy") == completed_amounts(app, "source")
    with app.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == "copy"))
        assert verify_ledger(group_id=group_id) == []
        with group_context(group_id):
            coordinator = db.session.scalar(
                sa.select(Membership).join(User).where(User.email == "coordinator@source"
                                                       ".example.org"))
            assert coordinator.role == 40
            currency = ledger.default_currency()
            assert currency.default_min_balance == -1200
    assert audit_actions(app)[-1] == "group.import"


def db_has_group(app, slug: str) -> bool:
    with app.app_context():
        return db.session.scalar(sa.select(Group.id).where(Group.slug == slug)) is not None


# --- importing from another platform ------------------------------------------------------------

MEMBERS = (
    "email,name,balance,role\n"
    "lea@other.org,Léa Other,2:30,coordinator\n"
    "max@other.org,Max Other,-1.5,member\n"
    "noa@other.org,Noa Other,-1:00,\n"
)


def plan(app, members: str, transfers: str | None = None, **options):
    with app.app_context():
        result = importer.plan_import(
            members_data=members.encode(), transfers_data=transfers.encode() if transfers
            else None, name=options.pop("name", "Other Bank"), slug=options.pop("slug", "other"),
            coordinator_email=options.pop("coordinator_email", "lea@other.org"), **options)
        db.session.rollback()
        return result


def test_members_with_balances_are_imported_with_opening_transfers(app, outbox):
    before = row_counts(app)
    with app.app_context():
        ready = importer.plan_import(members_data=MEMBERS.encode(), name="Other Bank",
                                     slug="other", coordinator_email="lea@other.org")
        assert ready.is_valid, ready.problems
        assert ready.summary()["new_accounts"] == 3 and ready.summary()["opening_balances"] == 3
        importer.import_group(plan=ready)
        db.session.commit()
    assert balances(app, "other") == {"lea@other.org": 150, "max@other.org": -90,
                                      "noa@other.org": -60}
    assert row_counts(app)["groups"] == before["groups"] + 1
    assert outbox == []  # nobody is mailed about replayed transfers
    with app.app_context():
        lea = db.session.scalar(sa.select(User).where(User.email == "lea@other.org"))
        assert lea.name == "Léa Other" and lea.password_hash == importer.UNUSABLE_PASSWORD


NOTED: list[str] = []


def _note(text: str) -> None:
    """A job for the test below."""
    NOTED.append(text)


def test_only_the_jobs_recorded_while_importing_are_dropped(app):
    """The importer drops the ledger's mail with ``discard_new_jobs``; other jobs still run."""
    from timebank.tasks import discard_new_jobs, enqueue

    NOTED.clear()
    with app.app_context():
        enqueue(_note, "before")
        with discard_new_jobs():
            enqueue(_note, "inside")
        enqueue(_note, "after")
        db.session.commit()
    assert NOTED == ["before", "after"]


def test_history_is_replayed_with_its_dates(app):
    transfers = ("date,payer_email,payee_email,amount,description\n"
                 "2023-01-05,max@other.org,lea@other.org,1:30,Painting\n"
                 "2023-02-01T10:00:00+01:00,noa@other.org,lea@other.org,1.0,Soup\n"
                 "2023-03-01,,max@other.org,0:30,From the pot\n"
                 "2023-03-02,lea@other.org,,0:30,To the pot\n")
    members = "email,name\nlea@other.org,Léa\nmax@other.org,Max\nnoa@other.org,Noa\n"
    with app.app_context():
        ready = importer.plan_import(members_data=members.encode(),
                                     transfers_data=transfers.encode(), name="Other",
                                     slug="other", coordinator_email="lea@other.org")
        assert ready.is_valid, ready.problems
        group = importer.import_group(plan=ready)
        db.session.commit()
        with group_context(group.id):
            dates = sorted(t.created_at.date().isoformat()
                           for t in db.session.scalars(sa.select(Transfer)))
    assert dates == ["2023-01-05", "2023-02-01", "2023-03-01", "2023-03-02"]
    assert balances(app, "other") == {"lea@other.org": 120, "max@other.org": -60,
                                      "noa@other.org": -60}


BAD_INPUT = {
    "unknown column": ("email,name,balance,phone\na@x.org,A,0,123\n", None, "phone",
                       "Unknown column"),
    "non-numeric balance": ("email,name,balance\na@x.org,A,lots\nb@x.org,B,0\n", None,
                            "balance", "not a number"),
    "negative below the credit limit": ("email,name,balance\na@x.org,A,-25:00\nb@x.org,B,25\n",
                                        None, "balance", "below the credit limit"),
    "duplicate email": ("email,name,balance\na@x.org,A,1\nA@X.org,A again,-1\n", None, "email",
                        "Duplicate email"),
    "ledger not summing to zero": ("email,name,balance\na@x.org,A,1:00\nb@x.org,B,-0:30\n", None,
                                   "balance", "not zero"),
    "bad email": ("email,name,balance\nnot-an-email,A,0\n", None, "email", "not an email"),
    "missing column": ("email,balance\na@x.org,0\n", None, "name", "column is missing"),
    "not whole minutes": ("email,name,balance\na@x.org,A,0.001\nb@x.org,B,0\n", None, "balance",
                          "whole number of minutes"),
    "unknown payer": ("email,name\na@x.org,A\n",
                      "date,payer_email,payee_email,amount\n2023-01-01,z@x.org,a@x.org,1\n",
                      "payer_email", "No member has this email"),
    "negative transfer": ("email,name\na@x.org,A\nb@x.org,B\n",
                          "date,payer_email,payee_email,amount\n2023-01-01,a@x.org,b@x.org,-1\n",
                          "amount", "must be positive"),
    "future date": ("email,name\na@x.org,A\nb@x.org,B\n",
                    "date,payer_email,payee_email,amount\n2999-01-01,a@x.org,b@x.org,1\n",
                    "date", "in the future"),
    "balances contradict history": (
        "email,name,balance\na@x.org,A,0\nb@x.org,B,0\n",
        "date,payer_email,payee_email,amount\n2023-01-01,a@x.org,b@x.org,1\n",
        "balance", "does not match the transfers"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gets_a_clear_report_and_nothing_is_created(app, case):
    members, transfers, column, message = BAD_INPUT[case]
    before = row_counts(app)
    result = plan(app, members, transfers, coordinator_email="a@x.org")
    assert not result.is_valid
    assert any(p.column == column and message in p.message for p in result.problems), [
        str(p) for p in result.problems]
    with app.app_context():
        with pytest.raises(importer.ImportInvalid):
            importer.import_group(plan=result)
        db.session.rollback()
    assert row_counts(app) == before


def test_bad_address_and_coordinator_are_reported(app, make_group):
    make_group("taken")
    result = plan(app, MEMBERS, slug="taken", coordinator_email="ghost@other.org")
    columns = {p.column for p in result.problems}
    assert {"slug", "coordinator_email"} <= columns
    assert not plan(app, MEMBERS, slug="admin").is_valid


def test_not_utf8_and_empty_files_are_reported(app):
    with app.app_context():
        latin = importer.plan_import(members_data="email,name\né@x.org,É\n".encode("latin-1"),
                                     name="X", slug="x1", coordinator_email="a@x.org")
        empty = importer.plan_import(members_data=b"", name="X", slug="x1",
                                     coordinator_email="a@x.org")
    assert any("UTF-8" in p.message for p in latin.problems)
    assert any("empty" in p.message for p in empty.problems)


def test_address_taken_after_the_dry_run_leaves_nothing(app, make_group):
    with app.app_context():
        ready = importer.plan_import(members_data=MEMBERS.encode(), name="Other",
                                     slug="other", coordinator_email="lea@other.org")
        assert ready.is_valid
        db.session.commit()
    make_group("other")
    before = row_counts(app)
    with app.app_context():
        from timebank.provisioning.service import SlugTaken

        with pytest.raises(SlugTaken):
            importer.import_group(plan=ready)
        db.session.rollback()
    assert row_counts(app) == before


def test_import_report_in_the_console(app, admin):
    members = "email,name,balance,phone\na@x.org,A,xx,1\n"
    before = row_counts(app)
    page = admin.post("/network/import", data={
        "name": "X", "slug": "xbank", "default_locale": "en", "coordinator_email": "a@x.org",
        "members_file": (io.BytesIO(members.encode()), "members.csv"), "submit": "Import"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="import-problems"' in body
    assert "phone" in body and "not a number" in body
    assert row_counts(app) == before


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args, **kwargs):
        return runner.invoke(args=list(args), **kwargs)

    return invoke


def test_cli_suspend_reactivate_archive(app, cli, make_group):
    make_group("oak")
    result = cli("network", "suspend", "oak", "--reason", "audit")
    assert result.exit_code == 0 and "oak: suspended" in result.output
    assert cli("network", "suspend", "oak").exit_code == 1
    assert "oak: active" in cli("network", "reactivate", "oak").output
    assert "oak: archived" in cli("network", "archive", "oak").output
    assert cli("network", "suspend", "nowhere").exit_code == 1
    assert audit_actions(app) == ["group.suspend", "group.reactivate", "group.archive"]


def test_cli_export_then_import_dry_run_and_for_real(app, cli, source, tmp_path):
    zip_path = tmp_path / "source.zip"
    result = cli("network", "export", "source", "--output", str(zip_path))
    assert result.exit_code == 0, result.output
    assert "members.csv" in read_zip(zip_path.read_bytes())
    with app.app_context():  # recorded like a console export, the same bytes stored
        export_id = db.session.scalar(sa.select(GroupExport.id))
        assert b"".join(export_module.stored_chunks(export_id)) == zip_path.read_bytes()
    args = ("network", "import", "--members", str(zip_path), "--name", "Copy", "--slug",
            "copy", "--coordinator-email", "coordinator@source.example.org")
    dry = cli(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "transfers: 5" in dry.output and "nothing written" in dry.output
    assert not db_has_group(app, "copy")
    real = cli(*args)
    assert real.exit_code == 0, real.output
    assert balances(app, "copy") == balances(app, "source")


def test_cli_import_reports_problems_and_exits_1(app, cli, tmp_path):
    members = tmp_path / "members.csv"
    members.write_text("email,name,balance\na@x.org,A,1\na@x.org,B,-1\n")
    result = cli("network", "import", "--members", str(members), "--name", "X", "--slug", "xb",
                 "--coordinator-email", "a@x.org", "--dry-run")
    assert result.exit_code == 1
    assert "Duplicate email" in result.output and "nothing imported" in result.output


def test_cli_provisions_a_request(app, cli):
    from tests.signup_support import request_row
    from timebank.models import GroupRequest, utcnow

    with app.app_context():
        user = User(email="rose@example.org", name="Rose", password_hash="!x")
        db.session.add(user)
        db.session.flush()
        db.session.add(GroupRequest(
            token="t", name="Rowan", slug="rowan", default_locale="en", timezone="UTC",
            requester_id=user.id, requester_name="Rose", requester_email=user.email,
            status="pending", created_at=utcnow(), confirmed_at=utcnow()))
        db.session.commit()
    listed = cli("network", "requests", "--status", "pending")
    assert "rowan" in listed.output
    request_id = request_row(app, "rowan")["id"]
    result = cli("network", "provision", "--request", str(request_id))
    assert result.exit_code == 0, result.output
    assert f"request {request_id}: done" in result.output
    assert db_has_group(app, "rowan")
    direct = cli("network", "provision", "--name", "Hill", "--slug", "hill",
                 "--coordinator-email", "hana@example.org", "--coordinator-password", PASSWORD)
    assert direct.exit_code == 0 and "created hill" in direct.output


def test_cli_check_ledgers(app, cli, make_group):
    make_group("oak")
    result = cli("network", "check-ledgers")
    assert result.exit_code == 0 and "1 group(s) checked, 0 with problems" in result.output


@pytest.mark.concurrency
@pytest.mark.skipif(not __import__("os").environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_export_job_on_a_real_worker(committing_app, monkeypatch, make_group, make_member,
                                     make_transfer):
    """Built by an rq worker process in a repeatable-read snapshot, progress written aside."""
    from tests.test_signup_worker import run_workers
    from timebank.portability.export import request_export
    from timebank.tasks import queue

    monkeypatch.setitem(committing_app.config, "JOBS_SYNC", False)
    queue(committing_app).empty()
    group = make_group("source")
    make_transfer(make_member(group, email="ann@example.org"),
                  make_member(group, email="ben@example.org"), 75)
    with committing_app.app_context():
        export = request_export(group=db.session.get(Group, group.id), requested_by=None)
        db.session.commit()
        export_id = export.id
    run_workers()
    with committing_app.app_context():
        export = db.session.get(GroupExport, export_id)
        assert export.status.value == "done" and export.progress == 100, export.error
        members = rows(read_zip(b"".join(export_module.stored_chunks(export_id)))["members.csv"])
    assert {m["email"]: m["balance"] for m in members}["ben@example.org"] == "1:15"


def test_the_export_reads_in_one_snapshot_with_the_tenant_settings_sent(committing_app,
                                                                        make_group):
    """The snapshot begins the transaction at repeatable read even when the tenant settings
    go first (a group's context set): a ``SET TRANSACTION`` after them was refused."""
    from timebank.portability.jobs import _snapshot
    from timebank.tenants import group_context

    group = make_group("source")
    with committing_app.app_context(), group_context(group.id):
        _snapshot()
        level = db.session.scalar(sa.text("SHOW transaction_isolation"))
        db.session.rollback()
        after = db.session.scalar(sa.text("SHOW transaction_isolation"))
        db.session.rollback()
    assert (level, after) == ("repeatable read", "read committed")

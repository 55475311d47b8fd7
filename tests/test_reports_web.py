"""Issue 20, reports: the coordinator's page, CSV and PDF; the range form's errors; who may
see them (coordinators and treasurers; not a member, not another group's coordinator, not a
visitor); the network admin's
report across groups and each group's report from the console."""

import csv
import html as html_text
import io
import json
import os
import re
import zlib

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of, walk_pager
from tests.reports_support import build_orchard, pay_at, utc
from timebank.extensions import db
from timebank.models import Group
from timebank.reports import export

RANGE = {"start": "2026-01-01", "end": "2026-03-31"}


@pytest.fixture
def orchard(app, make_group, make_member):
    return build_orchard(app, make_group, make_member)


@pytest.fixture
def coordinator_client(app, orchard, client_for, login):
    return login(client_for("orchard"), coordinator_of(app, orchard.group).user.email)


def _chart(html: str, chart_id: str) -> dict:
    match = re.search(r'<script type="application/json" data-chart-for="' + chart_id
                      + r'">(.*?)</script>', html, re.S)
    assert match, chart_id
    return json.loads(match.group(1))


def test_the_coordinator_reads_the_report_with_charts_and_tables(app, orchard,
                                                                   coordinator_client):
    response = coordinator_client.get("/reports", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    hours = _chart(html, "chart-exchanged-" + re.search(
        r'data-chart-for="chart-exchanged-(\d+)"', html).group(1))
    assert hours["labels"] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert hours["datasets"][0]["data"] == [2, 1, -0.25]
    assert hours["datasets"][0]["display"] == ["2:00 h", "1:00 h", "-0:15 h"]
    assert _chart(html, "chart-members")["datasets"][0]["data"] == [2, 2, 2]
    assert 'id="exchanged-HOUR"' in html and "January 2026" in html  # the table beside it
    assert re.search(r'id="summary-idle">2<', html)
    assert "Most offered: Garden. Most wanted: Garden." in html
    assert "<script>" not in html  # data blocks and files only (the CSP)
    assert 'src="/static/reports-chart.js"' in html


def test_the_report_is_reachable_from_the_menu_and_the_dashboard(app, orchard,
                                                                 coordinator_client):
    html = coordinator_client.get("/coordinator").get_data(as_text=True)
    assert 'href="/reports" id="nav-activity-report"' in html
    assert 'href="/reports" id="dashboard-report"' in html
    report = coordinator_client.get("/reports").get_data(as_text=True)
    assert 'id="download-pdf"' in report and 'id="download-csv"' in report


def test_the_default_range_is_the_last_twelve_months(app, orchard, coordinator_client):
    html = coordinator_client.get("/reports").get_data(as_text=True)
    labels = _chart(html, "chart-members")["labels"]
    assert len(labels) == 12


@pytest.mark.parametrize("query, field, message", [
    ({"start": "2026-03-01", "end": "2026-02-01"}, "end", "The end must not be before the start."),
    ({"start": "2024-02-30", "end": "2026-02-01"}, "start", "Not a valid date value."),
    ({"start": "0001-01-01"}, "start", "Choose a day between"),
    ({"end": "9999-12-31"}, "end", "Choose a day between"),
    ({"start": "1990-01-01", "end": "2026-01-01"}, "end", "Choose at most 25 years."),
    ({"start": "1990-01-01"}, "end", "Choose at most 25 years."),
])
@pytest.mark.parametrize("path", ["/reports", "/reports.csv", "/reports.pdf"])
def test_a_bad_range_is_a_form_error_next_to_the_field(app, orchard, coordinator_client, path,
                                                       query, field, message):
    response = coordinator_client.get(path, query_string=query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    feedback = re.search(r'id="' + field + r'"[^>]*>.*?invalid-feedback[^>]*>([^<]*)<', html,
                         re.S)
    assert feedback and message in feedback.group(1), html[html.find('id="' + field):][:600]


def test_the_csv_holds_every_table_with_plain_numbers(app, orchard, coordinator_client):
    response = coordinator_client.get("/reports.csv", query_string=RANGE)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="report-orchard-2026-01-01-2026-03-31.csv"' in (
        response.headers["Content-Disposition"])
    assert "no-store" in response.headers.get("Cache-Control", "")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Activity report: Orchard Timebank"]
    assert ["January 2026", "HOUR", "2", "2"] not in rows  # machine months
    assert ["2026-01", "HOUR", "2", "2"] in rows
    assert ["2026-03", "HOUR", "-0.25", "0"] in rows
    assert ["Garden", "HOUR", "2", "2.25"] in rows
    assert ["Garden", "1", "2"] in rows
    assert ["Members who haven't traded"] in rows
    assert ["Dan", "2026-02-15"] in rows


def _pdf_title(body: bytes) -> str:
    """The document's /Title: a literal (Latin-1) or hexadecimal UTF-16 string."""
    match = re.search(rb"/Title (?:<feff([0-9a-f]+)>|\((.*?)\)\n)", body, re.S)
    if match.group(1):
        return bytes.fromhex(match.group(1).decode()).decode("utf-16-be")
    return re.sub(rb"\\([()\\])", rb"\1", match.group(2)).decode("latin-1")


def _report_pdf(client, language: str) -> bytes:
    """The activity report's PDF for RANGE, read in ``language``; checks it is a whole PDF."""
    assert client.post(f"/language/{language}").status_code == 302
    response = client.get("/reports.pdf", query_string=RANGE)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    body = response.get_data()
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    return body


@pytest.mark.parametrize("language, title", [
    ("en", "Activity report: Orchard Timebank"), ("ca", "Informe d’activitat"),
    ("de", "Aktivitätsbericht"), ("ar", "تقرير النشاط")])
def test_the_pdf_is_a_pdf_in_the_readers_language(app, orchard, coordinator_client, language,
                                                   title):
    body = _report_pdf(coordinator_client, language)
    assert b"DejaVuSans" in body  # the embedded font (Latin accents and Arabic)
    assert _pdf_title(body).startswith(title)


@pytest.mark.parametrize("path", ["/reports", "/reports.csv", "/reports.pdf"])
def test_only_the_groups_coordinators_and_treasurers_see_reports(app, orchard, make_group,
                                                                 make_member, client_for, login,
                                                                 path):
    assert client_for("orchard").get(path).status_code == 302  # to the login page
    treasurer = login(client_for("orchard"),
                      make_member(orchard.group, name="Tess", role="treasurer").user.email)
    assert treasurer.get(path).status_code == 200
    assert 'href="/reports" id="nav-activity-report"' in treasurer.get("/dashboard").get_data(
        as_text=True)
    member = login(client_for("orchard"), orchard.ann.user.email)
    assert member.get(path).status_code == 403
    assert 'id="nav-activity-report"' not in member.get("/").get_data(as_text=True)
    other = make_group("quince")
    stranger = login(client_for("quince"), coordinator_of(app, other).user.email)
    assert stranger.get(path).status_code == 200  # their own group's report...
    if path == "/reports":
        assert "Orchard" not in stranger.get(path).get_data(as_text=True)
    # ...but orchard's is not theirs: logged in on orchard's site they are no member.
    stranger_at_orchard = login(client_for("orchard"), coordinator_of(app, other).user.email)
    response = stranger_at_orchard.get(path)
    assert response.status_code == 302 and response.location.endswith("/join")


def test_the_network_admin_sees_every_group_and_the_totals(app, orchard, make_group,
                                                           make_member, make_network_admin,
                                                           client_for, login):
    other = make_group("quince")
    xena, yuri = make_member(other, name="Xena"), make_member(other, name="Yuri")
    pay_at(app, xena, yuri, 600, utc(2026, 2, 3, 12))
    make_network_admin("admin@example.org")
    admin = login(client_for(None), "admin@example.org")
    html = admin.get("/network/").get_data(as_text=True)
    assert 'href="/network/reports" id="nav-network-report"' in html
    response = admin.get("/network/reports", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    orchard_row = re.search(r'id="network-group-orchard">(.*?)</tr>', html, re.S).group(1)
    quince_row = re.search(r'id="network-group-quince">(.*?)</tr>', html, re.S).group(1)
    total = re.search(r'id="network-total"[^>]*>(.*?)</tr>', html, re.S).group(1)
    cells = lambda row: re.findall(r'<td class="text-end">([^<]*)</td>', row)  # noqa: E731
    assert cells(orchard_row)[:2] == ["2", "2"]  # in UTC: 90 + 30 + 60 - 60 minutes, 2 trades
    assert cells(quince_row)[:2] == ["10", "1"]
    assert cells(total)[:2] == ["12", "3"]
    assert _chart(html, "chart-network-months")["datasets"][0]["data"] == [1.5, 11.5, -1]
    rows = list(csv.reader(io.StringIO(
        admin.get("/network/reports.csv", query_string=RANGE).get_data(as_text=True))))
    assert ["Network", "12", "3", "7", "5", "3", "2"] in rows or any(
        row[:3] == ["Network", "12", "3"] for row in rows)
    assert admin.get("/network/reports.pdf", query_string=RANGE).get_data().startswith(b"%PDF")
    # One group's full report, in that group's time zone, from the console.
    assert 'href="/network/reports/groups/orchard"' in html
    group_page = admin.get("/network/reports/groups/orchard", query_string=RANGE)
    assert group_page.status_code == 200
    assert _chart(group_page.get_data(as_text=True), "chart-members")["datasets"][0][
        "data"] == [2, 2, 2]
    download = admin.get("/network/reports/groups/orchard/report.csv", query_string=RANGE)
    assert ["2026-01", "HOUR", "2", "2"] in list(csv.reader(io.StringIO(
        download.get_data(as_text=True))))
    assert admin.get("/network/reports/groups/nowhere").status_code == 404


@pytest.mark.parametrize("path", [
    "/network/reports", "/network/reports.pdf", "/network/reports/groups/orchard",
    # The pager's shapes: a range with either key.
    "/network/reports?start=2026-01-01&end=2026-03-31&before=1",
    "/network/reports?start=2026-01-01&end=2026-03-31&after=1",
    "/network/reports.csv?start=2026-01-01&end=2026-03-31&before=1",
])
def test_the_network_report_is_for_network_admins_only(app, orchard, client_for, login, path):
    visitor = client_for(None).get(path)
    assert visitor.status_code == 302 and "/login" in visitor.location
    coordinator = login(client_for(None), coordinator_of(app, orchard.group).user.email)
    member = login(client_for(None), orchard.ann.user.email)
    for response in (visitor, coordinator.get(path), member.get(path)):
        body = response.get_data(as_text=True)
        assert 'id="network-group-' not in body and 'id="network-total"' not in body
        assert "Network hours exchanged" not in body and not body.startswith("%PDF")
    assert coordinator.get(path).status_code == 403
    assert member.get(path).status_code == 403
    assert client_for("orchard").get(path).status_code == 404  # not on a group's site


def _pdf_drawing(body: bytes) -> bytes:
    """The PDF's page drawing operators (its compressed content streams, inflated)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
    return b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_pdf_draws_a_bar_chart_of_what_was_exchanged(app, orchard, coordinator_client,
                                                         language):
    body = _report_pdf(coordinator_client, language)
    drawing = _pdf_drawing(body)
    bars = (" ".join(f"{c / 255:.4f}".rstrip("0") for c in export.BAR_COLOUR) + " rg").encode()
    after_colour = drawing.split(bars, 1)
    assert len(after_colour) == 2, "the bars' fill colour is set"
    # Three months of hours (2:00, 1:00, -0:15): three filled rectangles in the bars' colour.
    assert after_colour[1].split(b" rg", 1)[0].count(b" re f") >= 3


# --- the network report a page of groups at a time ----------------------------------------------

NETWORK_REPORT = "/network/reports?start=2026-01-01&end=2026-03-31"
GROUP_ROW = r'id="network-group-([\w-]+)"'


def _row_cells(page: str, row_id: str) -> list[str]:
    row = re.search(r'id="' + row_id + r'"[^>]*>(.*?)</tr>', page, re.S).group(1)
    return re.findall(r'<td class="text-end">([^<]*)</td>', row)


@pytest.fixture
def network(app, orchard, make_group, make_member):
    """Five groups, by name case-insensitively: apple, banana (named in lower case), mango,
    orchard, quince. Quince trades 10 hours in RANGE and 2 more after it."""
    quince = make_group("quince")
    xena, yuri = make_member(quince, name="Xena"), make_member(quince, name="Yuri")
    pay_at(app, xena, yuri, 600, utc(2026, 2, 3, 12))
    pay_at(app, yuri, xena, 120, utc(2026, 4, 15, 12))  # after RANGE
    for slug in ("mango", "banana", "apple"):
        make_group(slug)
    with app.app_context():
        db.session.execute(sa.update(Group).where(Group.slug == "banana")
                           .values(name="banana co-op"))
        db.session.commit()
    return ["apple", "banana", "mango", "orchard", "quince"]


@pytest.fixture
def network_admin(make_network_admin, client_for, login):
    make_network_admin("admin@example.org")
    return login(client_for(None), "admin@example.org")


def test_the_network_report_lists_a_page_of_groups_by_name_paged_by_key(
        app, network, network_admin, monkeypatch):
    monkeypatch.setitem(app.config, "NETWORK_REPORT_GROUPS_PER_PAGE", 3)
    first = network_admin.get(NETWORK_REPORT)
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert re.findall(GROUP_ROW, page) == ["apple", "banana", "mango"]
    assert 'href="/network/reports/groups/banana"' in page  # each group's own report
    assert 'rel="prev"' not in page
    next_link = html_text.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    assert re.search(r'rel="next" href="[^"]*">Next</a>', page)  # not "Older": by name
    assert "start=2026-01-01" in next_link and "end=2026-03-31" in next_link
    second = network_admin.get(next_link).get_data(as_text=True)
    assert re.findall(GROUP_ROW, second) == ["orchard", "quince"]
    assert 'rel="next"' not in second
    assert re.search(r'rel="prev" href="[^"]*start=2026-01-01[^"]*">Previous</a>', second)
    # The range went along: quince's trade after RANGE is not counted.
    assert _row_cells(second, "network-group-quince")[:2] == ["10", "1"]
    assert _row_cells(second, "network-group-orchard")[:2] == ["2", "2"]
    assert walk_pager(network_admin, NETWORK_REPORT, GROUP_ROW) == [
        ["apple", "banana", "mango"], ["orchard", "quince"]]
    # Without a range the links carry the default one (the last twelve months), as dates.
    default = network_admin.get("/network/reports").get_data(as_text=True)
    assert re.search(r'rel="next" href="/network/reports\?[^"]*start=\d{4}-\d\d-01', default)


def test_every_page_shows_the_whole_networks_totals(app, network, network_admin,
                                                    monkeypatch):
    monkeypatch.setitem(app.config, "NETWORK_REPORT_GROUPS_PER_PAGE", 2)
    pages = walk_pager(network_admin, NETWORK_REPORT, GROUP_ROW)
    assert [slug for page in pages for slug in page] == network and len(pages) == 3
    sums = [0] * 6
    link, totals, charts = NETWORK_REPORT, [], []
    while link:
        page = network_admin.get(link).get_data(as_text=True)
        totals.append(_row_cells(page, "network-total"))
        charts.append(_chart(page, "chart-network-months")["datasets"][0]["data"])
        for slug in re.findall(GROUP_ROW, page):
            sums = [a + int(b) for a, b in zip(sums, _row_cells(page, "network-group-" + slug),
                                               strict=True)]
        found = re.search(r'rel="next" href="([^"]+)"', page)
        link = html_text.unescape(found.group(1)) if found else None
    assert totals[0] == totals[1] == totals[2]  # not the page's
    assert totals[0] == [str(value) for value in sums]  # every group's lines added up
    assert totals[0][:2] == ["12", "3"]
    assert charts == [[1.5, 11.5, -1]] * 3  # the whole network's months on every page
    # The CSV still lists every group (not a page), by name, with the same totals.
    rows = list(csv.reader(io.StringIO(network_admin.get(
        "/network/reports.csv?start=2026-01-01&end=2026-03-31").get_data(as_text=True))))
    header = rows.index(next(row for row in rows if row[:1] == ["Timebank"]))
    assert [row[0] for row in rows[header + 1:header + 7]] == [
        "Apple Timebank", "banana co-op", "Mango Timebank", "Orchard Timebank",
        "Quince Timebank", "Network"]
    assert rows[header + 6][1:] == totals[0]


def test_a_network_report_page_costs_the_same_statements_however_many_groups(
        app, orchard, make_group, make_member, network_admin, count_queries, monkeypatch):
    monkeypatch.setitem(app.config, "NETWORK_REPORT_GROUPS_PER_PAGE", 2)
    make_group("apple"), make_group("banana")

    def statements(url: str) -> list[str]:
        with count_queries() as counter:
            response = network_admin.get(url)
            assert response.status_code == 200
            response.get_data()
        return counter.statements

    network_admin.get(NETWORK_REPORT)  # warm up: session, locale, caches
    few = statements(NETWORK_REPORT)
    for number in range(6):
        group = make_group(f"busy{number}")
        ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
        pay_at(app, ann, ben, 30 + number, utc(2026, 2, 1 + number, 12))
    network_admin.get(NETWORK_REPORT)
    many = statements(NETWORK_REPORT)
    page = network_admin.get(NETWORK_REPORT).get_data(as_text=True)
    deeper = html_text.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    deep = statements(deeper)
    back = html_text.unescape(re.search(
        r'rel="prev" href="([^"]+)"', network_admin.get(deeper).get_data(as_text=True)).group(1))
    # The page's groups, their hours, their member counts, the network's months, the network's
    # member counts; without Redis the process keeps no login and reads it too (test_page_costs).
    budget = 5 if os.environ.get("REDIS_URL") else 6
    assert len(few) == len(many) == len(deep) == len(statements(back)) == budget, many
    # The page's figures are read for its groups only.
    narrowed = [s for s in many if re.search(r"\.group_id IN \(", s)]
    assert len(narrowed) == 2, many


@pytest.mark.parametrize("query", [
    "before=a%00b", "after=a%00b", "before=99999999999999999999999",
    "after=-99999999999999999999999", "before=x", "after=", "before=%FF%FEab",
    "before=1.5", "after=1e3", "before=0&after=0", "before=-1",
    "before=%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7%D9%A8%D9%A9",  # Arabic-Indic digits
])
def test_bad_paging_keys_are_ignored_or_refused_never_a_500(app, network, network_admin,
                                                            monkeypatch, query):
    monkeypatch.setitem(app.config, "NETWORK_REPORT_GROUPS_PER_PAGE", 3)
    response = network_admin.get(f"{NETWORK_REPORT}&{query}")
    assert response.status_code in {200, 400, 404}
    if response.status_code == 200:  # ignored: the first page
        assert re.findall(GROUP_ROW, response.get_data(as_text=True)) == network[:3]
    download = network_admin.get(f"/network/reports.csv?start=2026-01-01&end=2026-03-31&{query}")
    assert download.status_code in {200, 400}  # downloads ignore the keys (NUL: refused)

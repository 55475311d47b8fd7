"""Issue 20, reports: the coordinator's page, CSV and PDF; the range form's errors; who may
see them (coordinators and treasurers; not a member, not another group's coordinator, not a
visitor); the network admin's
report across groups and each group's report from the console."""

import csv
import io
import json
import re
import zlib

import pytest

from tests.conftest import coordinator_of
from tests.reports_support import build_orchard, pay_at, utc
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


@pytest.mark.parametrize("path", ["/network/reports", "/network/reports.pdf",
                                  "/network/reports/groups/orchard"])
def test_the_network_report_is_for_network_admins_only(app, orchard, client_for, login, path):
    assert client_for(None).get(path).status_code == 302
    coordinator = login(client_for(None), coordinator_of(app, orchard.group).user.email)
    assert coordinator.get(path).status_code == 403
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

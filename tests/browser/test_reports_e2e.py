"""End to end in Chromium (issue 20): a coordinator opens the activity report from the Manage
menu, sees this month's hours drawn in a chart (Chart.js ran under the CSP, with the data), and
downloads the PDF."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_menu, watch_assets
from tests.conftest import coordinator_of

pytestmark = pytest.mark.browser

SLUG = "hazelwood"


def test_the_coordinator_sees_this_months_hours_and_downloads_the_pdf(
        app, live_server, new_context, make_group, make_member, make_transfer, browser_login,
        screenshot):
    group = make_group(SLUG)
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    make_transfer(ann, ben, 90, "Pruning")  # this month: 1:30 h

    page = new_context(accept_downloads=True).new_page()
    failed_assets = watch_assets(page)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)  # CSP, script errors
    browser_login(page, coordinator_of(app, group).user.email, slug=SLUG)
    open_the_report(page, "Hazelwood Timebank", hours=1.5, shown="1:30 h")
    screenshot(page, "reports-coordinator")
    download_the_pdf(page, SLUG)
    assert failed_assets == [] and console_errors == []


def open_the_report(page, group_name: str, *, hours: float, shown: str) -> None:
    """From any page of the group, as its coordinator: Manage → Activity report; check that
    this month's bar of the exchanged-hours chart is drawn with ``hours`` (shown as ``shown``)
    and that the table beside the chart says the same."""
    open_menu(page, "Manage")
    page.get_by_role("link", name="Activity report").click()
    expect(page).to_have_url(re.compile(r"/reports$"))
    expect(page.get_by_role("heading", name=f"Activity report: {group_name}")).to_be_visible()
    canvas = page.locator("canvas[id^='chart-exchanged-']")
    expect(canvas).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector(\"canvas[id^='chart-exchanged-']\").chart !== undefined")
    drawn = canvas.evaluate("""c => ({
        width: c.width, data: c.chart.data.datasets[0].data,
        shown: c.chart.data.datasets[0].display, labels: c.chart.data.labels,
        painted: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)
            .some(value => value !== 0)})""")
    assert drawn["width"] > 0 and drawn["painted"]
    assert len(drawn["labels"]) == 12 and drawn["data"][-1] == hours  # this month, in hours
    assert drawn["shown"][-1] == shown
    expect(page.locator("table[id^='exchanged-'] tbody tr").last).to_contain_text(shown)


def download_the_pdf(page, slug: str) -> None:
    """Click "Download PDF" on the report page; the file is a PDF named after the range."""
    with page.expect_download() as info:
        page.locator("#download-pdf").click()
    download = info.value
    assert re.fullmatch(rf"report-{slug}-\d{{4}}-\d\d-\d\d-\d{{4}}-\d\d-\d\d\.pdf",
                        download.suggested_filename)
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

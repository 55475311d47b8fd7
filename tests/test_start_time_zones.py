"""The time zone on "Start a timebank" (issue 17): the zones of the browser's country first
(from ``Accept-Language``), the first of them chosen; the picker script adds a search box and
this device's zone (static/js/timezone_picker.js, driven in tests/browser)."""

import re

from tests.signup_support import request_row, start_form


def _time_zone_select(html: str) -> str:
    return re.search(r'<select[^>]*id="timezone".*?</select>', html, re.S).group(0)


def _chosen(select: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in re.finditer(
        r'<option selected value="([^"]+)"|<option value="([^"]+)" selected', select)]


def test_a_british_browser_gets_british_zones_first_and_the_picker(client_for):
    html = client_for(None).get("/start", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    select = _time_zone_select(html)
    likely = select.split('label="Likely time zones"')[1].split("</optgroup>")[0]
    assert 'value="Europe/London"' in likely and "America/" not in likely
    assert _chosen(select)[:1] == ["Europe/London"]
    assert 'data-timezone-picker="1"' in select and 'data-prefer-browser="1"' in select
    assert 'data-search-label="Search time zones"' in select
    assert "js/timezone_picker.js" in html


def test_a_browser_naming_no_country_gets_every_zone_from_utc(client_for):
    select = _time_zone_select(client_for(None).get(
        "/start", headers={"Accept-Language": "fr"}).text)
    assert 'label="Likely time zones"' not in select
    assert _chosen(select) == ["UTC"]


def test_any_zone_may_be_chosen_and_a_refused_form_keeps_it(app, client_for):
    apex = client_for(None)
    refused = apex.post("/start", data=start_form(timezone="Asia/Tokyo", confirm="different"),
                        headers={"Accept-Language": "en-GB"})
    assert refused.status_code == 200
    select = _time_zone_select(refused.text)
    assert "Asia/Tokyo" in _chosen(select) and 'data-prefer-browser' not in select
    response = apex.post("/start", data=start_form(timezone="Asia/Tokyo"),
                         headers={"Accept-Language": "en-GB"})
    assert response.status_code == 302
    assert request_row(app, "willow")["timezone"] == "Asia/Tokyo"

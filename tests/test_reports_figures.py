"""Issue 20, reports: every figure over a small known ledger, each compared with the Entry
rows; the range's edges in the group's time zone; an empty range; the network's totals; a
fixed number of queries whatever the size of the ledger."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.reports_support import (
    END,
    START,
    ZONE,
    balances_from_entries,
    build_orchard,
    exchanged_from_entries,
    pay_at,
    utc,
)
from timebank.extensions import db
from timebank.reports import figures, summary
from timebank.reports.figures import DateRange
from timebank.tenants import group_context

RANGE = DateRange(START, END, ZONE)


@pytest.fixture
def orchard(app, make_group, make_member):
    return build_orchard(app, make_group, make_member)


def _report(app, group, rng=RANGE):
    with app.app_context(), group_context(group.id):
        report = summary.group_report(rng)
        for currency in report.currencies:
            currency.subunits_per_unit  # load before the session closes
        return report


def test_exchanged_per_month_equals_the_entries(app, orchard):
    report = _report(app, orchard.group)
    [hours] = report.exchanged
    by_month = {month: (amount, trades) for month, amount, trades in hours.months}
    assert by_month == {date(2026, 1, 1): (120, 2), date(2026, 2, 1): (60, 1),
                        date(2026, 3, 1): (-15, 0)}
    direct = exchanged_from_entries(app, orchard.group, START, END)
    assert {m: v for m, v in by_month.items() if v != (0, 0)} == direct
    assert (hours.amount, hours.trades) == (165, 3)


def test_members_active_new_and_idle(app, orchard):
    report = _report(app, orchard.group)
    assert report.members == [(date(2026, 1, 1), 2, 0), (date(2026, 2, 1), 2, 1),
                              (date(2026, 3, 1), 2, 0)]
    totals = report.totals
    # Members at the end: the coordinator, Ann, Ben, Cleo, Dan; traded: Ann, Ben, Cleo.
    assert (totals.members, totals.active, totals.new, totals.idle) == (5, 3, 1, 2)
    assert sorted(member.name for member in report.idle) == ["Coordinator Orchard", "Dan"]


def test_trades_by_category_follow_the_workers_offers(app, orchard):
    report = _report(app, orchard.group)
    rows = {(row.name, row.trades, row.amount) for row in report.categories}
    # Ben (Garden, then Repairs too) was paid 90 in January and 45 in March: Garden twice,
    # Repairs once; Ann's 30 and Cleo's 60 (reversed) had no offer behind them.
    assert rows == {("Garden", 2, 135), ("Repairs", 1, 45), (None, 1, 30)}


def test_most_offered_and_most_wanted_categories(app, orchard):
    report = _report(app, orchard.group)
    offered = [(row.name, row.offers, row.wants) for row in report.ads]
    assert offered == [("Garden", 1, 2), ("Repairs", 1, 1)]  # Ben's Garden offer: December
    assert [row.name for row in report.most_wanted] == ["Garden", "Repairs"]


def test_balance_distribution_equals_the_entries(app, orchard):
    report = _report(app, orchard.group)
    [distribution] = report.distributions
    upper = datetime.combine(END + timedelta(days=1), time.min, ZoneInfo(ZONE))
    balances = balances_from_entries(app, orchard.group, upper)
    assert sorted(balances.values()) == [-80, -45, 0, 0, 225]
    for bucket in distribution.buckets:
        assert bucket.accounts == sum(bucket.low <= b < bucket.high for b in balances.values())
    assert distribution.accounts == len(balances)
    assert [(b.low, b.high, b.accounts) for b in distribution.buckets] == [
        (-120, -60, 1), (-60, 0, 1), (0, 60, 2), (60, 120, 0), (120, 180, 0), (180, 240, 1)]


@pytest.mark.parametrize("start, end, expected", [
    # 31 January 23:00 in Los Angeles (1 February 07:00 UTC) is in January there.
    (date(2026, 1, 31), date(2026, 1, 31), {date(2026, 1, 1): (30, 1)}),
    (date(2026, 2, 1), date(2026, 2, 1), {}),
    # 31 March 23:30 PDT is in; 1 April 00:30 PDT is out.
    (date(2026, 3, 31), date(2026, 3, 31), {date(2026, 3, 1): (45, 1)}),
    (date(2026, 4, 1), date(2026, 4, 1), {date(2026, 4, 1): (15, 1)}),
    (date(2030, 1, 1), date(2030, 12, 31), {}),
])
def test_range_edges_are_days_in_the_groups_time_zone(app, orchard, start, end, expected):
    report = _report(app, orchard.group, DateRange(start, end, ZONE))
    got = {month: (amount, trades) for month, amount, trades in report.exchanged[0].months
           if (amount, trades) != (0, 0)}
    assert got == expected == exchanged_from_entries(app, orchard.group, start, end)


def test_an_empty_range_has_zero_everywhere(app, orchard):
    report = _report(app, orchard.group, DateRange(date(2030, 1, 1), date(2030, 2, 28), ZONE))
    assert [m[1:] for m in report.exchanged[0].months] == [(0, 0), (0, 0)]
    assert report.categories == [] and report.ads == []
    assert report.totals.active == 0 and report.totals.new == 0
    assert report.totals.members == 5  # everyone joined before 2030: all idle
    assert len(report.idle) == 5


def test_another_groups_ledger_stays_out_and_the_network_adds_both(app, orchard, make_group,
                                                                   make_member):
    other = make_group("quince")
    xena, yuri = make_member(other, name="Xena"), make_member(other, name="Yuri")
    pay_at(app, xena, yuri, 600, utc(2026, 2, 3, 12))
    report = _report(app, orchard.group)
    assert report.exchanged[0].amount == 165
    assert "Xena" not in {m.name for m in report.idle}
    utc_range = DateRange(START, END, "UTC")
    with app.app_context():
        network = summary.network_report(utc_range)
        rows = {row.group.slug: row for row in network.groups}
    # In UTC the 30 of 1 February 07:00 is February's; the hour is the network hour.
    orchard_direct = sum(a for a, _t in exchanged_from_entries(
        app, orchard.group, START, END, zone="UTC").values())
    assert orchard_direct == 90 + 30 + 60 - 60
    assert rows["orchard"].hours == orchard_direct / 60
    assert rows["quince"].hours == 10 and rows["quince"].trades == 1
    assert network.hours == rows["orchard"].hours + 10
    assert network.total("active") == 3 + 2
    february = dict((month, hours) for month, hours, _n in network.months)[date(2026, 2, 1)]
    assert february == (30 + 60 + 600) / 60


def test_a_report_costs_the_same_queries_however_long_the_ledger(app, make_group, make_member,
                                                                 count_queries):
    group = make_group("busy")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    rng = DateRange(date(2026, 1, 1), date(2026, 12, 31), "UTC")

    def queries() -> int:
        with app.app_context(), group_context(group.id):
            db.session.expire_all()
            with count_queries() as counter:
                summary.group_report(rng)
            return counter.count

    pay_at(app, ann, ben, 30, utc(2026, 1, 2))
    few = queries()
    for day in range(1, 60):
        pay_at(app, ben if day % 2 else ann, ann if day % 2 else ben, 30,
               utc(2026, 1, 2) + timedelta(days=day * 5))
    assert queries() == few <= 10


def test_bucket_widths_are_round_and_few():
    assert figures.bucket_width(-45, 225, 60) == 60
    assert figures.bucket_width(0, 0, 60) == 60
    assert figures.bucket_width(-1200, 6000, 60) == 20 * 60  # 120 hours in 7 buckets
    assert figures.bucket_width(-5, 5, 100) == 100

"""The console's figures per group are stored (``group_figures``): a new group has its row, the
job recomputes them, and sorting by any figure reads that figure's index in order."""

import pytest
import sqlalchemy as sa

from tests.test_console import _busy_group, refresh_figures, table
from timebank.extensions import db
from timebank.models import Group, GroupFigures, LedgerCheck, utcnow
from timebank.provisioning import overview
from timebank.tenants import all_groups


def test_a_new_group_has_figures_and_the_job_recomputes_them(app, make_group, make_member,
                                                             make_transfer):
    quiet = make_group("quiet")
    with app.app_context(), all_groups():
        row = db.session.get(GroupFigures, quiet.id)
        assert (row.members, row.transfers, row.hours) == (0, 0, 0)
    _busy_group(make_group, make_member, make_transfer, "alder", trades=2)
    _busy_group(make_group, make_member, make_transfer, "birch", trades=3)
    refresh_figures(app)
    rows, total = table(app, sort="transfers", descending=True)
    assert total == 3
    assert [(r.slug, r.transfers) for r in rows] == [("birch", 3), ("alder", 2), ("quiet", 0)]
    rows, _ = table(app, sort="transfers", descending=False)
    assert [r.slug for r in rows] == ["quiet", "alder", "birch"]
    assert [r.members for r in table(app, sort="members", descending=True)[0]][0] == 3
    with app.app_context():  # one group's page computes its figures live
        assert overview.group_row(quiet.id).members == 1


# Each sort that reads a stored figure or check, and the index it must scan in order.
INDEXED_SORTS = {**{sort: f"ix_group_figures_{sort}" for sort in overview.FIGURES},
                 "health": "ix_ledger_checks_problem_count"}


@pytest.mark.parametrize("sort", INDEXED_SORTS)
def test_sorting_by_a_figure_or_health_is_a_scan_of_its_index(app, make_group, sort):
    make_group("oak")
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "group_figures" in statement and "LIMIT" in statement:
            captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            for descending in (True, False):
                overview.groups_page(sort=sort, descending=descending)
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
        assert len(captured) == 2
        db.session.execute(sa.text("SET LOCAL enable_sort = off"))
        connection = db.session.connection()
        for statement, parameters in captured:
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(
                "EXPLAIN " + statement, parameters))
            assert INDEXED_SORTS[sort] in plan, plan
            assert "Sort" not in plan.replace("Sort Key", ""), plan


def _set_checks(app, problems_by_slug: dict[str, int | None]) -> None:
    with app.app_context(), all_groups():
        for slug, problems in problems_by_slug.items():
            group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == slug))
            check = db.session.get(LedgerCheck, group_id)
            check.problem_count = problems
            check.checked_at = None if problems is None else utcnow()
        db.session.commit()


def test_sorted_by_health_a_group_never_checked_counts_below_a_sound_one(app, make_group):
    for slug in ("ash", "beech", "cedar", "damson"):
        make_group(slug)
    with app.app_context(), all_groups():  # a new group has its row (a trigger): not checked yet
        check = db.session.get(LedgerCheck, db.session.scalar(
            sa.select(Group.id).where(Group.slug == "ash")))
        assert (check.checked_at, check.problem_count) == (None, None)
    _set_checks(app, {"ash": None, "beech": 0, "cedar": 3, "damson": 1})
    rows, total = table(app, sort="health", descending=True)
    assert total == 4
    assert [r.slug for r in rows] == ["cedar", "damson", "beech", "ash"]
    rows, _ = table(app, sort="health", descending=False)
    assert [r.slug for r in rows] == ["ash", "beech", "damson", "cedar"]

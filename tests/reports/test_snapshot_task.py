"""The snapshot build as a Celery job: idempotent, set-based, and queued after corrections."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inventory.services import daily_figures_submit
from reports.models import ProvinceRollup, ReportingStatus, SnapshotBuild, SnapshotRow
from reports.tasks import snapshot_build_for_date, snapshot_build_today
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 2, 10)
# 10:00 in Shanghai: before the 16:00 cut-off of TODAY.
MORNING = dt.datetime(2020, 2, 10, 10, 0, tzinfo=SHANGHAI)

# Queries of one build, whatever the number of prefectures: savepoint, prefectures, key items,
# the 7-day figures, three upserts, three clean-up deletes, the build upsert and its re-read,
# release = 13 (14 on PostgreSQL with the per-date advisory lock); the reserve ledger's totals
# (1); the reconciliation cases of the date: their read, then at most one insert of cases, one
# update and one insert of notes (4); the inbound figures of reports.md "Inbound" for every
# item (3: order lines, national allocations, distribution reports). A query per prefecture
# would push 12 prefectures far past this.
BUILD_QUERY_BOUND = 22


def back(days: int, today=TODAY) -> dt.date:
    return today - dt.timedelta(days=days)


@pytest.fixture
def frozen():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk")


def seed(prefectures, items, dates, clerk, stock=100, consumption=10):
    for prefecture in prefectures:
        for item in items:
            for day in dates:
                DailyFigureFactory(
                    prefecture=prefecture,
                    item=item,
                    date=day,
                    stock=stock,
                    consumption=consumption,
                    submitted_by=clerk,
                )


def snapshot_values(date):
    """Every stored value of a date's snapshot except the build time."""
    rows = list(SnapshotRow.objects.filter(date=date).order_by("prefecture_id", "item_id").values())
    rollups = list(ProvinceRollup.objects.filter(date=date).order_by("item_id").values())
    reporting = list(ReportingStatus.objects.filter(date=date).order_by("prefecture_id").values())
    for value in (*rows, *rollups, *reporting):
        value.pop("built_at")
    return rows, rollups, reporting


def test_it_builds_the_rows_of_a_date_through_the_task(lanzhou, tianshui, n95, clerk, frozen):
    """`delay("YYYY-MM-DD")` builds that date (eagerly in tests) and reports the row count."""
    seed([lanzhou, tianshui], [n95], [back(1)], clerk)

    result = snapshot_build_for_date.delay(back(1).isoformat())

    # 2 active prefectures x 1 key item
    assert result.get()["rows"] == 2
    assert SnapshotRow.objects.filter(date=back(1)).count() == 2
    assert SnapshotBuild.objects.filter(date=back(1)).exists()


def test_it_gives_identical_rows_when_run_twice(lanzhou, tianshui, n95, clerk, frozen):
    """A second build of the same data changes nothing but the build time, and adds no rows."""
    gloves = ItemFactory(code="FH002")
    seed([lanzhou, tianshui], [n95, gloves], [back(d) for d in range(7)], clerk)
    snapshot_build_for_date.delay(TODAY.isoformat())
    first = snapshot_values(TODAY)
    first_built_at = SnapshotBuild.objects.get(date=TODAY).built_at

    frozen.shift(dt.timedelta(hours=1))
    snapshot_build_for_date.delay(TODAY.isoformat())

    # ids included: the rows are updated in place, not deleted and re-inserted
    assert snapshot_values(TODAY) == first
    assert SnapshotRow.objects.filter(date=TODAY).count() == 4
    assert ProvinceRollup.objects.filter(date=TODAY).count() == 2
    assert ReportingStatus.objects.filter(date=TODAY).count() == 2
    assert SnapshotBuild.objects.filter(date=TODAY).count() == 1
    assert SnapshotBuild.objects.get(date=TODAY).built_at == first_built_at + dt.timedelta(hours=1)


def test_it_updates_a_row_in_place_when_a_figure_changed(lanzhou, n95, clerk, frozen):
    """After a figure changes, a rebuild rewrites the same row with the new value."""
    seed([lanzhou], [n95], [TODAY], clerk, stock=100, consumption=10)
    snapshot_build_for_date.delay(TODAY.isoformat())
    before = SnapshotRow.objects.get(date=TODAY, prefecture=lanzhou, item=n95)
    assert before.stock == 100

    lanzhou.daily_figures.filter(date=TODAY).update(stock=25)
    snapshot_build_for_date.delay(TODAY.isoformat())

    after = SnapshotRow.objects.get(date=TODAY, prefecture=lanzhou, item=n95)
    assert after.pk == before.pk
    assert after.stock == 25
    # 25 / 10 = 2.50: red
    assert str(after.days_of_cover) == "2.50"
    assert after.status == "red"


def test_it_removes_the_rows_of_a_deactivated_prefecture(lanzhou, tianshui, n95, clerk, frozen):
    """A prefecture deactivated since the last build loses its rows on the next build."""
    seed([lanzhou, tianshui], [n95], [TODAY], clerk)
    snapshot_build_for_date.delay(TODAY.isoformat())
    assert SnapshotRow.objects.filter(date=TODAY, prefecture=tianshui).exists()

    tianshui.active = False
    tianshui.save()
    snapshot_build_for_date.delay(TODAY.isoformat())

    assert not SnapshotRow.objects.filter(date=TODAY, prefecture=tianshui).exists()
    assert not ReportingStatus.objects.filter(date=TODAY, prefecture=tianshui).exists()
    assert SnapshotRow.objects.filter(date=TODAY, prefecture=lanzhou).count() == 1
    build = SnapshotBuild.objects.get(date=TODAY)
    assert (build.rows, build.prefectures_active) == (1, 1)
    # the province total now holds Lanzhou's 100 alone, not 100 + 100
    assert ProvinceRollup.objects.get(date=TODAY, item=n95).stock == 100


@pytest.mark.parametrize("prefecture_count", [3, 12])
def test_it_builds_with_a_constant_number_of_queries(
    django_assert_max_num_queries, clerk, frozen, prefecture_count
):
    """The build is set-based: 3 or 12 prefectures, the same bound on queries."""
    prefectures = [PrefectureFactory(code=f"62{n + 1:02d}00") for n in range(prefecture_count)]
    items = [ItemFactory(code="FH001"), ItemFactory(code="FH002")]
    seed(prefectures, items, [back(d) for d in range(7)], clerk)

    with django_assert_max_num_queries(BUILD_QUERY_BOUND):
        snapshot_build_for_date.delay(TODAY.isoformat())

    assert SnapshotRow.objects.filter(date=TODAY).count() == prefecture_count * 2


def test_it_rebuilds_the_affected_dates_after_a_past_correction(
    lanzhou, n95, office, clerk, frozen, django_capture_on_commit_callbacks
):
    """Correcting d queues rebuilds of d..d+6, capped at today: d and d+1 change."""
    d = back(4)  # 2020-02-06
    DailyFigureFactory(
        prefecture=lanzhou,
        item=n95,
        date=d - dt.timedelta(days=1),
        stock=100,
        consumption=10,
        submitted_by=clerk,
    )
    DailyFigureFactory(
        prefecture=lanzhou,
        item=n95,
        date=d,
        stock=90,
        received=0,
        consumption=10,
        submitted_by=clerk,
    )
    DailyFigureFactory(
        prefecture=lanzhou,
        item=n95,
        date=d + dt.timedelta(days=1),
        stock=80,
        received=0,
        consumption=10,
        submitted_by=clerk,
    )
    snapshot_build_for_date.delay(d.isoformat())
    snapshot_build_for_date.delay((d + dt.timedelta(days=1)).isoformat())
    # d: 90 - (100 + 0 - 10) = 0;  d+1: 80 - (90 + 0 - 10) = 0
    assert SnapshotRow.objects.get(date=d, item=n95).reconciliation_gap == 0
    assert SnapshotRow.objects.get(date=d + dt.timedelta(days=1)).reconciliation_gap == 0

    with django_capture_on_commit_callbacks(execute=True):
        result = daily_figures_submit(
            user=office,
            rows=[
                {
                    "prefecture": lanzhou.code,
                    "item": n95.code,
                    "date": d.isoformat(),
                    "stock": 95,
                    "received": 0,
                    "consumption": 10,
                    "demand": 10,
                    "expected_arrivals_3d": 0,
                }
            ],
            reason="recount",
        )
    assert result.updated == 1

    on_d = SnapshotRow.objects.get(date=d, prefecture=lanzhou, item=n95)
    # stock 90 -> 95; gap 95 - (100 + 0 - 10) = 5
    assert (on_d.stock, on_d.reconciliation_gap) == (95, 5)
    on_next = SnapshotRow.objects.get(date=d + dt.timedelta(days=1), prefecture=lanzhou, item=n95)
    # gap 80 - (95 + 0 - 10) = -5
    assert on_next.reconciliation_gap == -5
    # d..d+6 = 02-06..02-12, capped at today 02-10; today was never built, so it waits for the
    # scheduled build: 02-06, 02-07, 02-08, 02-09.
    assert sorted(SnapshotBuild.objects.values_list("date", flat=True)) == [
        d + dt.timedelta(days=n) for n in range(4)
    ]
    # d+2 = 02-08 had no report: stale stock of d+1 (80), unchanged by the correction
    on_d2 = SnapshotRow.objects.get(date=d + dt.timedelta(days=2))
    assert (on_d2.stock, on_d2.stock_is_stale) == (80, True)


def test_it_rebuilds_today_after_a_past_correction_when_today_was_built(
    lanzhou, n95, office, clerk, frozen, django_capture_on_commit_callbacks
):
    """A correction of d-1 reaches today's snapshot when today has been built already."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=back(1), stock=100, submitted_by=clerk)
    DailyFigureFactory(
        prefecture=lanzhou,
        item=n95,
        date=TODAY,
        stock=90,
        received=0,
        consumption=10,
        submitted_by=clerk,
    )
    snapshot_build_for_date.delay(TODAY.isoformat())
    # 90 - (100 + 0 - 10) = 0
    assert SnapshotRow.objects.get(date=TODAY).reconciliation_gap == 0

    with django_capture_on_commit_callbacks(execute=True):
        daily_figures_submit(
            user=office,
            rows=[
                {
                    "prefecture": lanzhou.code,
                    "item": n95.code,
                    "date": back(1).isoformat(),
                    "stock": 110,
                    "received": 0,
                    "consumption": 10,
                    "demand": 10,
                    "expected_arrivals_3d": 0,
                }
            ],
            reason="recount",
        )

    # 90 - (110 + 0 - 10) = -10
    assert SnapshotRow.objects.get(date=TODAY).reconciliation_gap == -10


def _todays_row(prefecture, item, stock):
    return {
        "prefecture": prefecture.code,
        "item": item.code,
        "date": TODAY.isoformat(),
        "stock": stock,
        "received": 0,
        "consumption": 10,
        "demand": 10,
        "expected_arrivals_3d": 0,
    }


def test_it_does_not_build_today_after_a_submission_for_today(
    lanzhou, n95, officer, frozen, django_capture_on_commit_callbacks
):
    """Today's figures wait for the scheduled build after the cut-off."""
    with django_capture_on_commit_callbacks(execute=True):
        daily_figures_submit(user=officer, rows=[_todays_row(lanzhou, n95, 70)])

    assert not SnapshotBuild.objects.exists()
    assert not SnapshotRow.objects.exists()


def test_it_rebuilds_today_after_a_submission_when_today_was_built(
    lanzhou, n95, officer, clerk, frozen, django_capture_on_commit_callbacks
):
    """Once today's snapshot exists, a correction for today refreshes it."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY, stock=100, submitted_by=clerk)
    snapshot_build_for_date.delay(TODAY.isoformat())

    with django_capture_on_commit_callbacks(execute=True):
        daily_figures_submit(user=officer, rows=[_todays_row(lanzhou, n95, 70)])

    assert SnapshotRow.objects.get(date=TODAY, prefecture=lanzhou, item=n95).stock == 70


def test_it_builds_the_local_date_in_the_daily_job(lanzhou, n95, clerk):
    """At 01:00 in Shanghai it is still the previous day in UTC; the job builds the local date."""
    after_midnight = dt.datetime(2020, 2, 10, 1, 0, tzinfo=SHANGHAI)  # 2020-02-09 17:00 UTC
    with time_machine.travel(after_midnight, tick=False):
        result = snapshot_build_today.delay().get()

    assert result["date"] == "2020-02-10"
    assert list(SnapshotBuild.objects.values_list("date", flat=True)) == [TODAY]
    assert SnapshotRow.objects.filter(date=TODAY, prefecture=lanzhou, item=n95).exists()

"""Every snapshot figure of reports.md, checked against numbers worked out by hand.

Each test builds a tiny data set with the factories, runs `snapshot_build_for_date` and
compares the stored rows with the arithmetic written in its comments. The expected values
never come from the code under test.
"""

import datetime as dt
from decimal import Decimal

import pytest

from reports.models import (
    ProvinceRollup,
    ReportingState,
    ReportingStatus,
    SnapshotBuild,
    SnapshotRow,
    Status,
)
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

D = dt.date(2020, 2, 10)


def back(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


@pytest.fixture
def report(db):
    """Record a daily figure of `prefecture`, `item` for `day` (factory defaults otherwise)."""
    clerk = UserFactory(username="clerk")

    def _report(prefecture, item, day, **figures):
        return DailyFigureFactory(
            prefecture=prefecture, item=item, date=day, submitted_by=clerk, **figures
        )

    return _report


def build(date=D):
    return snapshot_build_for_date(date=date)


def row(prefecture, item, date=D) -> SnapshotRow:
    return SnapshotRow.objects.get(date=date, prefecture=prefecture, item=item)


# --- stock -----------------------------------------------------------------------------


def test_it_takes_stock_from_the_days_report(lanzhou, n95, report):
    """With a report for d, stock, consumption and demand are that report's, not stale."""
    report(lanzhou, n95, back(1), stock=999, consumption=1, demand=1)
    report(lanzhou, n95, D, stock=250, consumption=10, demand=40)

    build()

    snapshot = row(lanzhou, n95)
    assert snapshot.stock == 250
    assert snapshot.stock_is_stale is False
    assert snapshot.stock_date == D
    assert snapshot.consumption == 10
    assert snapshot.demand == 40


@pytest.mark.parametrize("days_back", [1, 2, 3])
def test_it_carries_stock_forward_from_up_to_three_days_back(lanzhou, n95, report, days_back):
    """Without a report for d, the latest report of d-1..d-3 gives the stock, marked stale."""
    report(lanzhou, n95, back(days_back), stock=80, consumption=10, demand=20)

    build()

    snapshot = row(lanzhou, n95)
    assert snapshot.stock == 80
    assert snapshot.stock_is_stale is True
    assert snapshot.stock_date == back(days_back)
    # Consumption and demand are "reported ... for d": nothing is carried forward for them.
    assert snapshot.consumption is None
    assert snapshot.demand is None
    # 80 / 10 = 8.00 days, from the stale stock and the 7-day rate.
    assert snapshot.days_of_cover == Decimal("8.00")


def test_it_carries_forward_the_latest_of_several_earlier_reports(lanzhou, n95, report):
    """When d-3 and d-1 were both reported, the stale stock is d-1's."""
    report(lanzhou, n95, back(3), stock=50)
    report(lanzhou, n95, back(1), stock=70)

    build()

    snapshot = row(lanzhou, n95)
    assert (snapshot.stock, snapshot.stock_date, snapshot.stock_is_stale) == (70, back(1), True)


def test_it_leaves_stock_missing_beyond_three_days(lanzhou, n95, report):
    """A report 4 days old is too old for the stock, but still feeds the 7-day average."""
    report(lanzhou, n95, back(4), stock=80, consumption=12)

    build()

    snapshot = row(lanzhou, n95)
    assert snapshot.stock is None
    assert snapshot.stock_is_stale is False
    assert snapshot.stock_date is None
    # d-4 lies inside [d-6, d]: the average is its single consumption, 12.
    assert snapshot.avg_consumption_7d == Decimal("12")
    assert snapshot.days_of_cover is None
    assert snapshot.projected_days_of_cover is None
    assert snapshot.status == Status.GREY


def test_it_gives_a_grey_row_with_missing_figures_when_nothing_was_reported(lanzhou, n95, report):
    """A key item a prefecture never reported still gets its row, with every figure missing."""
    build()

    snapshot = row(lanzhou, n95)
    assert snapshot.stock is None
    assert snapshot.consumption is None
    assert snapshot.avg_consumption_7d is None
    assert snapshot.demand is None
    assert snapshot.days_of_cover is None
    assert snapshot.shortfall_3d is None
    assert snapshot.reconciliation_gap is None
    assert snapshot.status == Status.GREY
    # Nothing reported and nothing dispatched: nothing is known to arrive (0, not missing).
    assert snapshot.in_transit == 0
    assert snapshot.arriving_3d == 0


# --- 7-day average ---------------------------------------------------------------------


def test_it_averages_consumption_over_the_reported_days_only(lanzhou, n95, report):
    """Reports on 3 of the 7 days give the mean of those 3, not a sum divided by 7."""
    report(lanzhou, n95, back(6), stock=200, consumption=9)
    report(lanzhou, n95, back(3), stock=150, consumption=12)
    report(lanzhou, n95, D, stock=85, consumption=30)

    build()

    snapshot = row(lanzhou, n95)
    # (9 + 12 + 30) / 3 = 51 / 3 = 17   (a /7 mean would be 51 / 7 = 7.2857)
    assert snapshot.avg_consumption_7d == Decimal("17")
    # 85 / 17 = 5.00 days: amber (3 <= 5 < 7)
    assert snapshot.days_of_cover == Decimal("5.00")
    assert snapshot.status == Status.AMBER


def test_it_excludes_a_report_seven_days_back_from_the_average(lanzhou, n95, report):
    """The window is [d-6, d]: a report for d-7 does not count."""
    report(lanzhou, n95, back(7), stock=500, consumption=100)
    report(lanzhou, n95, D, stock=100, consumption=20)

    build()

    snapshot = row(lanzhou, n95)
    # only d counts: 20 / 1 = 20   (with d-7 it would be (100 + 20) / 2 = 60)
    assert snapshot.avg_consumption_7d == Decimal("20")
    # 100 / 20 = 5.00
    assert snapshot.days_of_cover == Decimal("5.00")


def test_it_keeps_four_places_of_the_average(lanzhou, n95, report):
    """A non-terminating mean is stored to 4 places."""
    report(lanzhou, n95, back(2), stock=100, consumption=10)
    report(lanzhou, n95, back(1), stock=100, consumption=10)
    report(lanzhou, n95, D, stock=100, consumption=11)

    build()

    # (10 + 10 + 11) / 3 = 31 / 3 = 10.3333...
    assert row(lanzhou, n95).avg_consumption_7d == Decimal("10.3333")


# --- days of cover ---------------------------------------------------------------------


def test_it_leaves_days_of_cover_missing_when_the_rate_is_zero(lanzhou, n95, report):
    """Stock with a zero 7-day rate has no days of cover (no division by zero) and is grey."""
    report(lanzhou, n95, back(1), stock=100, consumption=0)
    report(lanzhou, n95, D, stock=100, consumption=0, expected_arrivals_3d=50)

    build()

    snapshot = row(lanzhou, n95)
    # (0 + 0) / 2 = 0
    assert snapshot.avg_consumption_7d == Decimal("0")
    assert snapshot.days_of_cover is None
    assert snapshot.projected_days_of_cover is None
    assert snapshot.status == Status.GREY


def test_it_rounds_days_of_cover_to_two_places(lanzhou, n95, report):
    """days_of_cover and projected_days_of_cover are rounded to 2 decimal places."""
    report(lanzhou, n95, D, stock=100, consumption=3, expected_arrivals_3d=100)

    build()

    snapshot = row(lanzhou, n95)
    # 100 / 3 = 33.333... -> 33.33 (rounded down)
    assert snapshot.days_of_cover == Decimal("33.33")
    # (100 + 100) / 3 = 66.666... -> 66.67 (rounded up)
    assert snapshot.projected_days_of_cover == Decimal("66.67")


# --- status thresholds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stock", "consumption", "cover", "status"),
    [
        (299, 100, "2.99", Status.RED),  # 299 / 100 = 2.99 < 3: red
        (30, 10, "3.00", Status.AMBER),  # 30 / 10 = 3 exactly: not < 3, so amber
        (699, 100, "6.99", Status.AMBER),  # 699 / 100 = 6.99 < 7: amber
        (70, 10, "7.00", Status.GREEN),  # 70 / 10 = 7 exactly: not < 7, so green
        (0, 10, "0.00", Status.RED),  # 0 / 10 = 0: red
    ],
    ids=["just-below-3-red", "exactly-3-amber", "just-below-7-amber", "exactly-7-green", "empty"],
)
def test_it_colours_days_of_cover_with_the_default_thresholds(
    lanzhou, n95, report, stock, consumption, cover, status
):
    """red below 3 days, amber below 7, green from 7: the boundaries belong to the better colour."""
    report(lanzhou, n95, D, stock=stock, consumption=consumption)

    build()

    snapshot = row(lanzhou, n95)
    assert snapshot.days_of_cover == Decimal(cover)
    assert snapshot.status == status


def test_it_colours_with_the_items_own_thresholds(lanzhou, tianshui, report):
    """Item.red_days / amber_days replace the defaults 3 and 7 for that item."""
    ventilator = ItemFactory(code="SB001", red_days=Decimal("5"), amber_days=Decimal("10"))
    other = PrefectureFactory(code="620200")
    report(lanzhou, ventilator, D, stock=40, consumption=10)  # 40 / 10 = 4: < 5 red
    report(tianshui, ventilator, D, stock=90, consumption=10)  # 90 / 10 = 9: < 10 amber
    report(other, ventilator, D, stock=100, consumption=10)  # 100 / 10 = 10: green

    build()

    # with the defaults these would be amber, green and green
    assert row(lanzhou, ventilator).status == Status.RED
    assert row(tianshui, ventilator).status == Status.AMBER
    assert row(other, ventilator).status == Status.GREEN


def test_it_colours_with_changed_default_thresholds(lanzhou, tianshui, n95, report, settings):
    """The defaults are settings (SUPPLYCOORD RED_DAYS / AMBER_DAYS), not constants."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "RED_DAYS": 2, "AMBER_DAYS": 4}
    report(lanzhou, n95, D, stock=25, consumption=10)  # 25 / 10 = 2.5: not < 2, < 4: amber
    report(tianshui, n95, D, stock=45, consumption=10)  # 45 / 10 = 4.5: not < 4: green

    build()

    # with 3 and 7 these would be red and amber
    assert row(lanzhou, n95).status == Status.AMBER
    assert row(tianshui, n95).status == Status.GREEN


# --- arrivals and shortfall ------------------------------------------------------------


def test_it_takes_arriving_3d_from_the_reported_expected_arrivals(lanzhou, n95, report):
    """Until dispatch batches exist, in_transit is 0 and arriving_3d = expected_arrivals_3d."""
    report(lanzhou, n95, D, stock=60, consumption=20, expected_arrivals_3d=30)

    build()

    snapshot = row(lanzhou, n95)
    assert snapshot.in_transit == 0
    # 30 + 0 (no in-transit batch lines)
    assert snapshot.arriving_3d == 30
    # (60 + 30) / 20 = 4.50
    assert snapshot.projected_days_of_cover == Decimal("4.50")
    # 60 / 20 = 3.00 (arrivals are not in the plain days of cover)
    assert snapshot.days_of_cover == Decimal("3.00")


def test_it_computes_a_positive_shortfall(lanzhou, n95, report):
    """shortfall_3d = 3 x demand - stock - arriving_3d when that is positive."""
    report(lanzhou, n95, D, stock=60, demand=50, expected_arrivals_3d=30)

    build()

    # 3 x 50 - 60 - 30 = 150 - 90 = 60
    assert row(lanzhou, n95).shortfall_3d == 60


def test_it_clamps_the_shortfall_at_zero(lanzhou, n95, report):
    """A prefecture holding more than 3 days of demand has no shortfall, not a negative one."""
    report(lanzhou, n95, D, stock=60, demand=10, expected_arrivals_3d=5)

    build()

    # 3 x 10 - 60 - 5 = 30 - 65 = -35 -> max(0, -35) = 0
    assert row(lanzhou, n95).shortfall_3d == 0


# --- reconciliation gap ----------------------------------------------------------------


def test_it_computes_a_non_zero_reconciliation_gap(lanzhou, n95, report):
    """gap = stock - (previous stock + received - consumption), previous being d-1."""
    report(lanzhou, n95, back(1), stock=100)
    report(lanzhou, n95, D, stock=110, received=40, consumption=25)

    build()

    # 110 - (100 + 40 - 25) = 110 - 115 = -5
    assert row(lanzhou, n95).reconciliation_gap == -5


def test_it_computes_a_zero_reconciliation_gap_when_the_books_balance(lanzhou, n95, report):
    """Figures that add up give a gap of 0 (not missing)."""
    report(lanzhou, n95, back(1), stock=100)
    report(lanzhou, n95, D, stock=115, received=40, consumption=25)

    build()

    # 115 - (100 + 40 - 25) = 115 - 115 = 0
    assert row(lanzhou, n95).reconciliation_gap == 0


def test_it_leaves_the_gap_missing_without_a_report_for_the_previous_day(lanzhou, n95, report):
    """The previous report must be for d-1; a report for d-2 does not stand in for it."""
    report(lanzhou, n95, back(2), stock=100)
    report(lanzhou, n95, D, stock=110, received=40, consumption=25)

    build()

    assert row(lanzhou, n95).reconciliation_gap is None


def test_it_leaves_the_gap_missing_without_a_report_for_the_day(lanzhou, n95, report):
    """A stale row has no gap: there is no stock of d to reconcile."""
    report(lanzhou, n95, back(1), stock=100)

    build()

    assert row(lanzhou, n95).reconciliation_gap is None


# --- province rollup -------------------------------------------------------------------


def test_it_sums_prefectures_into_the_province_rollup(n95, report):
    """Sums over prefectures ignore missing figures; days of cover = sum stock / sum rate."""
    p1 = PrefectureFactory(code="620100")
    p2 = PrefectureFactory(code="620200")
    p3 = PrefectureFactory(code="620300")  # never reports: every figure missing
    p4 = PrefectureFactory(code="620400")  # reported yesterday only: stale stock
    gone = PrefectureFactory(code="620500", active=False)
    report(p1, n95, D, stock=100, consumption=10, demand=20, expected_arrivals_3d=0)
    report(p2, n95, D, stock=20, consumption=10, demand=30, expected_arrivals_3d=5)
    report(p4, n95, back(1), stock=50, consumption=20, demand=40)
    report(gone, n95, D, stock=1000, consumption=1, demand=1000)

    build()

    rollup = ProvinceRollup.objects.get(date=D, item=n95)
    # stock: 100 + 20 + 50 (p4, stale) = 170; p3 missing; the inactive prefecture is out
    assert rollup.stock == 170
    # consumption and demand are for d only: 10 + 10 = 20 and 20 + 30 = 50
    assert rollup.consumption == 20
    assert rollup.demand == 50
    # shortfall: p1 max(0, 60 - 100 - 0) = 0, p2 max(0, 90 - 20 - 5) = 65, p4 no demand -> 65
    assert rollup.shortfall_3d == 65
    # arriving: 0 + 5 = 5; nothing in transit
    assert rollup.arriving_3d == 5
    assert rollup.in_transit == 0
    # rates: p1 10, p2 10, p4 20 -> 40
    assert rollup.avg_consumption_7d == Decimal("40")
    assert rollup.reserve_stock == 0
    # (170 + 0 reserve) / 40 = 4.25: amber
    assert rollup.days_of_cover == Decimal("4.25")
    assert rollup.status == Status.AMBER
    # p1 100/10 = 10 green; p2 20/10 = 2 red; p3 grey; p4 50/20 = 2.5 red -> 2 red
    assert rollup.prefectures_red == 2
    assert (row(p3, n95).stock, row(p3, n95).status) == (None, Status.GREY)


def test_it_leaves_the_province_cover_missing_without_any_rate(n95, report):
    """A province with stock but no consumption anywhere has no days of cover."""
    p1 = PrefectureFactory(code="620100")
    report(p1, n95, D, stock=100, consumption=0)

    build()

    rollup = ProvinceRollup.objects.get(date=D, item=n95)
    assert rollup.stock == 100
    assert rollup.days_of_cover is None
    assert rollup.status == Status.GREY


# --- reporting completeness ------------------------------------------------------------


def test_it_classifies_reporting_as_on_time_late_or_missing(report):
    """All key items on time -> on_time; all but one late -> late; one missing -> missing."""
    masks = ItemFactory(code="K001", is_key=True)
    gowns = ItemFactory(code="K002", is_key=True)
    soap = ItemFactory(code="N001", is_key=False)
    on_time = PrefectureFactory(code="620100")
    late = PrefectureFactory(code="620200")
    missing = PrefectureFactory(code="620300")
    inactive = PrefectureFactory(code="620400", active=False)

    report(on_time, masks, D, on_time=True)
    report(on_time, gowns, D, on_time=True)
    report(on_time, soap, D, on_time=False)  # a late non-key item does not count
    report(late, masks, D, on_time=True)
    report(late, gowns, D, on_time=False)
    report(missing, masks, D, on_time=True)
    report(missing, gowns, back(1), on_time=True)  # yesterday's report is not today's
    report(missing, soap, D, on_time=True)  # a non-key item does not fill the gap
    report(inactive, masks, D, on_time=True)
    report(inactive, gowns, D, on_time=True)

    snapshot_build = build()

    states = {
        status.prefecture_id: (status.state, status.items_reported, status.items_expected)
        for status in ReportingStatus.objects.filter(date=D)
    }
    assert states == {
        on_time.pk: (ReportingState.ON_TIME, 2, 2),
        late.pk: (ReportingState.LATE, 2, 2),
        missing.pk: (ReportingState.MISSING, 1, 2),
    }
    assert snapshot_build == SnapshotBuild.objects.get(date=D)
    # 3 active prefectures x 2 key items = 6 rows
    assert snapshot_build.rows == 6
    assert snapshot_build.prefectures_active == 3
    assert snapshot_build.prefectures_on_time == 1
    assert snapshot_build.prefectures_late == 1
    assert snapshot_build.prefectures_missing == 1
    # 1 on time / 3 active
    assert snapshot_build.completeness == pytest.approx(1 / 3)


def test_it_records_the_last_submission_time_of_a_prefecture(lanzhou, report):
    """The reporting status carries the latest submission of the day's key items."""
    masks = ItemFactory(code="K001")
    gowns = ItemFactory(code="K002")
    first = dt.datetime(2020, 2, 10, 9, 30, tzinfo=dt.UTC)
    last = dt.datetime(2020, 2, 10, 11, 45, tzinfo=dt.UTC)
    report(lanzhou, masks, D, first_submitted_at=first, submitted_at=last)
    report(lanzhou, gowns, D, first_submitted_at=first, submitted_at=first)

    build()

    assert ReportingStatus.objects.get(date=D, prefecture=lanzhou).last_submitted_at == last


def test_it_counts_every_active_prefecture_on_time(report):
    """Completeness is 1 when every active prefecture reported every key item on time."""
    masks = ItemFactory(code="K001")
    for code in ("620100", "620200"):
        report(PrefectureFactory(code=code), masks, D, on_time=True)

    snapshot_build = build()

    # 2 on time / 2 active
    assert snapshot_build.completeness == 1


# --- scope -----------------------------------------------------------------------------


def test_it_gives_rows_only_to_active_prefectures_and_active_key_items(lanzhou, n95, report):
    """Non-key items, retired items and inactive prefectures get no snapshot rows."""
    soap = ItemFactory(code="N001", is_key=False)
    retired = ItemFactory(code="K009", is_key=True, active=False)
    inactive = PrefectureFactory(code="620400", active=False)
    for prefecture in (lanzhou, inactive):
        for item in (n95, soap, retired):
            report(prefecture, item, D)

    build()

    rows = set(SnapshotRow.objects.filter(date=D).values_list("prefecture_id", "item_id"))
    assert rows == {(lanzhou.pk, n95.pk)}
    assert set(ProvinceRollup.objects.filter(date=D).values_list("item_id", flat=True)) == {n95.pk}

"""The set-based build (the formulas in SQL) against numbers worked out by hand where the
exact fractions matter, and against the Python statement of the formulas
(`compute_snapshot_row`) on a mixed data set, column by column."""

import datetime as dt
from decimal import Decimal

import pytest

from inventory.models import DailyFigure
from reports.models import (
    ProvinceRollup,
    ReconciliationCase,
    ReconciliationNote,
    ReconciliationStatus,
    SnapshotRow,
    Status,
)
from reports.services import (
    SNAPSHOT_VALUE_FIELDS,
    GapFigures,
    compute_snapshot_row,
    reconciliation_cases_sync_for_date,
    snapshot_build_for_date,
)
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

D = dt.date(2020, 2, 10)


def back(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


@pytest.fixture
def report(db):
    clerk = UserFactory(username="clerk")

    def _report(prefecture, item, day, **figures):
        return DailyFigureFactory(
            prefecture=prefecture, item=item, date=day, submitted_by=clerk, **figures
        )

    return _report


def test_it_rounds_a_half_cent_of_cover_up(lanzhou, n95, report):
    # 1,001 in stock, 200 a day (one day reported): 1001 / 200 = 5.005 exactly → 5.01
    # (half up, not half even); projected with 9 arriving: 1010 / 200 = 5.05.
    report(lanzhou, n95, D, stock=1001, consumption=200, expected_arrivals_3d=9, demand=400)
    snapshot_build_for_date(date=D)

    row = SnapshotRow.objects.get(date=D, prefecture=lanzhou, item=n95)
    assert row.days_of_cover == Decimal("5.01")
    assert row.projected_days_of_cover == Decimal("5.05")
    assert row.avg_consumption_7d == Decimal("200.0000")
    # 3 × 400 − 1001 − 9 = 190
    assert row.shortfall_3d == 190
    assert row.status == Status.AMBER  # 5.01 < 7


def test_the_province_rate_sums_the_exact_averages(n95, report):
    # Three prefectures each used 0, 0, 1 over three days: 1/3 a day each (0.3333 shown).
    # The province's rate is 1/3 + 1/3 + 1/3 = 1.0000, not 3 × 0.3333 = 0.9999; its cover
    # is (10 + 10 + 10) / 1 = 30.00 days.
    for code in ("620100", "620200", "620300"):
        prefecture = PrefectureFactory(code=code)
        for days, used in ((2, 0), (1, 0), (0, 1)):
            report(prefecture, n95, back(days), stock=10, consumption=used)
    snapshot_build_for_date(date=D)

    rollup = ProvinceRollup.objects.get(date=D, item=n95)
    assert rollup.avg_consumption_7d == Decimal("1.0000")
    assert rollup.days_of_cover == Decimal("30.00")
    assert set(SnapshotRow.objects.filter(date=D).values_list("avg_consumption_7d", flat=True)) == {
        Decimal("0.3333")
    }


def test_the_rows_equal_the_python_formulas(report):
    """A mixed data set: stale stock, gaps in the reports, zero rates, items' own
    thresholds; every column of every row as compute_snapshot_row computes it."""
    prefectures = [PrefectureFactory(code=f"62{n:02d}00") for n in range(1, 5)]
    items = [
        ItemFactory(code="FH001"),
        ItemFactory(code="FH002", red_days=Decimal("2.5")),
        ItemFactory(code="FH003", red_days=Decimal("2"), amber_days=Decimal("5")),
    ]
    for p_index, prefecture in enumerate(prefectures):
        for i_index, item in enumerate(items):
            for days in range(8):
                seed = p_index * 31 + i_index * 7 + days
                if seed % 5 == 1 or (p_index == 3 and days < 2):
                    continue  # missing reports; prefecture 4 stale for 2 days
                report(
                    prefecture,
                    item,
                    back(days),
                    stock=(seed * 37) % 400,
                    received=(seed * 13) % 50,
                    consumption=0 if i_index == 2 and p_index == 1 else (seed * 11) % 90,
                    demand=(seed * 17) % 120,
                    expected_arrivals_3d=(seed * 3) % 40,
                )
    snapshot_build_for_date(date=D)

    figures = DailyFigure.objects.filter(date__range=(back(6), D))
    by_key = {}
    for figure in figures:
        by_key.setdefault((figure.prefecture_id, figure.item_id), {})[figure.date] = figure
    rows = SnapshotRow.objects.filter(date=D)
    assert rows.count() == len(prefectures) * len(items)
    for row in rows.select_related("item"):
        expected = compute_snapshot_row(
            date=D, item=row.item, reports=by_key.get((row.prefecture_id, row.item_id), {})
        )
        for field in SNAPSHOT_VALUE_FIELDS:
            if field != "built_at":
                assert getattr(row, field) == expected[field], (row.prefecture_id, field)


def test_a_sync_opens_changes_and_closes_cases_in_one_go(lanzhou, tianshui, n95, db):
    # Lanzhou 100 + 20 − 30 = 90 expected, 85 reported: −5; Tianshui 50 − 10 = 40, 45: +5.
    now = dt.datetime(2020, 2, 10, 10, tzinfo=dt.UTC)
    reconciliation_cases_sync_for_date(
        date=D,
        gaps={
            (lanzhou.pk, n95.pk): GapFigures(100, 20, 30, 85, -5),
            (tianshui.pk, n95.pk): GapFigures(50, 0, 10, 45, 5),
        },
        now=now,
    )
    cases = {c.prefecture_id: c for c in ReconciliationCase.objects.all()}
    assert (cases[lanzhou.pk].gap, cases[lanzhou.pk].status) == (-5, ReconciliationStatus.OPEN)
    assert cases[tianshui.pk].opened_at == now
    assert not ReconciliationNote.objects.exists()

    # Lanzhou now reports 87 (−3: changed, still open); Tianshui's gap is gone (corrected).
    later = now + dt.timedelta(hours=1)
    reconciliation_cases_sync_for_date(
        date=D,
        gaps={
            (lanzhou.pk, n95.pk): GapFigures(100, 20, 30, 87, -3),
            (tianshui.pk, n95.pk): GapFigures(50, 0, 10, 40, 0),
        },
        now=later,
    )
    lanzhou_case = ReconciliationCase.objects.get(prefecture=lanzhou)
    assert (lanzhou_case.stock, lanzhou_case.gap, lanzhou_case.status) == (87, -3, "open")
    assert lanzhou_case.status_changed_at == now  # figures changed, status did not
    tianshui_case = ReconciliationCase.objects.get(prefecture=tianshui)
    # The closed case keeps the figures of the gap it was about.
    assert (tianshui_case.stock, tianshui_case.gap) == (45, 5)
    assert (tianshui_case.status, tianshui_case.status_changed_at) == ("corrected", later)
    notes = list(
        ReconciliationNote.objects.order_by("pk").values_list(
            "case__prefecture", "action", "gap_before", "gap_after", "author", "text"
        )
    )
    assert notes == [
        (lanzhou.pk, "changed", -5, -3, None, ""),
        (tianshui.pk, "corrected", 5, 0, None, ""),
    ]

    # Tianshui's gap comes back: reopened, with no "before" (a corrected case's figures are
    # those of the gap it closed).
    reconciliation_cases_sync_for_date(
        date=D,
        gaps={
            (lanzhou.pk, n95.pk): GapFigures(100, 20, 30, 87, -3),
            (tianshui.pk, n95.pk): GapFigures(50, 0, 10, 47, 7),
        },
        now=later,
    )
    tianshui_case.refresh_from_db()
    assert (tianshui_case.stock, tianshui_case.gap, tianshui_case.status) == (47, 7, "open")
    last = ReconciliationNote.objects.order_by("-pk").first()
    assert (last.action, last.gap_before, last.gap_after) == ("reopen", None, 7)
    assert ReconciliationNote.objects.count() == 3

"""The spot checks computed in PostgreSQL (`_COMPARE_SQL`) store exactly what the Python
reference (`spot_check_comparisons`, exact Fractions) computes: every median, MAD, figure and
score, rounded half up the same way, and the same flags, including at the threshold itself."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from reports import spotchecks
from reports.models import SpotCheckComparison, SpotCheckFigure, SpotCheckFlag
from reports.spotchecks import spot_checks_compute_for_date
from tests.factories import (
    DailyFigureFactory,
    ItemFactory,
    PrefectureFactory,
    ProtectedStaffFactory,
    StaffCategoryFactory,
)
from tests.reports.test_spotchecks import D, frozen_time

__all__ = ["frozen_time"]  # the autouse fixture of the spot checks' clock


@pytest.fixture
def category(db):
    return StaffCategoryFactory(code="ward")


def _reference(date):
    """The Python reference's rows, as the stored ones are read below."""
    items, figures = spotchecks._comparison_tables(spotchecks.spot_check_comparisons(date=date))
    comparisons = {
        row[0]: row[1:] for row in zip(*items, strict=True)
    }  # item: (n, median, mad, skipped, outliers)
    rows = {(row[0], row[1]): row[2:] for row in zip(*figures, strict=True)}
    return comparisons, rows


def _stored(date):
    comparisons = {
        c.item_id: (c.prefectures_compared, c.median, c.mad, c.skipped, c.outliers_count)
        for c in SpotCheckComparison.objects.filter(date=date)
    }
    rows = {
        (f.item_id, f.prefecture_id): (f.figure, f.score, f.flagged)
        for f in SpotCheckFigure.objects.filter(date=date)
    }
    return comparisons, rows


def test_the_sql_stores_what_the_python_reference_computes(category, n95):
    # 41 prefectures with staff counts that make repeating decimals (7, 13, 997 …), four
    # items: every prefecture (odd n), all but one (even n, the median between two), values
    # with ties and two far outliers, a MAD of 0 (most figures equal) and too few prefectures.
    rng = random.Random(20200220)
    items = [n95, ItemFactory(code="FH002"), ItemFactory(code="FH003"), ItemFactory(code="FH004")]
    prefectures = []
    for n in range(41):
        prefecture = PrefectureFactory(code=f"64{n:04d}")
        ProtectedStaffFactory(
            prefecture=prefecture, category=category, count=rng.choice([7, 13, 100, 997, 1200])
        )
        prefectures.append(prefecture)
    for n, prefecture in enumerate(prefectures):
        for day in (D, D - dt.timedelta(days=3)):
            DailyFigureFactory(
                prefecture=prefecture, item=items[0], date=day, consumption=rng.randint(0, 5000)
            )
            if n:  # 40 of 41: an even count
                value = 90_000 if n in (5, 6) else rng.choice([300, 300, 450, 999, 1234])
                DailyFigureFactory(
                    prefecture=prefecture, item=items[1], date=day, consumption=value
                )
            if n < 30:  # 30 prefectures, 20 of them with the same figure: MAD 0
                DailyFigureFactory(
                    prefecture=prefecture,
                    item=items[2],
                    date=day,
                    consumption=0 if n < 20 else rng.randint(1, 900),
                )
            if n < 4:  # too few to compare
                DailyFigureFactory(prefecture=prefecture, item=items[3], date=day, consumption=10)

    spot_checks_compute_for_date(date=D)

    reference_comparisons, reference_rows = _reference(D)
    stored_comparisons, stored_rows = _stored(D)
    assert stored_comparisons == reference_comparisons
    assert stored_rows == reference_rows
    assert {c[3] for c in stored_comparisons.values()} == {"", "mad_zero", "too_few"}
    assert stored_comparisons[items[1].pk][0] == 40 and stored_comparisons[items[0].pk][0] == 41
    # the two 90,000s of FH002 stand out whatever their staff; every flag has its figure row
    flags = {(f.prefecture_id, f.item_id): f for f in SpotCheckFlag.objects.filter(date=D)}
    assert {(prefectures[5].pk, items[1].pk), (prefectures[6].pk, items[1].pk)} <= set(flags)
    for (prefecture_id, item_id), flag in flags.items():
        figure, score, flagged = stored_rows[(item_id, prefecture_id)]
        assert flagged and (flag.figure, flag.score) == (figure, score)
        assert (flag.median, flag.mad) == stored_comparisons[item_id][1:3]


def test_a_score_of_exactly_the_threshold_is_not_flagged(category, n95):
    # 11 prefectures of 1,000 people: figures (per person over the window) 2, 3, 8.651, 9,
    # 9.5, 10, 10.5, 11, 11.349, 17 and 17.001. The median is the 6th, 10; the deviations
    # sorted are 0, 0.5, 0.5, 1, 1, 1.349, 1.349, 7, 7, 7.001, 8, and their median, the MAD,
    # is 1.349 = 2 × 0.6745, so every score is the deviation / 2: 17 scores 3.5 exactly (not
    # flagged: the rule is "exceeds"), 3 scores -3.5 (not flagged), 17.001 scores 3.5005
    # (flagged, stored as 3.50) and 2 scores -4.0 (flagged).
    figures = ["2", "3", "8.651", "9", "9.5", "10", "10.5", "11", "11.349", "17", "17.001"]
    by_figure = {}
    for n, figure in enumerate(figures):
        prefecture = PrefectureFactory(code=f"65{n:04d}")
        ProtectedStaffFactory(prefecture=prefecture, category=category, count=1000)
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=D, consumption=int(Decimal(figure) * 1000)
        )
        by_figure[figure] = prefecture

    spot_checks_compute_for_date(date=D)

    comparison = SpotCheckComparison.objects.get(date=D, item=n95)
    assert (comparison.median, comparison.mad) == (Decimal("10"), Decimal("1.349"))
    stored = {f.prefecture_id: (f.score, f.flagged) for f in SpotCheckFigure.objects.filter(date=D)}
    assert stored[by_figure["17"].pk] == (Decimal("3.50"), False)
    assert stored[by_figure["3"].pk] == (Decimal("-3.50"), False)
    assert stored[by_figure["17.001"].pk] == (Decimal("3.50"), True)
    assert stored[by_figure["2"].pk] == (Decimal("-4.00"), True)
    assert stored[by_figure["8.651"].pk] == (Decimal("-0.67"), False)  # -1.349 / 2 = -0.6745
    assert comparison.outliers_count == 2
    assert set(SpotCheckFlag.objects.filter(date=D).values_list("prefecture_id", flat=True)) == {
        by_figure["17.001"].pk,
        by_figure["2"].pk,
    }
    assert _stored(D) == _reference(D)


def test_deleting_an_item_deletes_its_figures(category, n95):
    # The figure rows carry no database constraint (reports/models.py): the ORM cascades.
    for n, figure in enumerate(["1", "1.1", "1.2", "1.3", "1.4", "9"]):
        prefecture = PrefectureFactory(code=f"66{n:04d}")
        ProtectedStaffFactory(prefecture=prefecture, category=category, count=10)
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=D, consumption=int(Decimal(figure) * 10)
        )
    spot_checks_compute_for_date(date=D)
    assert SpotCheckFigure.objects.filter(item=n95).count() == 6

    SpotCheckFlag.objects.all().delete()
    SpotCheckComparison.objects.all().delete()
    n95.daily_figures.all().delete()
    n95.delete()

    assert not SpotCheckFigure.objects.exists()


def test_a_score_too_large_for_its_column_is_stored_at_the_limit_and_flagged(category, n95):
    # Five prefectures of 1,000 people: 1.000, 1.001, 1.002, 1.003 per person, and one that
    # entered 10^12 twice (2,000,000,000 per person). Median 1.002; deviations 0, 0.001, 0.001,
    # 0.002 and about 2·10^9: MAD 0.001. The outlier scores 0.6745 × (2·10^9 − 1.002) / 0.001,
    # about 1.349·10^12, beyond the column (max 999,999,999,999.99): it is stored at the limit,
    # flagged; 1.000 scores 0.6745 × -0.002 / 0.001 = -1.349, stored -1.35.
    by_figure = {}
    for n, consumption in enumerate([1000, 1001, 1002, 1003, None]):
        prefecture = PrefectureFactory(code=f"67{n:04d}")
        ProtectedStaffFactory(prefecture=prefecture, category=category, count=1000)
        if consumption is None:
            for day in (D, D - dt.timedelta(days=1)):
                DailyFigureFactory(prefecture=prefecture, item=n95, date=day, consumption=10**12)
        else:
            DailyFigureFactory(prefecture=prefecture, item=n95, date=D, consumption=consumption)
        by_figure[consumption] = prefecture

    spot_checks_compute_for_date(date=D)

    stored = {f.prefecture_id: (f.score, f.flagged) for f in SpotCheckFigure.objects.filter(date=D)}
    assert stored[by_figure[None].pk] == (spotchecks.SCORE_LIMIT, True)
    assert stored[by_figure[1000].pk] == (Decimal("-1.35"), False)
    flag = SpotCheckFlag.objects.get(date=D)
    assert (flag.prefecture_id, flag.score) == (by_figure[None].pk, spotchecks.SCORE_LIMIT)

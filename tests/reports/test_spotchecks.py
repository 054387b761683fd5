"""Spot checks (比对抽查): consumption per protected person compared across prefectures with
the robust z-score of reports.md, flags kept in step with the figures, follow-ups never lost."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from reports.models import SpotCheckFlag, SpotCheckFollowUp, SpotCheckStatus
from reports.services import snapshot_build_for_date
from reports.spotchecks import (
    SKIPPED_MAD_ZERO,
    SKIPPED_TOO_FEW,
    FollowUpRefused,
    robust_z_scores,
    spot_check_comparisons,
    spot_check_follow_up_record,
    spot_checks_compute_for_date,
)
from tests.factories import (
    DailyFigureFactory,
    PrefectureFactory,
    ProtectedStaffFactory,
    StaffCategoryFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)

# Consumption per protected person over [D-6, D] of the 14 prefectures of the worked example
# (robust_z_scores' docstring): median 1.125, MAD 0.125, the last one scores 15.5135.
WORKED_EXAMPLE = [
    "0.90",
    "0.95",
    "1.00",
    "1.00",
    "1.05",
    "1.10",
    "1.10",
    "1.15",
    "1.20",
    "1.20",
    "1.25",
    "1.30",
    "1.35",
    "4.00",
]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def categories(db):
    return StaffCategoryFactory(code="ward"), StaffCategoryFactory(code="fever")


def prefecture_with(code, *, per_person, item, categories, staff=(60, 40)):
    """A prefecture of 100 protected people (60 + 40 in two categories) whose consumption of
    `item` over [D-6, D] is `per_person` × 100: half reported on D, half on D-6. A report
    of D-7, outside the window, must not count."""
    prefecture = PrefectureFactory(code=code)
    for category, count in zip(categories, staff, strict=True):
        ProtectedStaffFactory(prefecture=prefecture, category=category, count=count)
    total = int(Fraction(per_person) * sum(staff))
    DailyFigureFactory(prefecture=prefecture, item=item, date=D, consumption=total - total // 2)
    DailyFigureFactory(
        prefecture=prefecture, item=item, date=D - dt.timedelta(days=6), consumption=total // 2
    )
    DailyFigureFactory(
        prefecture=prefecture, item=item, date=D - dt.timedelta(days=7), consumption=99999
    )
    return prefecture


@pytest.fixture
def fourteen(n95, categories):
    """The worked example: 14 prefectures, 620100 … 621400, the last one the outlier."""
    return [
        prefecture_with(f"62{n + 1:02d}00", per_person=x, item=n95, categories=categories)
        for n, x in enumerate(WORKED_EXAMPLE)
    ]


def test_it_computes_robust_z_scores_as_in_the_worked_example():
    values = {n: Fraction(x) for n, x in enumerate(WORKED_EXAMPLE)}
    robust = robust_z_scores(values)
    assert robust.median == Fraction("1.125")
    assert robust.mad == Fraction("0.125")
    assert robust.scores[13] == Fraction("15.5135")  # 0.6745 × 2.875 / 0.125
    assert robust.scores[12] == Fraction("1.2141")  # 0.6745 × 0.225 / 0.125
    assert robust.scores[0] == Fraction("-1.2141")


def test_it_has_no_scores_when_mad_is_zero_or_there_are_no_values():
    assert robust_z_scores({"a": 1, "b": 1, "c": 1, "d": 2}) is None
    assert robust_z_scores({}) is None


def test_it_flags_the_one_outlier_of_fourteen_prefectures(fourteen, n95):
    spot_checks_compute_for_date(date=D)

    flag = SpotCheckFlag.objects.get()
    assert flag.prefecture == fourteen[-1]
    assert flag.item == n95
    assert flag.date == D
    assert flag.figure == Decimal("4.000000")
    assert flag.median == Decimal("1.125000")
    assert flag.mad == Decimal("0.125000")
    assert flag.score == Decimal("15.51")
    assert flag.prefectures_compared == 14
    assert flag.status == SpotCheckStatus.NONE


def test_it_leaves_out_prefectures_without_staff_and_skips_under_five(n95, categories):
    """Five prefectures report, but one has no protected staff: four figures, not compared."""
    for n, x in enumerate(["1.0", "1.1", "1.2", "9.0"]):
        prefecture_with(f"62{n + 1:02d}00", per_person=x, item=n95, categories=categories)
    DailyFigureFactory(prefecture=PrefectureFactory(code="629900"), item=n95, date=D)

    [comparison] = spot_check_comparisons(date=D)
    spot_checks_compute_for_date(date=D)

    assert len(comparison.figures) == 4
    assert comparison.skipped == SKIPPED_TOO_FEW
    assert not SpotCheckFlag.objects.exists()


def test_it_skips_an_item_whose_mad_is_zero(n95, categories):
    """1, 1, 1, 1, 2, 5: the median is 1 and most prefectures sit on it, so MAD is 0."""
    for n, x in enumerate(["1", "1", "1", "1", "2", "5"]):
        prefecture_with(f"62{n + 1:02d}00", per_person=x, item=n95, categories=categories)

    [comparison] = spot_check_comparisons(date=D)
    spot_checks_compute_for_date(date=D)

    assert comparison.skipped == SKIPPED_MAD_ZERO
    assert not SpotCheckFlag.objects.exists()


def test_it_keeps_follow_ups_across_a_rerun(fourteen, n95, office):
    spot_checks_compute_for_date(date=D)
    flag = SpotCheckFlag.objects.get()
    spot_check_follow_up_record(
        user=office, flag=flag, action=SpotCheckStatus.CONTACTED, note="Called the bureau."
    )

    spot_checks_compute_for_date(date=D)
    spot_checks_compute_for_date(date=D)

    again = SpotCheckFlag.objects.get()
    assert again.pk == flag.pk
    assert again.status == SpotCheckStatus.CONTACTED
    assert [f.note for f in again.follow_ups.all()] == ["Called the bureau."]
    assert again.cleared_at is None


def test_it_keeps_a_followed_up_flag_that_a_corrected_figure_clears(fourteen, n95, office):
    """The outlier's figures are corrected to 1.2 per person: its flag no longer holds but
    keeps its notes (cleared); a flag nobody followed up is simply gone."""
    spot_checks_compute_for_date(date=D)
    flag = SpotCheckFlag.objects.get()
    spot_check_follow_up_record(
        user=office, flag=flag, action=SpotCheckStatus.CORRECTED, note="Typo: 400 for 40."
    )
    fourteen[-1].daily_figures.filter(date=D).update(consumption=60)
    fourteen[-1].daily_figures.filter(date=D - dt.timedelta(days=6)).update(consumption=60)

    spot_checks_compute_for_date(date=D)

    kept = SpotCheckFlag.objects.get()
    assert kept.pk == flag.pk
    assert kept.cleared_at is not None
    assert kept.follow_ups.count() == 1


def test_it_removes_a_flag_nobody_followed_up_when_it_no_longer_holds(fourteen, n95):
    spot_checks_compute_for_date(date=D)
    fourteen[-1].daily_figures.filter(date__gte=D - dt.timedelta(days=6)).update(consumption=60)

    spot_checks_compute_for_date(date=D)

    assert not SpotCheckFlag.objects.exists()


def test_only_the_office_records_follow_ups(fourteen, leader, office):
    spot_checks_compute_for_date(date=D)
    flag = SpotCheckFlag.objects.get()
    with pytest.raises(PermissionDenied):
        spot_check_follow_up_record(user=leader, flag=flag, action=SpotCheckStatus.CONTACTED)
    with pytest.raises(FollowUpRefused):
        spot_check_follow_up_record(user=office, flag=flag, action="none")
    assert not SpotCheckFollowUp.objects.exists()


def test_the_snapshot_build_computes_the_flags_after_it_commits(
    fourteen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        snapshot_build_for_date(date=D)
    assert SpotCheckFlag.objects.filter(date=D).count() == 1


@pytest.mark.parametrize("prefecture_count", [6, 20])
def test_it_computes_with_a_constant_number_of_queries(
    django_assert_max_num_queries, n95, categories, prefecture_count
):
    for n in range(prefecture_count):
        x = "9.0" if n == 0 else f"1.{n % 5}"
        prefecture_with(f"63{n + 1:02d}00", per_person=x, item=n95, categories=categories)
    with django_assert_max_num_queries(10):
        spot_checks_compute_for_date(date=D)
    assert SpotCheckFlag.objects.count() == 1

"""Spot checks stored once per build: the page reads every item's comparison (median, MAD,
each prefecture's figure and score) from what spot_checks_compute_for_date wrote, and never
computes a robust z-score itself."""

from decimal import Decimal

import pytest
from django.urls import reverse

from reports import spotchecks
from reports.models import SpotCheckComparison, SpotCheckFigure, SpotCheckFlag
from reports.services import snapshot_build_for_date
from reports.spotchecks import SKIPPED_MAD_ZERO, SKIPPED_TOO_FEW, spot_checks_compute_for_date
from tests.factories import DailyFigureFactory, ItemFactory
from tests.reports.test_spotchecks import WORKED_EXAMPLE, D, frozen_time, prefecture_with

__all__ = ["frozen_time"]  # the autouse fixture of the worked example's clock


@pytest.fixture
def fourteen(n95, categories):
    return [
        prefecture_with(f"62{n + 1:02d}00", per_person=x, item=n95, categories=categories)
        for n, x in enumerate(WORKED_EXAMPLE)
    ]


@pytest.fixture
def categories(db):
    from tests.factories import StaffCategoryFactory

    return StaffCategoryFactory(code="ward"), StaffCategoryFactory(code="fever")


def test_it_stores_the_worked_example_as_computed_by_hand(fourteen, n95):
    spot_checks_compute_for_date(date=D)

    comparison = SpotCheckComparison.objects.get(date=D, item=n95)
    assert comparison.prefectures_compared == 14
    assert comparison.median == Decimal("1.125000")  # (1.10 + 1.15) / 2
    assert comparison.mad == Decimal("0.125000")
    assert comparison.skipped == ""
    assert comparison.outliers_count == 1
    figures = {
        f.prefecture.code: (f.figure, f.score, f.flagged)
        for f in SpotCheckFigure.objects.filter(date=D, item=n95).select_related("prefecture")
    }
    assert figures["621400"] == (Decimal("4.000000"), Decimal("15.51"), True)  # 0.6745 × 23
    assert figures["621300"] == (Decimal("1.350000"), Decimal("1.21"), False)  # 0.6745 × 1.8
    assert figures["620100"] == (Decimal("0.900000"), Decimal("-1.21"), False)
    assert len(figures) == 14 and sum(flagged for _f, _s, flagged in figures.values()) == 1


def test_the_stored_comparison_equals_the_recomputed_one(fourteen, n95):
    spot_checks_compute_for_date(date=D)

    [recomputed] = spotchecks.spot_check_comparisons(date=D)
    [stored] = spotchecks.spot_check_stored_comparisons(date=D)
    assert stored.median == recomputed.median and stored.mad == recomputed.mad
    assert stored.figures == recomputed.figures  # Decimal("4.000000") == Fraction(4)
    assert list(stored.figures) == list(recomputed.figures)  # prefecture code order
    assert stored.outliers == recomputed.outliers


def test_items_not_compared_are_stored_with_the_reason(n95, categories):
    gloves = ItemFactory(code="FH002")
    for n in range(6):
        prefecture = prefecture_with(
            f"62{n + 1:02d}00", per_person="1", item=n95, categories=categories
        )
        if n < 3:
            DailyFigureFactory(prefecture=prefecture, item=gloves, date=D, consumption=50)

    spot_checks_compute_for_date(date=D)

    stored = {c.item: c for c in SpotCheckComparison.objects.filter(date=D)}
    assert (stored[n95].skipped, stored[n95].median, stored[n95].mad) == (
        SKIPPED_MAD_ZERO,
        Decimal("1.000000"),
        Decimal("0E-6"),
    )
    assert (stored[gloves].skipped, stored[gloves].prefectures_compared) == (SKIPPED_TOO_FEW, 3)
    assert stored[gloves].median is None
    assert not SpotCheckFigure.objects.filter(score__isnull=False).exists()


def test_a_rerun_replaces_the_stored_figures(fourteen, n95):
    spot_checks_compute_for_date(date=D)
    fourteen[0].active = False
    fourteen[0].save()

    spot_checks_compute_for_date(date=D)

    assert SpotCheckComparison.objects.get(date=D).prefectures_compared == 13
    assert SpotCheckFigure.objects.filter(date=D).count() == 13
    assert not SpotCheckFigure.objects.filter(prefecture=fourteen[0]).exists()


def test_the_page_reads_the_stored_results_and_computes_nothing(
    client, leader, fourteen, n95, monkeypatch
):
    snapshot_build_for_date(date=D)
    spot_checks_compute_for_date(date=D)

    def refuse(**kwargs):
        raise AssertionError("the page must not recompute the spot checks")

    monkeypatch.setattr(spotchecks, "spot_check_comparisons", refuse)
    monkeypatch.setattr(spotchecks, "robust_z_scores", refuse)
    client.force_login(leader)
    response = client.get(reverse("reports:spot_checks"), {"date": D.isoformat()})

    assert response.status_code == 200
    [chart] = response.context["charts"]
    assert chart["data"]["figures"][-1] == 4.0 and chart["data"]["flagged"][-1] is True
    assert chart["data"]["median"] == 1.125
    assert len(chart["data"]["prefectures"]) == 14
    assert 'data-prefecture="621400"' in response.content.decode()


@pytest.mark.parametrize("prefecture_count", [6, 30])
def test_the_page_runs_a_constant_number_of_queries_with_several_items(
    client, office, n95, categories, django_assert_max_num_queries, prefecture_count
):
    items = [n95, ItemFactory(code="FH002"), ItemFactory(code="FH003")]
    for n in range(prefecture_count):
        x = "9.0" if n == 0 else f"1.{n % 5}"
        prefecture = prefecture_with(
            f"63{n + 1:02d}00", per_person=x, item=n95, categories=categories
        )
        for item in items[1:]:  # 100 protected people: x per person is 100x over the window
            DailyFigureFactory(
                prefecture=prefecture, item=item, date=D, consumption=int(Decimal(x) * 100)
            )
    snapshot_build_for_date(date=D)
    spot_checks_compute_for_date(date=D)
    assert SpotCheckFlag.objects.count() == 3

    client.force_login(office)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("reports:spot_checks"), {"item": "FH003"})
    assert response.status_code == 200
    [chart] = response.context["charts"]
    assert chart["id"] == "spotcheck-FH003"

"""`county_figures_submit` and the prefecture rows derived from the counties (issue 15 §3).

Lanzhou reports as the sum of 榆中县 (A) and 皋兰县 (B). A reports N95 stock 100, received 20,
consumption 10, demand 12, expected 5; B stock 50, received 10, consumption 5, demand 6,
expected 0. Lanzhou's row is their sums — 150, 30, 15, 18, 5 — once both have reported.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from inventory.county_figures import (
    DERIVED_FROM_COUNTIES,
    CountyFiguresInvalid,
    CountyFiguresOutOfScope,
    SumOfCountiesRefused,
    county_figures_submit,
    prefecture_set_reports_as_sum,
)
from inventory.models import CountyDailyFigure, DailyFigure
from inventory.services import DailyFiguresInvalid, daily_figures_submit
from reports.models import ReportingStatus, SnapshotRebuild, SnapshotRow
from reports.services import snapshot_build_for_date
from supplycoord.models import County
from tests.factories import ItemFactory, PrefectureFactory
from tests.inventory.county_world import *  # noqa: F403 - the fixtures
from tests.inventory.county_world import AFTERNOON, EVENING, MORNING, TODAY, county_row

# County B's figures (the rest of the row as county A's).
B = {
    "county": "620122",
    "stock": 50,
    "received": 10,
    "consumption": 5,
    "demand": 6,
    "expected_arrivals_3d": 0,
}


def lanzhou_n95(lanzhou, n95):
    return DailyFigure.objects.filter(prefecture=lanzhou, item=n95, date=TODAY).first()


def errors_of(excinfo) -> list[tuple[int, str]]:
    return [(error.row, error.field) for error in excinfo.value.errors]


# --- Derivation -------------------------------------------------------------------------------


def test_the_prefecture_has_no_row_while_a_county_is_missing(summed, n95, county_officer):
    snapshot_build_for_date(date=TODAY)  # today's snapshot is rebuilt once it was built

    result = county_figures_submit(user=county_officer, rows=[county_row()])

    assert result.as_dict() == {"created": 1, "updated": 0, "unchanged": 0}
    assert CountyDailyFigure.objects.get(county__code="620123").stock == 100
    assert lanzhou_n95(summed, n95) is None
    # Nothing for the snapshot to rebuild: the prefecture's figures did not change.
    assert not SnapshotRebuild.objects.filter(date=TODAY).exists()


def test_the_last_county_completes_the_prefecture_row_with_the_sums(
    summed, n95, county_officer, gaolan_officer, frozen
):
    """A reports at 10:00, B at 15:00 (before the 16:00 cut-off): Lanzhou on time, first
    submitted when B first reported, submitted by B's officer. Today's snapshot, built
    already, is to be rebuilt."""
    snapshot_build_for_date(date=TODAY)
    county_figures_submit(user=county_officer, rows=[county_row()])
    frozen.move_to(AFTERNOON)

    county_figures_submit(user=gaolan_officer, rows=[county_row(**B)])

    figure = lanzhou_n95(summed, n95)
    assert figure.figures() == {
        "stock": 150,
        "received": 30,
        "consumption": 15,
        "demand": 18,
        "expected_arrivals_3d": 5,
    }
    assert figure.submitted_by == gaolan_officer
    assert figure.first_submitted_at == AFTERNOON
    assert figure.on_time is True
    assert figure.correction_reason == ""
    assert figure.history.get().history_change_reason == DERIVED_FROM_COUNTIES
    assert SnapshotRebuild.objects.filter(date=TODAY).exists()


def test_a_county_after_the_cut_off_makes_the_prefecture_late(
    summed, n95, county_officer, gaolan_officer, frozen
):
    county_figures_submit(user=county_officer, rows=[county_row()])
    frozen.move_to(EVENING)

    county_figures_submit(user=gaolan_officer, rows=[county_row(**B)])

    figure = lanzhou_n95(summed, n95)
    assert (figure.stock, figure.consumption) == (150, 15)
    assert figure.first_submitted_at == EVENING
    assert figure.on_time is False


def test_a_county_correction_derives_the_prefecture_again_and_keeps_its_history(
    summed, n95, county_officer, gaolan_officer, frozen
):
    """A corrects its stock 100 → 90 in the evening: Lanzhou 150 → 140, consumption still 15,
    its first report (and on time) unchanged, the old figures in its history with the
    reason."""
    county_figures_submit(user=county_officer, rows=[county_row()])
    county_figures_submit(user=gaolan_officer, rows=[county_row(**B)])
    frozen.move_to(EVENING)

    result = county_figures_submit(
        user=county_officer, rows=[county_row(stock=90)], reason="盘点更正"
    )

    assert result.as_dict() == {"created": 0, "updated": 1, "unchanged": 0}
    figure = lanzhou_n95(summed, n95)
    assert (figure.stock, figure.consumption) == (140, 15)
    assert figure.first_submitted_at == MORNING
    assert figure.on_time is True
    assert figure.submitted_by == county_officer
    assert figure.submitted_at == EVENING
    assert figure.correction_reason == f"{DERIVED_FROM_COUNTIES}：盘点更正"
    history = list(figure.history.order_by("history_date", "history_id"))
    assert [h.stock for h in history] == [150, 140]
    assert history[-1].history_change_reason == f"{DERIVED_FROM_COUNTIES}：盘点更正"
    assert history[-1].history_user == county_officer


def test_corrections_whose_sums_do_not_move_leave_the_prefecture_row_alone(
    summed, n95, county_officer, gaolan_officer, office
):
    """The office moves 10 of stock from A (100 → 110) to B (50 → 40): Lanzhou stays 150."""
    county_figures_submit(user=county_officer, rows=[county_row()])
    county_figures_submit(user=gaolan_officer, rows=[county_row(**B)])

    county_figures_submit(
        user=office, rows=[county_row(stock=110), county_row(**{**B, "stock": 40})]
    )

    figure = lanzhou_n95(summed, n95)
    assert figure.stock == 150
    assert figure.submitted_by == gaolan_officer
    assert figure.history.count() == 1


def test_an_inactive_county_is_not_waited_for(summed, gaolan, n95, county_officer):
    gaolan.active = False
    gaolan.save()

    county_figures_submit(user=county_officer, rows=[county_row()])

    assert lanzhou_n95(summed, n95).stock == 100


def test_a_row_entered_before_the_switch_is_corrected_by_the_counties(
    lanzhou, yuzhong, gaolan, n95, officer, office, county_officer, gaolan_officer
):
    """Lanzhou's officer entered stock 999 before the office switched Lanzhou to the sum of
    its counties: the counties' 150 replace it, with the reason in its history."""
    daily_figures_submit(
        user=officer,
        rows=[
            {
                "prefecture": "620100",
                "item": "FH001",
                "date": TODAY.isoformat(),
                "stock": 999,
                "received": 0,
                "consumption": 1,
                "demand": 1,
                "expected_arrivals_3d": 0,
            }
        ],
    )
    prefecture_set_reports_as_sum(user=office, prefecture=lanzhou, value=True)

    county_figures_submit(user=county_officer, rows=[county_row()])
    assert lanzhou_n95(lanzhou, n95).stock == 999  # B is missing: left as it was
    county_figures_submit(user=gaolan_officer, rows=[county_row(**B)])

    figure = lanzhou_n95(lanzhou, n95)
    assert (figure.stock, figure.consumption) == (150, 15)
    assert figure.correction_reason == DERIVED_FROM_COUNTIES
    assert [h.stock for h in figure.history.order_by("history_date")] == [999, 150]


def test_the_snapshot_shows_the_derived_row(summed, n95, county_officer, gaolan_officer):
    county_figures_submit(user=county_officer, rows=[county_row()])
    county_figures_submit(user=gaolan_officer, rows=[county_row(**B)])

    snapshot_build_for_date(date=TODAY)

    row = SnapshotRow.objects.get(prefecture=summed, item=n95, date=TODAY)
    assert (row.stock, row.consumption, row.demand) == (150, 15, 18)
    # Days of cover: 150 / 15 = 10.00, green.
    assert row.days_of_cover == 10
    assert row.status == "green"
    reporting = ReportingStatus.objects.get(prefecture=summed, date=TODAY)
    assert (reporting.state, reporting.items_reported) == ("on_time", 1)


def test_the_snapshot_counts_the_prefecture_missing_until_every_county_reported(
    summed, n95, county_officer
):
    county_figures_submit(user=county_officer, rows=[county_row()])

    snapshot_build_for_date(date=TODAY)

    reporting = ReportingStatus.objects.get(prefecture=summed, date=TODAY)
    assert (reporting.state, reporting.items_reported) == ("missing", 0)


# --- Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["office", "officer"])
def test_nobody_enters_a_summed_prefectures_own_rows(request, summed, n95, who):
    row = {
        "prefecture": "620100",
        "item": "FH001",
        "date": TODAY.isoformat(),
        "stock": 1,
        "received": 0,
        "consumption": 0,
        "demand": 0,
        "expected_arrivals_3d": 0,
    }
    with translation.override("en"), pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=request.getfixturevalue(who), rows=[row])

    assert errors_of(excinfo) == [(0, "prefecture")]
    assert excinfo.value.errors[0].message == (
        "Lanzhou reports as the sum of its counties: its counties enter the figures."
    )
    assert not DailyFigure.objects.exists()


def test_a_prefecture_entering_its_own_figures_is_unaffected(tianshui, n95, outsider):
    row = {"prefecture": "620500", "item": "FH001", "date": TODAY.isoformat()}
    row.update(stock=5, received=0, consumption=1, demand=1, expected_arrivals_3d=0)

    assert daily_figures_submit(user=outsider, rows=[row]).created == 1


@pytest.mark.parametrize("who", ["gaolan_officer", "qinzhou_officer", "officer", "lead"])
def test_only_its_own_officer_and_the_office_write_a_county(request, summed, n95, who):
    """B's officer, a county officer of Tianshui, Lanzhou's own officer and its lead may not
    write A's rows: out of scope, nothing saved."""
    with pytest.raises(CountyFiguresOutOfScope) as excinfo:
        county_figures_submit(user=request.getfixturevalue(who), rows=[county_row()])

    assert excinfo.value.rows == [0]
    assert not CountyDailyFigure.objects.exists()


def test_the_office_writes_any_county(summed, n95, office):
    result = county_figures_submit(user=office, rows=[county_row(), county_row(**B)])
    assert result.created == 2
    assert lanzhou_n95(summed, n95).stock == 150


def test_a_county_of_a_prefecture_entering_its_own_figures_is_refused(
    tianshui, qinzhou, n95, qinzhou_officer
):
    with translation.override("en"), pytest.raises(CountyFiguresInvalid) as excinfo:
        county_figures_submit(user=qinzhou_officer, rows=[county_row(county="620502")])

    assert errors_of(excinfo) == [(0, "county")]
    assert excinfo.value.errors[0].message == (
        "Tianshui does not report as the sum of its counties: its officers enter its figures."
    )
    assert not CountyDailyFigure.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("county", "62\x000123", "Unknown county code."),
        ("county", "999999", "Unknown county code."),
        ("item", "FH\x00001", "Unknown item code."),
        ("stock", 10**20, "This number is too large."),
        ("stock", "99999999999999999999999", "This number is too large."),
        ("consumption", -1, "Must be zero or more."),
        ("demand", "1.5", "Enter a whole number."),
        ("date", "2020-02-30", None),
        ("date", "2020-02-11", None),  # tomorrow
        ("date", "1999-12-31", None),
    ],
)
def test_bad_input_is_refused_by_row_and_field(summed, n95, office, field, value, message):
    """Row 0 (county B) is fine, row 1 (county A) has one bad field: a 400 naming row 1 and
    that field on PostgreSQL (NUL never reaches a query), and nothing saved."""
    rows = [county_row(**B), county_row(**{field: value})]

    with translation.override("en"), pytest.raises(CountyFiguresInvalid) as excinfo:
        county_figures_submit(user=office, rows=rows)

    assert errors_of(excinfo) == [(1, field)]
    if message:
        assert excinfo.value.errors[0].message == message
    assert not CountyDailyFigure.objects.exists()
    assert not DailyFigure.objects.exists()


def test_a_past_correction_needs_a_reason(summed, n95, county_officer, frozen):
    county_figures_submit(user=county_officer, rows=[county_row()])
    frozen.move_to(MORNING.replace(day=11))

    with pytest.raises(CountyFiguresInvalid) as excinfo:
        county_figures_submit(user=county_officer, rows=[county_row(stock=90)])

    assert errors_of(excinfo) == [(0, "reason")]
    assert CountyDailyFigure.objects.get().stock == 100


# --- The office's switch -----------------------------------------------------------------------


def test_the_office_switches_a_prefecture_with_its_history(lanzhou, yuzhong, office):
    prefecture_set_reports_as_sum(user=office, prefecture=lanzhou, value=True)

    lanzhou.refresh_from_db()
    assert lanzhou.reports_as_sum_of_counties is True
    last = lanzhou.history.order_by("history_id").last()
    assert last.history_user == office
    assert last.history_change_reason == "reports_as_sum_of_counties_on"

    prefecture_set_reports_as_sum(user=office, prefecture=lanzhou, value=False)
    lanzhou.refresh_from_db()
    assert lanzhou.reports_as_sum_of_counties is False


@pytest.mark.parametrize("who", ["officer", "lead", "leader", "county_officer"])
def test_only_the_office_switches(request, lanzhou, yuzhong, who):
    with pytest.raises(PermissionDenied):
        prefecture_set_reports_as_sum(
            user=request.getfixturevalue(who), prefecture=lanzhou, value=True
        )
    lanzhou.refresh_from_db()
    assert lanzhou.reports_as_sum_of_counties is False


def test_a_prefecture_without_an_active_county_cannot_report_as_their_sum(lanzhou, office):
    with pytest.raises(SumOfCountiesRefused) as excinfo:
        prefecture_set_reports_as_sum(user=office, prefecture=lanzhou, value=True)

    assert "兰州市" in excinfo.value.message
    lanzhou.refresh_from_db()
    assert lanzhou.reports_as_sum_of_counties is False


# --- In bulk -----------------------------------------------------------------------------------


def _grid(counties, items):
    return [
        {
            "county": county.code,
            "item": item.code,
            "date": TODAY.isoformat(),
            "stock": 10,
            "received": 1,
            "consumption": 2,
            "demand": 3,
            "expected_arrivals_3d": 0,
        }
        for county in counties
        for item in items
    ]


def _province(code, n_counties, n_items):
    """A prefecture reporting as the sum of `n_counties` counties, and `n_items` items."""
    prefecture = PrefectureFactory(code=code, name_zh=f"市{code}")
    prefecture.reports_as_sum_of_counties = True
    prefecture.save()
    counties = [
        County.objects.create(prefecture=prefecture, code=f"{code[:4]}{n:02d}", name_zh=f"县{n}")
        for n in range(1, n_counties + 1)
    ]
    items = [ItemFactory(code=f"{code[:4]}-{n:03d}") for n in range(n_items)]
    return prefecture, counties, items


def test_a_grid_of_15_counties_and_30_items_derives_in_a_few_queries(
    office, django_assert_max_num_queries
):
    """450 county rows completing 30 prefecture rows take no more queries than 2 × 2."""
    _small, small_counties, small_items = _province("621100", 2, 2)
    with django_assert_max_num_queries(40) as small:
        county_figures_submit(user=office, rows=_grid(small_counties, small_items))
    prefecture, counties, items = _province("621200", 15, 30)

    with django_assert_max_num_queries(len(small)):
        result = county_figures_submit(user=office, rows=_grid(counties, items))

    assert result.created == 450
    # Each prefecture row: 15 counties × 10 of stock, 15 × 2 of consumption.
    assert (
        sorted(
            DailyFigure.objects.filter(prefecture=prefecture).values_list("stock", "consumption")
        )
        == [(150, 30)] * 30
    )

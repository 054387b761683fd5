"""The production dashboard: who may see it, what each panel shows, flat query counts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from production.models import (
    Licence,
    LicenceKind,
    LineStatus,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Producer,
    ProducerStatus,
    ProductionLine,
    ProductionReport,
)
from reports.models import ProvinceRollup
from reports.production_dashboard import production_dashboard, resumption_series
from supplycoord.lib.credit_code import check_character
from tests.factories import ItemFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
URL = reverse("reports:production_dashboard")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


def at(day: dt.date, hour=10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


def report(producer, item, day, output, *, by, factory_stock=0):
    return ProductionReport.objects.create(
        producer=producer,
        item=item,
        date=day,
        output=output,
        factory_stock=factory_stock,
        submitted_by=by,
        first_submitted_at=at(day, 15),
        submitted_at=at(day, 15),
    )


def rollup(item, day, consumption):
    return ProvinceRollup.objects.create(
        date=day, item=item, consumption=consumption, status="green", built_at=at(day, 17)
    )


def problem(producer, *, reported, by, category=ProblemCategory.RAW_MATERIALS, **extra):
    return Problem.objects.create(
        producer=producer,
        category=category,
        description=f"{category} since {reported:%m-%d}",
        reported_by=by,
        reported_at=reported,
        **extra,
    )


def get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


# --- Who may see it ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "outsider", "reporter"])
def test_it_forbids_officers_and_reporters(client, role, request):
    assert get(client, request.getfixturevalue(role)).status_code == 403


@pytest.mark.parametrize("role", ["office", "leader", "admin_user"])
def test_it_shows_the_whole_province_readers(client, role, request, reporting_producer):
    response = get(client, request.getfixturevalue(role))
    assert response.status_code == 200
    assert response.context["date"] == DAY


def test_it_sends_anonymous_visitors_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


# --- The date and item pickers ----------------------------------------------------------


def test_it_shows_today_for_an_unreadable_date_and_says_so(client, office, reporting_producer):
    response = get(client, office, date="2020-02-31")
    assert response.context["date"] == DAY
    assert "2020-02-31" in response.content.decode()


def test_it_shows_today_for_a_future_date(client, office, reporting_producer):
    assert get(client, office, date="2020-03-01").context["date"] == DAY


def test_it_opens_on_the_latest_reported_day(client, office, reporting_producer, n95):
    """Reports stopped coming two days ago (or the data is history): open where they end."""
    report(reporting_producer, n95, DAY - dt.timedelta(days=2), 50_000, by=office)
    report(reporting_producer, n95, DAY + dt.timedelta(days=3), 1, by=office)  # a future typo
    assert get(client, office).context["date"] == DAY - dt.timedelta(days=2)


def test_it_opens_on_the_first_item_with_lines_and_switches_item(
    client, office, reporting_producer, n95
):
    suits = ItemFactory(code="FH010", sort_order=50)
    ProductionLine.objects.create(
        producer=reporting_producer, item=suits, daily_capacity=2_000, status=LineStatus.BUILDING
    )
    assert get(client, office).context["data"].item == n95
    response = get(client, office, item="FH010", date="2020-02-05")
    assert response.context["data"].item == suits
    assert response.context["date"] == dt.date(2020, 2, 5)
    # An unknown code falls back to the first item rather than an empty page.
    assert get(client, office, item="NOPE").context["data"].item == n95


# --- (a) capacity, output and consumption --------------------------------------------------


def test_it_charts_capacity_output_and_consumption_of_the_item(
    client, office, reporter, reporting_producer, other_reporting_producer, n95
):
    # Tianshui's 50,000 line came into production on 8 February; a building line never counts.
    ProductionLine.objects.filter(producer=other_reporting_producer).update(
        actual_commissioning=dt.date(2020, 2, 8)
    )
    ProductionLine.objects.create(
        producer=reporting_producer, item=n95, daily_capacity=70_000, status=LineStatus.BUILDING
    )
    report(reporting_producer, n95, dt.date(2020, 2, 9), 80_000, by=reporter)
    report(other_reporting_producer, n95, dt.date(2020, 2, 9), 45_000, by=reporter)
    report(reporting_producer, n95, DAY, 90_000, by=reporter)
    rollup(n95, dt.date(2020, 2, 9), 260_000)

    response = get(client, office)

    series = response.context["data"].series
    assert len(series.dates) == 30
    assert series.dates[0] == dt.date(2020, 1, 12)
    assert series.dates[-1] == DAY
    rows = {day: (cap, out, cons) for day, cap, out, cons in series.rows()}
    assert rows[dt.date(2020, 2, 7)] == (100_000, None, None)
    assert rows[dt.date(2020, 2, 9)] == (150_000, 125_000, 260_000)
    assert rows[DAY] == (150_000, 90_000, None)
    html = response.content.decode()
    assert "125,000" in html
    assert "260,000" in html
    assert 'data-chart="production-capacity"' in html
    assert 'id="capacity-data"' in html


def test_it_shows_capacity_by_item_and_the_when_all_built_totals(
    client, office, reporting_producer, other_reporting_producer, n95
):
    surgical = ItemFactory(code="FH002", sort_order=5)
    suits = ItemFactory(code="FH010", unit="set", sort_order=9)
    ProductionLine.objects.create(
        producer=reporting_producer, item=n95, daily_capacity=23_000, status=LineStatus.PLANNED
    )
    ProductionLine.objects.create(
        producer=reporting_producer,
        item=surgical,
        daily_capacity=400_000,
        status=LineStatus.COMMISSIONED,
    )
    ProductionLine.objects.create(
        producer=other_reporting_producer,
        item=suits,
        daily_capacity=10_000,
        status=LineStatus.BUILDING,
    )
    ProductionLine.objects.create(
        producer=other_reporting_producer,
        item=suits,
        daily_capacity=99_999,
        status=LineStatus.STOPPED,
    )

    response = get(client, office)
    data = response.context["data"]

    assert [(i.code, i.commissioned, i.when_all_built) for i in data.items] == [
        ("FH001", 150_000, 173_000),
        ("FH002", 400_000, 400_000),
        ("FH010", 0, 10_000),
    ]
    # Pieces and sets are not added together.
    totals = {t.unit: (t.commissioned, t.when_all_built) for t in data.unit_totals}
    assert totals == {"piece": (550_000, 573_000), "set": (0, 10_000)}
    html = response.content.decode()
    assert "550,000" in html
    assert "573,000" in html
    lines = {row.status: (row.count, row.capacity) for row in data.lines}
    assert lines == {
        "planned": (1, 23_000),
        "building": (1, 10_000),
        "commissioned": (3, 550_000),
        "stopped": (1, 99_999),
    }


# --- (d) producers by status and (e) resumption --------------------------------------------


def credit_code(n: int) -> str:
    base = f"91620100MA{n:07d}"
    return base + check_character(base)


def make_producer(name, code, prefecture, **fields):
    return Producer.objects.create(name=name, credit_code=code, prefecture=prefecture, **fields)


@pytest.fixture
def resuming(lanzhou):
    """Five producers; four monitored. Worked by hand:

    A resumed 3 Feb, producing        → back from 3 Feb
    B resumed 8 Feb, resumed          → back from 8 Feb
    C resumed 5 Feb, stopped since    → never counted back
    D no resumption date, building    → not back
    E resumed 1 Feb but not monitored (inactive) → in neither count
    """
    codes = (credit_code(n) for n in range(5))
    make_producer("A", next(codes), lanzhou, resumption_date=dt.date(2020, 2, 3))
    make_producer(
        "B",
        next(codes),
        lanzhou,
        status=ProducerStatus.RESUMED,
        resumption_date=dt.date(2020, 2, 8),
    )
    make_producer(
        "C",
        next(codes),
        lanzhou,
        status=ProducerStatus.STOPPED,
        resumption_date=dt.date(2020, 2, 5),
    )
    make_producer("D", next(codes), lanzhou, status=ProducerStatus.BUILDING_LINES)
    make_producer("E", next(codes), lanzhou, active=False, resumption_date=dt.date(2020, 2, 1))


def test_it_computes_the_share_of_monitored_producers_back_in_production(resuming):
    series = resumption_series(end=DAY)

    assert series.monitored == 4
    by_day = {day: (back, share) for day, back, share in series.rows()}
    assert by_day[dt.date(2020, 2, 2)] == (0, 0.0)
    assert by_day[dt.date(2020, 2, 3)] == (1, 0.25)
    assert by_day[dt.date(2020, 2, 7)] == (1, 0.25)
    assert by_day[dt.date(2020, 2, 8)] == (2, 0.5)
    assert by_day[DAY] == (2, 0.5)
    assert series.as_chart()["share"][-1] == 50.0


def test_it_counts_monitored_producers_by_status(client, office, resuming):
    response = get(client, office)
    counts = {row.status: row.count for row in response.context["data"].producers}
    assert counts == {
        "producing": 1,
        "converting": 0,
        "building_lines": 1,
        "resumed": 1,
        "stopped": 1,
    }
    html = response.content.decode()
    assert 'data-chart="production-resumption"' in html
    assert "2 / 4" in html


def test_it_has_no_share_without_monitored_producers(db):
    series = resumption_series(end=DAY)
    assert series.monitored == 0
    assert set(series.shares) == {None}


# --- (f) licences ---------------------------------------------------------------------------


def test_it_lists_expired_and_expiring_licences(client, office, producer, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "LICENCE_WARNING_DAYS": 14}

    def licence(number, expires):
        return Licence.objects.create(
            producer=producer,
            kind=LicenceKind.PRODUCTION_LICENCE,
            number=number,
            issued=dt.date(2019, 1, 1),
            expires=expires,
        )

    expired = licence("L-OLD", dt.date(2020, 2, 9))
    edge = licence("L-EDGE", dt.date(2020, 2, 24))
    licence("L-LATER", dt.date(2020, 2, 25))

    response = get(client, office)

    licences = response.context["data"].licences
    assert licences.expired == [expired]
    assert licences.expiring == [edge]
    html = response.content.decode()
    assert "L-EDGE" in html
    assert "L-LATER" not in html
    assert reverse("production:producer_detail", args=[producer.pk]) in html


# --- (g) problems by category and age -----------------------------------------------------


def test_it_counts_open_problems_by_category_and_age(client, office, producer, reporter):
    oldest = problem(producer, reported=at(dt.date(2020, 2, 1)), by=reporter)  # 9 days
    problem(producer, reported=at(dt.date(2020, 2, 3), 23), by=reporter)  # 7 days
    problem(producer, reported=at(dt.date(2020, 2, 4), 0), by=reporter)  # 6 days
    problem(
        producer,
        reported=at(dt.date(2020, 2, 7)),
        by=reporter,
        category=ProblemCategory.LOGISTICS,
        status=ProblemStatus.IN_PROGRESS,
        owner=office,
    )  # 3 days
    problem(producer, reported=at(dt.date(2020, 2, 8), 23), by=reporter)  # 2 days
    problem(producer, reported=at(DAY, 9), by=reporter, category=ProblemCategory.LABOUR)  # 0
    # Resolved on 9 February: open on the 8th, not on the 10th.
    problem(
        producer,
        reported=at(dt.date(2020, 2, 5)),
        by=reporter,
        category=ProblemCategory.FUNDING,
        status=ProblemStatus.RESOLVED,
        resolution="paid",
        resolved_by=office,
        resolved_at=at(dt.date(2020, 2, 9)),
    )

    response = get(client, office)

    grid = response.context["data"].problems
    rows = {row.category: row.buckets for row in grid.rows}
    assert rows["raw_materials"] == [1, 1, 2]
    assert rows["logistics"] == [0, 1, 0]
    assert rows["labour"] == [1, 0, 0]
    assert rows["funding"] == [0, 0, 0]
    assert grid.totals == [2, 2, 2]
    assert grid.oldest[0] == oldest
    assert grid.oldest[0].age == 9
    assert reverse("production:producer_detail", args=[producer.pk]) in response.content.decode()

    earlier = production_dashboard(date=dt.date(2020, 2, 8)).problems
    assert {row.category: row.buckets for row in earlier.rows}["funding"] == [0, 1, 0]


# --- (h) utilisation ------------------------------------------------------------------------


def test_it_flags_low_utilisation_with_a_link_to_the_producer(
    client, office, reporter, reporting_producer, other_reporting_producer, n95
):
    for day in (dt.date(2020, 2, 8), dt.date(2020, 2, 9), DAY):
        report(reporting_producer, n95, day, 30_000, by=reporter)  # 30% of 100,000
        report(other_reporting_producer, n95, day, 45_000, by=reporter)  # 90% of 50,000

    response = get(client, office)

    flags = response.context["data"].utilisation_flags
    assert [(f.producer, f.item) for f in flags] == [(reporting_producer, n95)]
    html = response.content.decode()
    assert "30%" in html
    assert reverse("production:producer_detail", args=[reporting_producer.pk]) in html


# --- Query counts ----------------------------------------------------------------------------


def populate(prefecture, n95, reporter, *, producers, days):
    """`producers` producers with two lines, licences, problems and `days` days of reports."""
    surgical = ItemFactory(code="FH002")
    for index in range(producers):
        p = make_producer(
            f"P{index}",
            credit_code(index),
            prefecture,
            resumption_date=DAY - dt.timedelta(days=index % 20),
        )
        for item, capacity in ((n95, 10_000), (surgical, 50_000)):
            ProductionLine.objects.create(
                producer=p, item=item, daily_capacity=capacity, status=LineStatus.COMMISSIONED
            )
        Licence.objects.create(
            producer=p,
            kind=LicenceKind.OTHER,
            number=f"L{index}",
            issued=dt.date(2019, 1, 1),
            expires=DAY + dt.timedelta(days=index % 20),
        )
        problem(p, reported=at(DAY - dt.timedelta(days=index % 10)), by=reporter)
        for n in range(days):
            day = DAY - dt.timedelta(days=n)
            report(p, n95, day, 1_000 * (index + 1), by=reporter)
            report(p, surgical, day, 5_000, by=reporter)
            if index == 0:
                rollup(n95, day, 100_000)


@pytest.mark.parametrize(("producers", "days"), [(1, 2), (15, 30)])
def test_its_query_count_does_not_grow_with_the_data(
    client, office, reporter, lanzhou, n95, producers, days, django_assert_max_num_queries
):
    populate(lanzhou, n95, reporter, producers=producers, days=days)
    client.force_login(office)
    # 14 for the panels (below), the session and the user; a little room for the layout.
    with django_assert_max_num_queries(18):
        response = client.get(URL)
    assert response.status_code == 200
    assert len(response.context["data"].licences.expiring) == min(producers, 15)


def test_its_dashboard_selector_reads_a_fixed_number_of_queries(
    reporter, lanzhou, n95, django_assert_num_queries
):
    populate(lanzhou, n95, reporter, producers=3, days=3)
    # 14: utilisation reads the reporting producers and items once each, as values (issue 13),
    # not as 30,000 instances joined to the reports.
    with django_assert_num_queries(14):
        production_dashboard(date=DAY)

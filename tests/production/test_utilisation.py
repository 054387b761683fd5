"""Utilisation = output ÷ commissioned capacity, flagged under 60 % for 3 reported days running."""

import datetime as dt

import pytest

from production.models import LineStatus, Producer, ProductionLine, ProductionReport
from production.selectors import commissioned_capacity_on, utilisation, utilisation_flags

D = dt.date(2020, 2, 20)


def report(producer, item, day, output, user):
    return ProductionReport.objects.create(
        producer=producer,
        item=item,
        date=day,
        output=output,
        factory_stock=0,
        submitted_by=user,
        first_submitted_at=dt.datetime(2020, 2, 20, tzinfo=dt.UTC),
        submitted_at=dt.datetime(2020, 2, 20, tzinfo=dt.UTC),
    )


def days_back(n):
    return D - dt.timedelta(days=n)


def test_capacity_on_a_day_counts_lines_commissioned_by_then(producer, n95):
    ProductionLine.objects.create(
        producer=producer,
        item=n95,
        daily_capacity=100,
        status=LineStatus.COMMISSIONED,
        actual_commissioning=days_back(5),
    )
    ProductionLine.objects.create(
        producer=producer,
        item=n95,
        daily_capacity=50,
        status=LineStatus.COMMISSIONED,
        actual_commissioning=D,
    )
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=70, status=LineStatus.BUILDING
    )
    lines = list(producer.lines.all())
    assert commissioned_capacity_on(lines, days_back(6)) == 0
    assert commissioned_capacity_on(lines, days_back(1)) == 100
    assert commissioned_capacity_on(lines, D) == 150


def test_utilisation_divides_output_by_that_days_capacity(reporting_producer, n95, office):
    report(reporting_producer, n95, D, 75_000, office)
    (row,) = utilisation(producers=Producer.objects.all(), date_from=D, date_to=D)
    assert (row.output, row.capacity, row.ratio) == (75_000, 100_000, 0.75)


def test_three_low_days_running_are_flagged(reporting_producer, n95, office):
    """59,999 / 100,000 is under 60 %; 60,000 is not."""
    for n, output in ((2, 50_000), (1, 59_999), (0, 40_000)):
        report(reporting_producer, n95, days_back(n), output, office)
    (flag,) = utilisation_flags(producers=Producer.objects.all(), today=D)
    assert flag.producer == reporting_producer
    assert [d.output for d in flag.days] == [50_000, 59_999, 40_000]
    assert flag.latest.ratio == 0.4


@pytest.mark.parametrize(
    "outputs",
    [
        {2: 50_000, 1: 60_000, 0: 40_000},  # one day at exactly 60 %
        {2: 50_000, 0: 40_000},  # a day without a report breaks the run
        {1: 10_000, 0: 10_000},  # only two days
    ],
)
def test_no_flag_without_three_reported_low_days(reporting_producer, n95, office, outputs):
    for n, output in outputs.items():
        report(reporting_producer, n95, days_back(n), output, office)
    assert utilisation_flags(producers=Producer.objects.all(), today=D) == []


def test_no_commissioned_capacity_is_not_low_utilisation(producer, n95, office):
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=100, status=LineStatus.BUILDING
    )
    for n in range(3):
        report(producer, n95, days_back(n), 0, office)
    assert utilisation_flags(producers=Producer.objects.all(), today=D) == []


def test_the_threshold_and_run_length_are_settings(settings, reporting_producer, n95, office):
    settings.SUPPLYCOORD = {
        **settings.SUPPLYCOORD,
        "UTILISATION_FLAG_BELOW": 0.8,
        "UTILISATION_FLAG_DAYS": 2,
    }
    for n in range(2):
        report(reporting_producer, n95, days_back(n), 70_000, office)
    assert len(utilisation_flags(producers=Producer.objects.all(), today=D)) == 1

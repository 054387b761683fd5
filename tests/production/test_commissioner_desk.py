"""A commissioner's desk: their producers, today's reports with missing ones first, open problems."""

import datetime as dt

from production.models import LineStatus, Producer, ProductionLine
from production.selectors import commissioner_desk
from production.services import problem_report, problem_resolve, production_reports_submit
from tests.factories import ItemFactory

TODAY = dt.date(2020, 2, 20)


def test_missing_reports_come_first_and_only_open_problems_show(
    reporter, reporting_producer, other_reporting_producer, office, n95, time_machine
):
    time_machine.move_to(dt.datetime(2020, 2, 20, 10, 0))
    suits = ItemFactory(code="FH010", sort_order=5)
    ProductionLine.objects.create(
        producer=reporting_producer, item=suits, daily_capacity=500, status=LineStatus.BUILDING
    )
    production_reports_submit(
        user=reporter,
        rows=[
            {
                "producer": reporting_producer.credit_code,
                "item": "FH001",
                "date": TODAY.isoformat(),
                "output": 1,
                "factory_stock": 1,
            }
        ],
    )
    open_one = problem_report(
        user=reporter, producer=reporting_producer, category="labour", description="缺工人"
    )
    done = problem_report(
        user=reporter, producer=reporting_producer, category="funding", description="资金"
    )
    problem_resolve(user=office, problem=done, resolution="贷款到位")

    desk = commissioner_desk(reporter, today=TODAY)

    assert desk.producers == [reporting_producer]
    assert [(item.code, report is None) for _, item, report in desk.today_reports] == [
        ("FH010", True),
        ("FH001", False),
    ]
    assert desk.missing_count == 1
    assert desk.open_problems == [open_one]


def test_the_office_desk_covers_every_active_producer(
    office, reporting_producer, other_reporting_producer
):
    Producer.objects.filter(pk=other_reporting_producer.pk).update(active=False)
    desk = commissioner_desk(office, today=TODAY)
    assert desk.producers == [reporting_producer]

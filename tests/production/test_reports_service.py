"""production_reports_submit: all-or-nothing daily production reports, corrections with
history, and deliveries into the held reserve booked in the ledger (and so in the snapshot)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from inventory.models import StockBalance, StockEvent, StockEventKind
from inventory.services import stock_issue
from production.models import ProductionReport
from production.services import (
    ProductionReportsInvalid,
    ProductionReportsOutOfScope,
    production_reports_submit,
)
from reports.models import ProvinceRollup
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, ItemFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 2, 20)
CODE = "91350100M000100Y43"  # reporting_producer's credit code


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


def row(**overrides):
    values = {
        "producer": CODE,
        "item": "FH001",
        "date": TODAY.isoformat(),
        "output": 80_000,
        "to_reserve": 0,
        "to_prefectures": 50_000,
        "to_market": 0,
        "factory_stock": 30_000,
        "held_for_province": 0,
        "raw_material_days": 12,
    }
    values.update(overrides)
    return values


def held_balance(producer, item):
    balance = StockBalance.objects.filter(
        warehouse=producer.held_reserve_warehouse, item=item
    ).first()
    return balance.quantity if balance else 0


def test_a_reporter_saves_a_days_report_for_their_producer(reporter, reporting_producer):
    result = production_reports_submit(user=reporter, rows=[row()])

    assert result.as_dict() == {"created": 1, "updated": 0, "unchanged": 0}
    report = ProductionReport.objects.get()
    assert (report.output, report.to_prefectures, report.factory_stock) == (80_000, 50_000, 30_000)
    assert report.shipped == 50_000
    assert report.raw_material_days == 12
    assert report.submitted_by == reporter


def test_optional_shipments_default_to_zero_and_raw_material_days_to_unknown(
    reporter, reporting_producer
):
    production_reports_submit(
        user=reporter,
        rows=[
            {
                "producer": CODE,
                "item": "FH001",
                "date": "2020-02-20",
                "output": "１，０００",
                "factory_stock": 1000,
            }
        ],
    )
    report = ProductionReport.objects.get()
    assert (report.output, report.to_reserve, report.to_market) == (1000, 0, 0)
    assert report.raw_material_days is None


def test_one_bad_row_saves_nothing_and_every_error_names_its_row_and_field(
    reporter, reporting_producer
):
    rows = [
        row(),
        row(date="2020-02-19", output=-5, held_for_province=40_000),  # held > stock 30,000
        row(date="2020-02-21"),  # the future
    ]
    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=rows)

    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {(1, "output"), (1, "held_for_province"), (2, "date")}
    assert not ProductionReport.objects.exists()


def test_an_item_without_a_line_at_the_producer_is_refused(reporter, reporting_producer):
    ItemFactory(code="FH002")
    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=[row(item="FH002")])
    assert [(e.row, e.field) for e in caught.value.errors] == [(0, "item")]


def test_unknown_producer_codes_and_duplicates_are_named(reporter, reporting_producer):
    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(
            user=reporter, rows=[row(), row(), row(producer="91110108551385082X")]
        )
    assert {(e.row, e.field) for e in caught.value.errors} == {(1, "item"), (2, "producer")}


def test_a_reporter_cannot_report_for_another_producer(
    reporter, reporting_producer, other_reporting_producer
):
    with pytest.raises(ProductionReportsOutOfScope) as caught:
        production_reports_submit(
            user=reporter, rows=[row(), row(producer=other_reporting_producer.credit_code)]
        )
    assert caught.value.rows == [1]
    assert not ProductionReport.objects.exists()


@pytest.mark.parametrize("role", ["officer", "leader", "outsider_reporter"])
def test_officers_leadership_and_unassigned_reporters_cannot_report(
    request, role, reporting_producer
):
    with pytest.raises(ProductionReportsOutOfScope):
        production_reports_submit(user=request.getfixturevalue(role), rows=[row()])


def test_office_staff_report_for_any_producer_and_any_past_day(office, reporting_producer):
    production_reports_submit(user=office, rows=[row(date="2020-01-05")])
    assert ProductionReport.objects.get().date == dt.date(2020, 1, 5)


def test_a_reporter_may_not_go_back_beyond_the_window(reporter, reporting_producer):
    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=[row(date="2020-02-01")])
    assert [e.field for e in caught.value.errors] == ["date"]


def test_a_correction_keeps_the_old_figures_in_history(reporter, reporting_producer):
    production_reports_submit(user=reporter, rows=[row()])
    result = production_reports_submit(user=reporter, rows=[row(output=85_000)])

    assert result.as_dict() == {"created": 0, "updated": 1, "unchanged": 0}
    report = ProductionReport.objects.get()
    assert report.output == 85_000
    assert [h.output for h in report.history.order_by("history_date")] == [80_000, 85_000]
    assert production_reports_submit(user=reporter, rows=[row(output=85_000)]).unchanged == 1


def test_correcting_a_past_day_needs_a_reason(reporter, reporting_producer):
    production_reports_submit(user=reporter, rows=[row(date="2020-02-18")])
    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=[row(date="2020-02-18", output=1)])
    assert [(e.row, e.field) for e in caught.value.errors] == [(0, "reason")]

    production_reports_submit(
        user=reporter, rows=[row(date="2020-02-18", output=1)], reason="typo in output"
    )
    report = ProductionReport.objects.get()
    assert (report.output, report.correction_reason) == (1, "typo in output")


def test_delivery_into_the_held_reserve_books_a_receipt_and_reaches_the_snapshot(
    reporter, reporting_producer, n95
):
    """Prefecture stock 100, consumption 10 → 10 days. 20,000 delivered into the producer's
    held reserve: reserve 20,000, province cover (100 + 20,000) / 10 = 2,010 days."""
    DailyFigureFactory(
        prefecture=reporting_producer.prefecture, item=n95, date=TODAY, stock=100, consumption=10
    )
    production_reports_submit(
        user=reporter, rows=[row(to_reserve=20_000, held_for_province=20_000)]
    )

    report = ProductionReport.objects.get()
    receipt = report.reserve_receipt
    assert receipt.kind == StockEventKind.RECEIPT
    assert receipt.warehouse == reporting_producer.held_reserve_warehouse
    assert receipt.receipt_source == "own_production"
    assert held_balance(reporting_producer, n95) == 20_000

    snapshot_build_for_date(date=TODAY)
    rollup = ProvinceRollup.objects.get(date=TODAY, item=n95)
    assert rollup.reserve_stock == 20_000
    assert rollup.days_of_cover == Decimal("2010.00")


def test_correcting_the_delivery_reverses_the_receipt_and_books_the_new_quantity(
    reporter, reporting_producer, n95
):
    production_reports_submit(user=reporter, rows=[row(to_reserve=20_000)])
    first = ProductionReport.objects.get().reserve_receipt

    production_reports_submit(user=reporter, rows=[row(to_reserve=15_000)])

    report = ProductionReport.objects.get()
    assert held_balance(reporting_producer, n95) == 15_000
    assert StockEvent.objects.filter(reverses=first).exists()
    assert report.reserve_receipt != first

    production_reports_submit(user=reporter, rows=[row(to_reserve=0)])
    assert held_balance(reporting_producer, n95) == 0
    assert ProductionReport.objects.get().reserve_receipt is None


def test_a_correction_the_ledger_refuses_is_named_and_nothing_changes(
    office, reporter, reporting_producer, n95
):
    """The office dispatched 18,000 of the 20,000 delivered: lowering the delivery to 1,000
    would need the reversal to take 20,000 out, leaving the reserve negative."""
    production_reports_submit(user=reporter, rows=[row(to_reserve=20_000)])
    stock_issue(
        user=office,
        warehouse=reporting_producer.held_reserve_warehouse,
        lines=[(n95, 18_000)],
        issue_kind="dispatch",
    )

    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=[row(to_reserve=1_000)])

    assert [(e.row, e.field) for e in caught.value.errors] == [(0, "to_reserve")]
    assert ProductionReport.objects.get().to_reserve == 20_000
    assert held_balance(reporting_producer, n95) == 2_000


def test_a_delivery_needs_a_held_reserve_warehouse(reporter, producer, n95):
    from production.models import LineStatus, ProductionLine

    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=10, status=LineStatus.COMMISSIONED
    )
    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=[row(to_reserve=5)])
    assert [e.field for e in caught.value.errors] == ["to_reserve"]


def test_reporters_may_only_book_receipts_into_their_own_held_reserve(
    reporter, reporting_producer, n95
):
    """The permission that lets a report book its delivery does not open other postings."""
    from inventory.services import stock_receive

    with pytest.raises(PermissionDenied):
        stock_issue(
            user=reporter,
            warehouse=reporting_producer.held_reserve_warehouse,
            lines=[(n95, 1)],
            issue_kind="dispatch",
        )
    other = reporting_producer.held_reserve_warehouse
    reporting_producer.reporters.clear()
    with pytest.raises(PermissionDenied):
        stock_receive(user=reporter, warehouse=other, lines=[(n95, 1)], source="own_production")

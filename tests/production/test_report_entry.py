"""The daily production report form: prefill, all-or-nothing save, errors at their row and
field, corrections with a reason, and the held reserve booked in the ledger."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from inventory.models import StockBalance
from production.models import LineStatus, ProductionLine, ProductionReport
from production.services import production_reports_submit
from tests.factories import ItemFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
TODAY = dt.date(2020, 2, 10)
URL = reverse("production:report_entry")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def gown(reporting_producer):
    item = ItemFactory(code="FH002", name_zh="防护服", name_en="Protective gown", sort_order=5)
    ProductionLine.objects.create(
        producer=reporting_producer, item=item, daily_capacity=5000, status=LineStatus.BUILDING
    )
    return item


def post_data(producer, items, date=TODAY, **overrides):
    data = {"producer": producer.pk, "date": date.isoformat()}
    for item in items:
        for field, value in {
            "output": 80_000,
            "to_reserve": 0,
            "to_prefectures": 30_000,
            "to_market": 10_000,
            "factory_stock": 40_000,
            "held_for_province": 20_000,
            "raw_material_days": 12,
        }.items():
            data[f"{item.code}-{field}"] = value
    data.update(overrides)
    return data


def entry_url(producer, date=TODAY):
    return f"{URL}?producer={producer.pk}&date={date.isoformat()}"


def test_it_shows_one_row_per_line_item(client, reporter, reporting_producer, n95, gown):
    ItemFactory(code="XD001")  # no line: not on the form
    client.force_login(reporter)
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="FH001-output" value=""' in content
    assert 'name="FH002-factory_stock" value=""' in content
    assert "XD001" not in content
    assert reverse("production:report_import") in content
    assert [r.item.code for r in response.context["rows"]] == ["FH001", "FH002"]


def test_it_prefills_the_report_already_entered(client, reporter, reporting_producer, n95):
    production_reports_submit(
        user=reporter,
        rows=[
            {
                "producer": reporting_producer,
                "item": n95,
                "date": TODAY,
                "output": 76_543,
                "factory_stock": 1000,
            }
        ],
    )
    client.force_login(reporter)
    content = client.get(entry_url(reporting_producer)).content.decode()
    assert 'name="FH001-output" value="76543"' in content
    assert 'name="FH001-raw_material_days" value=""' in content


def test_it_saves_every_row_and_books_the_reserve_receipt(
    client, reporter, reporting_producer, n95, gown, held_warehouse
):
    client.force_login(reporter)
    data = post_data(reporting_producer, [n95, gown], **{"FH001-to_reserve": 25_000})

    response = client.post(URL, data)

    assert response.status_code == 302
    assert response.url == entry_url(reporting_producer)
    assert ProductionReport.objects.filter(producer=reporting_producer, date=TODAY).count() == 2
    report = ProductionReport.objects.get(item=n95, date=TODAY)
    assert (report.output, report.to_reserve, report.held_for_province) == (80_000, 25_000, 20_000)
    assert report.submitted_by == reporter and report.reserve_receipt is not None
    balance = StockBalance.objects.get(warehouse=held_warehouse, item=n95)
    assert balance.quantity == 25_000
    followed = client.get(response.url)
    assert 'name="FH001-to_reserve" value="25000"' in followed.content.decode()


def test_the_office_may_report_for_any_active_producer(
    client, office, reporting_producer, other_reporting_producer, n95
):
    client.force_login(office)
    response = client.get(entry_url(other_reporting_producer))
    assert response.status_code == 200
    assert {p.pk for p in response.context["producers"]} == {
        reporting_producer.pk,
        other_reporting_producer.pk,
    }
    assert client.post(URL, post_data(other_reporting_producer, [n95])).status_code == 302
    assert ProductionReport.objects.filter(producer=other_reporting_producer).count() == 1


def test_it_saves_nothing_and_names_each_bad_row_and_field(
    client, reporter, reporting_producer, n95, gown
):
    client.force_login(reporter)
    data = post_data(
        reporting_producer,
        [n95, gown],
        **{"FH001-output": "-5", "FH002-held_for_province": "50000", "FH002-factory_stock": "1"},
    )

    response = client.post(URL, data)

    assert response.status_code == 200
    assert ProductionReport.objects.count() == 0
    content = response.content.decode()
    assert 'id="entry-errors"' in content
    assert 'id="err-FH001-output"' in content
    assert 'id="err-FH002-held_for_province"' in content
    assert 'id="err-FH001-held_for_province"' not in content
    # What was typed comes back so nothing has to be retyped.
    assert 'name="FH002-factory_stock" value="1"' in content
    rows = response.context["rows"]
    assert set(rows[0].errors) == {"output"} and set(rows[1].errors) == {"held_for_province"}


def test_a_missing_required_figure_is_named(client, reporter, reporting_producer, n95):
    client.force_login(reporter)
    response = client.post(URL, post_data(reporting_producer, [n95], **{"FH001-factory_stock": ""}))
    assert response.status_code == 200
    assert 'id="err-FH001-factory_stock"' in response.content.decode()
    assert ProductionReport.objects.count() == 0


def test_a_correction_of_a_past_date_needs_a_reason(
    client, reporter, reporting_producer, n95, held_warehouse
):
    yesterday = TODAY - dt.timedelta(days=1)
    client.force_login(reporter)
    data = post_data(reporting_producer, [n95], date=yesterday, **{"FH001-to_reserve": 10_000})
    assert client.post(URL, data).status_code == 302
    form = client.get(entry_url(reporting_producer, yesterday))
    assert form.context["already_entered"] and 'name="reason"' in form.content.decode()

    corrected = {**data, "FH001-to_reserve": 4_000}
    client.cookies["django_language"] = "en"
    response = client.post(URL, corrected)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="entry-errors"' in content
    assert "A correction of a past date needs a reason." in content
    assert ProductionReport.objects.get(date=yesterday).to_reserve == 10_000

    response = client.post(URL, {**corrected, "reason": "少报了"})

    assert response.status_code == 302
    report = ProductionReport.objects.get(date=yesterday)
    assert (report.to_reserve, report.correction_reason) == (4_000, "少报了")
    assert StockBalance.objects.get(warehouse=held_warehouse, item=n95).quantity == 4_000


def test_a_bad_date_opens_todays_form(client, reporter, reporting_producer, n95):
    client.force_login(reporter)
    for bad in ("2020-02-11", "not-a-date"):
        response = client.get(f"{URL}?producer={reporting_producer.pk}&date={bad}")
        assert response.status_code == 200
        assert response.context["date"] == TODAY


def test_a_reporter_may_not_report_for_another_producer(
    client, reporter, reporting_producer, other_reporting_producer, n95
):
    client.force_login(reporter)
    assert client.get(entry_url(other_reporting_producer)).status_code == 404
    response = client.post(URL, post_data(other_reporting_producer, [n95]))
    assert response.status_code == 404
    assert ProductionReport.objects.count() == 0


def test_an_outsider_reporter_has_no_producer_to_report_for(
    client, outsider_reporter, reporting_producer, n95
):
    client.force_login(outsider_reporter)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["producer"] is None
    assert client.post(URL, post_data(reporting_producer, [n95])).status_code == 404


@pytest.mark.parametrize("who", ["officer", "leader"])
def test_officers_and_leadership_may_not_enter_reports(
    client, request, who, reporting_producer, n95
):
    client.force_login(request.getfixturevalue(who))
    assert client.get(entry_url(reporting_producer)).status_code == 403
    assert client.post(URL, post_data(reporting_producer, [n95])).status_code == 403
    assert ProductionReport.objects.count() == 0


def test_a_save_without_a_producer_is_refused(client, office, reporting_producer, n95):
    client.force_login(office)
    data = post_data(reporting_producer, [n95])
    del data["producer"]
    assert client.post(URL, data).status_code == 403

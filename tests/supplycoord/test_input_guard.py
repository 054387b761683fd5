"""Pages refuse control characters with a translated 400 naming the field, and save nothing.

The same rule as the API's (supplycoord.lib.text): no control character in any field, tab
and line breaks only in free text (notes, reasons, descriptions).
"""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from allocation.models import Destination, DestinationKind, DispatchBatch, Donation
from inventory.models import DailyFigure, ReceiptSource, StockEvent
from inventory.services import stock_receive
from tests.factories import WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
NUL = "a\x00b"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def sz01(office, n95):
    warehouse = WarehouseFactory(code="SZ01", name_zh="省级储备一库")
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 500)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=1),
    )
    return warehouse


def daily_form(**overrides):
    data = {"date": "2020-02-10"}
    for field in ("stock", "received", "consumption", "demand", "expected_arrivals_3d"):
        data[f"FH001-{field}"] = "10"
    return {**data, **overrides}


def test_the_daily_entry_saves_a_clean_form(client, officer, n95):
    client.force_login(officer)
    assert client.post(reverse("inventory:daily_entry"), daily_form()).status_code == 302
    assert DailyFigure.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("FH001-stock", "1\x000"),
        ("FH001-demand", "12\x01"),
        ("reason", "typo\x00"),
        ("date", "2020-02-10\n"),
    ],
)
def test_the_daily_entry_refuses_control_characters(in_english, officer, n95, field, value):
    in_english.force_login(officer)

    response = in_english.post(reverse("inventory:daily_entry"), daily_form(**{field: value}))

    assert response.status_code == 400
    page = response.content.decode()
    assert f"Field “{field}”" in page
    assert "Nothing was saved" in page
    assert not DailyFigure.objects.exists()


def test_the_page_speaks_chinese_by_default(client, officer, n95):
    client.force_login(officer)
    response = client.post(reverse("inventory:daily_entry"), daily_form(reason="a\x00"))
    assert response.status_code == 400
    assert '<html lang="zh-hans">' in response.content.decode()


def test_a_stock_event_with_nul_in_its_note_is_refused(in_english, office, sz01, n95):
    in_english.force_login(office)
    data = {
        "client_uuid": str(uuid.uuid4()),
        "occurred_on": "2020-02-10",
        "source": "donation",
        "counterparty": "Red Cross",
        "note": NUL,
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "100",
        "form-0-item": "FH001",
        "form-0-quantity": "5",
    }
    url = reverse("inventory:stock_event_new", args=["SZ01", "receipt"])
    events = StockEvent.objects.count()

    response = in_english.post(url, data)

    assert response.status_code == 400
    assert "Field “note”" in response.content.decode()
    assert StockEvent.objects.count() == events
    # The same form without the NUL is saved: the guard is what refused it.
    assert in_english.post(url, {**data, "note": "a\nb"}).status_code == 302
    assert StockEvent.objects.count() == events + 1


def test_a_batch_with_a_control_character_in_its_carrier_is_refused(
    in_english, office, sz01, n95, lanzhou
):
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    in_english.force_login(office)
    data = {
        "source_warehouse": "SZ01",
        "destination": destination.pk,
        "priority": "other",
        "carrier": "Express\x07",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": "FH001",
        "lines-0-quantity": "25",
        "lines-0-channel": "reserve",
    }

    response = in_english.post(reverse("allocation:batch_new"), data)

    assert response.status_code == 400
    assert "Field “carrier”" in response.content.decode()
    assert "U+0007" in response.content.decode()
    assert not DispatchBatch.objects.exists()


def test_a_line_break_in_a_single_line_field_is_refused(in_english, office, sz01, n95, lanzhou):
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    in_english.force_login(office)
    data = {
        "source_warehouse": "SZ01",
        "destination": destination.pk,
        "priority": "other",
        "vehicle": "甘A\n12345",
        "note": "two\nlines are fine in a note",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": "FH001",
        "lines-0-quantity": "25",
        "lines-0-channel": "reserve",
    }

    response = in_english.post(reverse("allocation:batch_new"), data)

    assert response.status_code == 400
    assert "Field “vehicle”" in response.content.decode()
    assert "Field “note”" not in response.content.decode()
    assert not DispatchBatch.objects.exists()


def test_a_donation_with_nul_in_the_donor_is_refused(in_english, office, sz01, n95):
    in_english.force_login(office)
    data = {
        "donor_name": NUL,
        "donor_kind": "organisation",
        "received_on": "2020-02-10",
        "warehouse": sz01.pk,
        "restriction": "none",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": "FH001",
        "lines-0-quantity": "400",
    }

    response = in_english.post(reverse("allocation:donation_new"), data)

    assert response.status_code == 400
    assert "Field “donor_name”" in response.content.decode()
    assert not Donation.objects.exists()


def test_a_filter_with_nul_is_refused_before_the_database(in_english, office):
    in_english.force_login(office)
    response = in_english.get(reverse("allocation:batch_list"), {"item": NUL})
    assert response.status_code == 400


def test_a_url_part_with_nul_is_refused(in_english, office):
    in_english.force_login(office)
    response = in_english.get("/allocation/batches/a%00b/")
    assert response.status_code == 400
    assert "Field “number”" in response.content.decode()

"""Bad input to national allocation is refused by field, at the API and on the pages, and
nothing is saved: NUL and control characters, huge numbers, dates that are no dates."""

import datetime as dt

import pytest
from django.urls import reverse

from inventory.models import StockEvent
from procurement.models import NationalAllocation, NationalAllocationArrival, NationalRequest
from procurement.services import national_allocation_announce
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)
GOOD_REQUEST = {"item": "FH001", "quantity": 100, "justification": "缺口", "net_requirement": 80}
GOOD_ALLOCATION = {
    "item": "FH001",
    "quantity": 100,
    "expected_arrival": LATER.isoformat(),
    "warehouse": "SZ01",
}


def _saved():
    return (
        NationalRequest.objects.count(),
        NationalAllocation.objects.count(),
        NationalAllocationArrival.objects.count(),
        StockEvent.objects.count(),
    )


def _fields(response):
    return sorted({e.get("field") for e in response.json()["errors"]})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("justification", "缺口\x00"),
        ("justification", "缺口\x07"),
        ("justification", ""),
        ("quantity", 10**20),
        ("quantity", 0),
        ("quantity", "abc"),
        ("net_requirement", 10**20),
        ("net_requirement", -1),
        ("item", "NOPE"),
        ("sent_on", "2020-02-30"),
        ("sent_on", "2020-03-01"),  # after today (2020-02-20)
    ],
)
def test_a_bad_request_field_is_a_400_naming_it(frozen_time, client_for, office, n95, field, value):
    before = _saved()
    response = client_for(office).post(
        "/api/v1/national-requests/", {**GOOD_REQUEST, field: value}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert _fields(response) == [field]
    assert _saved() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", 10**20),
        ("quantity", -5),
        ("warehouse", "NOPE\x00"),
        ("warehouse", "NOPE"),
        ("expected_arrival", "2020-02-19"),  # before the announcement (today)
        ("expected_arrival", "9999-01-01"),
        ("reference", "国调\x1b1号"),
        ("request", "SQ-2020-404"),
    ],
)
def test_a_bad_announcement_field_is_a_400_naming_it(
    frozen_time, client_for, office, n95, sz01, field, value
):
    before = _saved()
    response = client_for(office).post(
        "/api/v1/national-allocations/", {**GOOD_ALLOCATION, field: value}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert _fields(response) == [field]
    assert _saved() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", 10**20),
        ("quantity", 0),
        ("note", "到\x00货"),
        ("client_uuid", "not-a-uuid"),
        ("arrived_at", "2020-02-20T12:99"),
    ],
)
def test_a_bad_arrival_field_is_a_400_naming_it(
    frozen_time, client_for, office, n95, sz01, field, value
):
    allocation = national_allocation_announce(
        user=office, item=n95, quantity=100, expected_arrival=LATER, warehouse=sz01
    )
    before = _saved()
    response = client_for(office).post(
        f"/api/v1/national-allocations/{allocation.pk}/arrivals/",
        {"quantity": 10, field: value},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert _fields(response) == [field]
    assert _saved() == before


def test_the_request_form_shows_problems_next_to_their_fields(frozen_time, client, office, n95):
    client.force_login(office)
    url = reverse("procurement:national_request_new")
    response = client.post(url, {"item": "FH001", "quantity": "1" + "0" * 19, "justification": ""})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"quantity", "justification"}
    # A control character is refused before the view, by the field it was typed in.
    response = client.post(url, {"item": "FH001", "quantity": "10", "justification": "缺\x01口"})
    assert response.status_code == 400
    assert [field for field, _message in response.context["problems"]] == ["justification"]
    assert NationalRequest.objects.count() == 0

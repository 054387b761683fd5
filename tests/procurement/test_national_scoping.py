"""Who sees national allocation: the office writes, leadership reads, and a prefecture
officer (the outsider of Tianshui) and a producer's reporter get 403 on every page and API
endpoint, reads and writes alike, and change nothing."""

import datetime as dt

import pytest
from django.urls import reverse

from procurement.models import NationalAllocation, NationalRequest
from procurement.services import national_allocation_announce, national_request_create
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


@pytest.fixture
def world(frozen_time, office, n95, sz01):
    request = national_request_create(
        user=office, item=n95, quantity=1000, justification="缺口", net_requirement=800
    )
    allocation = national_allocation_announce(
        user=office, item=n95, quantity=400, expected_arrival=LATER, warehouse=sz01
    )
    return request, allocation


def _pages(request, allocation):
    return [
        reverse("procurement:national_request_list"),
        reverse("procurement:national_request_detail", args=[request.number]),
        reverse("procurement:national_request_new"),
        reverse("procurement:national_request_export", args=[request.number]),
        reverse("procurement:national_allocation_list"),
        reverse("procurement:national_allocation_detail", args=[allocation.pk]),
        reverse("procurement:national_allocation_new"),
        reverse("procurement:national_allocation_arrival", args=[allocation.pk]),
    ]


def _state():
    return (
        list(NationalRequest.objects.values_list("status", "version", "granted_quantity")),
        list(NationalAllocation.objects.values_list("arrived_quantity", flat=True)),
    )


@pytest.mark.parametrize("who", ["outsider", "reporter_of_a_producer"])
def test_officers_and_reporters_are_refused_everywhere(client, client_for, request, who, world):
    national_request, allocation = world
    user = request.getfixturevalue(who)
    before = _state()
    client.force_login(user)
    for url in _pages(national_request, allocation):
        assert client.get(url).status_code == 403, url
    refuse = reverse("procurement:national_request_refuse", args=[national_request.number])
    assert client.post(refuse, {"expected_version": 1, "reason": "x"}).status_code == 403
    arrival = reverse("procurement:national_allocation_arrival", args=[allocation.pk])
    assert client.post(arrival, {"quantity": "1"}).status_code == 403

    api = client_for(user)
    reads = [
        "/api/v1/national-requests/",
        f"/api/v1/national-requests/{national_request.number}/",
        "/api/v1/national-allocations/",
        f"/api/v1/national-allocations/{allocation.pk}/",
    ]
    for url in reads:
        assert api.get(url).status_code == 403, url
    writes = [
        ("/api/v1/national-requests/", {"item": "FH001", "quantity": 1, "justification": "x"}),
        (
            f"/api/v1/national-requests/{national_request.number}/refuse/",
            {"expected_version": 1, "reason": "x"},
        ),
        (
            "/api/v1/national-allocations/",
            {"item": "FH001", "quantity": 1, "expected_arrival": "2020-02-25", "warehouse": "SZ01"},
        ),
        (f"/api/v1/national-allocations/{allocation.pk}/arrivals/", {"quantity": 1}),
    ]
    for url, body in writes:
        assert api.post(url, body, format="json").status_code == 403, url
    assert _state() == before


def test_leadership_reads_but_does_not_write(client, client_for, leader, world):
    national_request, allocation = world
    client.force_login(leader)
    assert client.get(reverse("procurement:national_request_list")).status_code == 200
    assert (
        client.get(
            reverse("procurement:national_allocation_detail", args=[allocation.pk])
        ).status_code
        == 200
    )
    assert client.get(reverse("procurement:national_request_new")).status_code == 403
    api = client_for(leader)
    assert api.get("/api/v1/national-requests/").json()["results"][0]["number"] == "SQ-2020-001"
    refused = api.post(
        f"/api/v1/national-requests/{national_request.number}/refuse/",
        {"expected_version": 1, "reason": "x"},
        format="json",
    )
    assert refused.status_code == 403
    arrived = api.post(
        f"/api/v1/national-allocations/{allocation.pk}/arrivals/", {"quantity": 1}, format="json"
    )
    assert arrived.status_code == 403


def test_the_office_works_through_the_api_end_to_end(client_for, office, world, n95, sz01):
    api = client_for(office)
    made = api.post(
        "/api/v1/national-requests/",
        {"item": "FH001", "quantity": 5000, "net_requirement": 4200, "justification": "缺口"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    number = made.json()["number"]
    assert (number, made.json()["status"]) == ("SQ-2020-002", "sent")

    # 3,000 of 5,000 announced → partly granted.
    announced = api.post(
        "/api/v1/national-allocations/",
        {
            "item": "FH001",
            "quantity": 3000,
            "expected_arrival": LATER.isoformat(),
            "warehouse": "SZ01",
            "request": number,
        },
        format="json",
    )
    assert announced.status_code == 201, announced.json()
    detail = api.get(f"/api/v1/national-requests/{number}/").json()
    assert (detail["status"], detail["granted_quantity"]) == ("partly_granted", 3000)

    pk = announced.json()["id"]
    arrived = api.post(
        f"/api/v1/national-allocations/{pk}/arrivals/", {"quantity": 1000}, format="json"
    )
    assert arrived.status_code == 201
    assert (arrived.json()["arrived_quantity"], arrived.json()["outstanding"]) == (1000, 2000)
    too_many = api.post(
        f"/api/v1/national-allocations/{pk}/arrivals/", {"quantity": 2001}, format="json"
    )
    assert too_many.status_code == 400
    assert [e["field"] for e in too_many.json()["errors"]] == ["quantity"]
